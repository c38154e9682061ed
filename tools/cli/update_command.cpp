// `strata update IMAGE|-`: installs an update bundle into the slot that is
// not running (init/update.h does the work). A signal aborts it cleanly: the
// write window closes and the target stays marked bad.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string_view>

#include "commands.h"
#include "data_layout.h"
#include "paths.h"
#include "persist.h"
#include "progress.h"
#include "slot_store.h"
#include "sys.h"
#include "update.h"

namespace cli {
namespace {

volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
}

// Without SA_RESTART, so a read blocked on a pipe returns and the update stops.
void catch_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Prints the progress in the chosen form: stderr for people (beside the other
// messages), stdout for a client that parses JSON lines.
class ProgressReport {
 public:
  explicit ProgressReport(strata::ProgressForm form) : form_(form), pacer_(form) {}

  void operator()(const char* phase, uint64_t done, uint64_t total) {
    if (form_ == strata::ProgressForm::kNone) return;
    const auto now = std::chrono::steady_clock::now();
    if (phase != phase_) phase_ = phase, start_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    if (!pacer_.due(phase, done, total, seconds)) return;
    const auto f = strata::progress_figures(phase, done, total, seconds);
    if (form_ == strata::ProgressForm::kJson) {
      std::printf("%s\n", strata::progress_json(f).c_str());
      std::fflush(stdout);
    } else if (form_ == strata::ProgressForm::kLines) {
      say(strata::progress_text(f));
    } else {
      // Redrawn in place; the blanks wipe a longer line before it; a newline ends the phase.
      std::fprintf(stderr, "\rstrata: %-62s%s", strata::progress_text(f).c_str(), done >= total ? "\n" : "");
    }
  }

 private:
  strata::ProgressForm form_;
  strata::ProgressPacer pacer_;
  std::string phase_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int update_command(const Context& c, const std::string& source, const std::string& slot, const std::string& progress) {
  const auto form = strata::parse_progress_form(progress, ::isatty(STDERR_FILENO) == 1);
  if (!form) return fail("--progress '" + progress + "': auto, terminal, lines, json or none");
  if (c.booted < 0)
    return fail(c.status.is_null()
                    ? c.status_error
                    : "this system does not boot from A/B slots ([slots] mode = none): nothing to update");
  const strata::Config& cfg = c.loaded.config;
  strata::UpdateTarget t;
  t.running = c.booted;
  t.slot = strata::other_slot(c.booted);
  if (!slot.empty()) {
    auto s = strata::parse_slot_name(slot);
    if (!s) return fail("--slot '" + slot + "' is not a or b");
    t.slot = *s;
  }
  t.file = c.mode == strata::SlotMode::kFiles;
  t.path = t.file ? c.image[t.slot] : c.device[t.slot];
  t.window = t.file ? strata::data::kSlotImages : t.path;
  if (t.path.empty())
    return fail(strata::slot_word(t.slot) + " has no " + (t.file ? "image file" : "device") +
                " in /run/strata/status (was its partition found at boot?)");
  // bootloader = uboot: a slot is a group (boot-x + root-x), and install_update
  // refuses a bundle without a boot image for it.
  if (c.uboot) {
    t.boot_path = c.boot_device[t.slot];
    if (t.boot_path.empty())
      return fail(std::string("[slots] bootloader = uboot: ") + strata::slot_word(t.slot) +
                  "'s boot partition (GPT name boot-" + strata::slot_name(t.slot) +
                  ") was not found at boot (no boot_device in /run/strata/status); refused, nothing written");
  }

  strata::UpdateOptions o;
  o.policy.config_keys = cfg.update_public_keys;
  o.policy.allow_downgrade = cfg.update_allow_downgrade;
  o.compatible = cfg.update_compatible;
  o.tries = cfg.slot_tries;
  o.lock_path = strata::paths::kLock;
  const std::string crash_at = cfg.crash_at;
  o.crash_point = [crash_at](const std::string& p) { crash_point(crash_at, p); };
  o.say = [](const std::string& line) { say(line); };
  o.interrupted = [] { return g_signal != 0; };
  ProgressReport report(*form);
  o.progress = [&report](const char* phase, uint64_t done, uint64_t total) { report(phase, done, total); };
  if (cfg.upper_mode == strata::UpperMode::kPersistent) {
    o.seed_upper = [&cfg, &o](int from, int to) {
      strata::DataPartition dp;
      dp.crash_point = o.crash_point;
      std::vector<std::string> log;
      strata::Status s = dp.seed_slot_upper(from, to, cfg.preserve, log);
      for (const auto& l : log) say(l);
      for (const auto& w : dp.warnings) say("warning: " + w);
      return s;
    };
  }
  strata::SlotStore store = slot_store(c);
  store.crash_point = o.crash_point;
  if (const auto r = store.read(); strata::trusted_keys(r.state, o.policy.config_keys).empty())
    say("no [update] public_key: the bundle's signature is not checked");

  int in = STDIN_FILENO;
  strata::UniqueFd file;
  if (source != "-") {
    auto f = strata::sys::open(source, O_RDONLY | O_CLOEXEC);
    if (!f) return fail("update: " + f.error().message());
    file = std::move(*f);
    in = file.get();
  }
  catch_signals();
  auto r = strata::install_update(in, t, o, store);
  if (!r) return fail("update refused: " + r.error().message());
  const double mib = static_cast<double>(r->bytes) / (1 << 20);
  std::printf("strata: update done: version %s in slot %c (%.1f MiB in %.2f s, %.1f MiB/s, sha256 %s)\n",
              r->version.c_str(), strata::slot_name(t.slot), mib, r->seconds, r->seconds > 0 ? mib / r->seconds : 0.0,
              r->sha256.c_str());
  if (c.uboot)
    std::printf("strata: slot %c's group written: boot image on %s, root image on %s\n", strata::slot_name(t.slot),
                t.boot_path.c_str(), t.path.c_str());
  std::printf("strata: slot %c is on trial for %d boots: reboot into it, then run `strata mark-good` to keep it\n",
              strata::slot_name(t.slot), o.tries);
  return 0;
}

}  // namespace cli
