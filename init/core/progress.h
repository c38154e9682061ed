// What `strata update` says while it streams: the figures (share, size,
// speed, time left), the three forms they take (a line redrawn on a terminal,
// a plain line now and then in a log, a JSON line for a client that parses
// it) and when the next report is due. Pure: the caller brings the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

enum class ProgressForm {
  kTerminal,  // one line redrawn in place (\r), a few times a second
  kLines,     // a plain line every few seconds (logs, pipes, Mender's log)
  kJson,      // one JSON object per line on stdout, every second
  kNone,
};

// "auto" (terminal when `tty`, else lines), "terminal", "lines", "json", "none".
std::optional<ProgressForm> parse_progress_form(std::string_view word, bool tty);

struct ProgressFigures {
  std::string phase;                   // "writing", "verifying"
  uint64_t done = 0, total = 0;        // bytes
  double seconds = 0;                  // since the phase began
  double percent = 0;                  // 0..100
  double bytes_per_second = 0;         // 0 until there is something to divide
  std::optional<double> seconds_left;  // none until the speed is known
};

ProgressFigures progress_figures(std::string_view phase, uint64_t done, uint64_t total, double seconds);

// "writing  45%  35.6 of 79.0 MiB  8.1 MiB/s  5 s left"
std::string progress_text(const ProgressFigures& f);
// {"phase":"writing","bytes":..,"total":..,"percent":..,"bytes_per_second":..,"seconds_left":..}
std::string progress_json(const ProgressFigures& f);

// Decides when the next report is due: at the first call, every `interval`
// seconds of the form, and always at the end of a phase (done == total).
class ProgressPacer {
 public:
  explicit ProgressPacer(ProgressForm form);
  bool due(std::string_view phase, uint64_t done, uint64_t total, double seconds);

 private:
  double interval_;
  std::string phase_;
  double last_ = -1;
};

}  // namespace strata
