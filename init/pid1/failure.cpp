#include "failure.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "log.h"

namespace strata {

Status run_shell(const std::string& shell, const std::string& banner) {
  if (::access(shell.c_str(), X_OK) != 0) return errno_error("rescue shell " + shell);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return errno_error("pipe for the rescue shell");
  log::console("\n" + banner + "\n");
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork the rescue shell");
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setsid();
    int fd = ::open("/dev/console", O_RDWR);
    if (fd >= 0) {
      ::ioctl(fd, TIOCSCTTY, 1);
      for (int i = 0; i < 3; i++) ::dup2(fd, i);
      if (fd > 2) ::close(fd);
    }
    ::setenv("PS1", "strata-rescue# ", 1);
    ::setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
    const char* argv[] = {"sh", nullptr};
    ::execv(shell.c_str(), const_cast<char**>(argv));
    int e = errno;
    (void)!::write(pipefd[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int exec_errno = 0;
  ssize_t n = ::read(pipefd[0], &exec_errno, sizeof exec_errno);
  ::close(pipefd[0]);
  // As PID 1 we reap every orphan too; stop when the shell itself is gone.
  for (;;) {
    int st = 0;
    pid_t w = ::waitpid(-1, &st, 0);
    if (w == pid || (w < 0 && errno == ECHILD)) break;
  }
  if (n == static_cast<ssize_t>(sizeof exec_errno)) return Error{exec_errno, "exec rescue shell " + shell};
  return {};
}

void reboot_after(int seconds, const std::string& reason) {
  log::console("\nstrata: " + reason + "\nstrata: rebooting in " + std::to_string(seconds) + " s\n");
  for (int left = seconds; left > 0; left--) {
    if (left <= 5 || left % 10 == 0) log::console("strata: reboot in " + std::to_string(left) + "\n");
    ::sleep(1);  // a countdown for the person at the console, not a wait for hardware
  }
  LOGE("rebooting: %s", reason.c_str());
  ::sync();
  ::reboot(RB_AUTOBOOT);
  log::console("strata: reboot failed; halting here (power-cycle the device)\n");
  for (;;) ::pause();
}

}  // namespace strata
