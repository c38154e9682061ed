// `strata confirm`: the device confirms its own update. On a boot of a slot on
// trial it runs the user's health checks (every executable in a directory, in
// name order, each under a time limit) and then ends the trial: mark-good when
// all pass, mark-bad and a reboot into the previous slot when one fails. Run by
// the systemd unit strata-confirm.service and the BusyBox init script
// S99strata-confirm that tools/mkroot installs. On any other boot it does
// nothing, so a check that fails on a confirmed slot never condemns it.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "data_layout.h"
#include "slot_store.h"

namespace cli {

namespace {

// The executables in `dir`, sorted; a missing directory has none.
std::vector<std::string> list_checks(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    struct stat st {};
    std::string path = dir + "/" + name;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (!(st.st_mode & 0111)) {
      std::printf("strata: confirm: %s is not executable, not run\n", path.c_str());
      continue;
    }
    out.push_back(path);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Runs one check; "" when it passed, else why not.
std::string run_check(const std::string& path, int timeout_s) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("cannot fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so a timeout kills what it started too
    const char* argv[] = {path.c_str(), nullptr};
    ::execv(path.c_str(), const_cast<char**>(argv));
    std::fprintf(stderr, "strata: confirm: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
      if (WIFEXITED(st)) return "exited " + std::to_string(WEXITSTATUS(st));
      return std::string("killed by signal ") + std::to_string(WTERMSIG(st));
    }
    if (r < 0 && errno != EINTR) return std::string("waitpid: ") + std::strerror(errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return "took longer than " + std::to_string(timeout_s) + " s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

int confirm_command(const Context& c, const std::string& dir, int timeout_s, bool reboot) {
  if (c.booted < 0) {
    std::printf("strata: confirm: this system does not boot from A/B slots: nothing to confirm\n");
    return 0;
  }
  strata::SlotReading r = slot_store(c).read();
  if (r.health != strata::StateHealth::kOk) return fail("confirm: the slot record cannot be read: " + r.detail);
  const auto& running = r.state.slot[c.booted];
  const std::string name = strata::slot_word(c.booted);
  if (running.status != strata::SlotStatus::kTrial) {
    std::printf("strata: confirm: %s is not on trial (%s): checks not run, nothing to confirm\n", name.c_str(),
                strata::describe(r.state).c_str());
    return 0;
  }
  auto checks = list_checks(dir);
  std::printf("strata: confirm: %s on trial: %zu health check(s) in %s\n", name.c_str(), checks.size(), dir.c_str());
  for (const auto& check : checks) {
    std::string why = run_check(check, timeout_s);
    if (why.empty()) {
      std::printf("strata: confirm: %s: passed\n", check.c_str());
      continue;
    }
    std::printf("strata: confirm: %s: FAILED (%s): marking %s bad and going back to the previous slot\n", check.c_str(),
                why.c_str(), name.c_str());
    std::fflush(stdout);
    // A failed mark-bad still reboots: the trial's try count ends it.
    slot_command(c, "mark-bad", false);
    if (!reboot) return 1;
    reboot_now();
    return 1;
  }
  std::printf("strata: confirm: every check passed: keeping %s\n", name.c_str());
  std::fflush(stdout);
  return slot_command(c, "mark-good", false);
}

}  // namespace cli
