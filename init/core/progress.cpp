#include "progress.h"

#include <cmath>
#include <cstdio>

namespace strata {

std::optional<ProgressForm> parse_progress_form(std::string_view word, bool tty) {
  if (word == "auto") return tty ? ProgressForm::kTerminal : ProgressForm::kLines;
  if (word == "terminal") return ProgressForm::kTerminal;
  if (word == "lines") return ProgressForm::kLines;
  if (word == "json") return ProgressForm::kJson;
  if (word == "none") return ProgressForm::kNone;
  return std::nullopt;
}

ProgressFigures progress_figures(std::string_view phase, uint64_t done, uint64_t total, double seconds) {
  ProgressFigures f;
  f.phase = phase;
  f.done = done > total ? total : done;
  f.total = total;
  f.seconds = seconds > 0 ? seconds : 0;
  f.percent = total ? 100.0 * static_cast<double>(f.done) / static_cast<double>(total) : 100.0;
  // A speed from a few milliseconds says nothing: none until a tenth of a second has passed.
  if (f.seconds >= 0.1 && f.done > 0) {
    f.bytes_per_second = static_cast<double>(f.done) / f.seconds;
    f.seconds_left = static_cast<double>(f.total - f.done) / f.bytes_per_second;
  }
  return f;
}

namespace {

std::string format(const char* fmt, auto... args) {
  char buf[160];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, n < 0 ? 0 : n < static_cast<int>(sizeof buf) ? static_cast<size_t>(n) : sizeof buf - 1);
}

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

std::string progress_text(const ProgressFigures& f) {
  std::string s = format("%-9s %3d%%  %.1f of %.1f MiB", f.phase.c_str(), static_cast<int>(std::floor(f.percent)),
                         static_cast<double>(f.done) / kMiB, static_cast<double>(f.total) / kMiB);
  if (f.bytes_per_second > 0) s += format("  %.1f MiB/s", f.bytes_per_second / kMiB);
  if (f.seconds_left) s += format("  %.0f s left", std::ceil(*f.seconds_left));
  return s;
}

std::string progress_json(const ProgressFigures& f) {
  std::string s = format(R"({"phase":"%s","bytes":%llu,"total":%llu,"percent":%.1f,"bytes_per_second":%.0f,)",
                         f.phase.c_str(), static_cast<unsigned long long>(f.done),
                         static_cast<unsigned long long>(f.total), f.percent, f.bytes_per_second);
  s += f.seconds_left ? format(R"("seconds_left":%.1f})", *f.seconds_left) : std::string(R"("seconds_left":null})");
  return s;
}

ProgressPacer::ProgressPacer(ProgressForm form)
    : interval_(form == ProgressForm::kTerminal ? 0.2
                : form == ProgressForm::kJson   ? 1.0
                                                : 5.0) {}

bool ProgressPacer::due(std::string_view phase, uint64_t done, uint64_t total, double seconds) {
  if (phase != phase_) {  // a new phase: report its start
    phase_ = phase;
    last_ = seconds;
    return true;
  }
  if (done >= total || seconds - last_ >= interval_) {
    last_ = seconds;
    return true;
  }
  return false;
}

}  // namespace strata
