/*
 * /sbin/init of the benchmark root image: the end of the measured boot.
 *
 * It writes one marker line to /dev/kmsg (the kernel stamps it with the same
 * clock as its own "Run /init as init process" line) and powers the machine
 * off, which makes QEMU exit. Built static with the board's cross compiler by
 * tests/bench/bench.py; nothing else of the root image runs.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static void say(int fd, const char *text) {
  /* One write() is one kmsg record. */
  if (write(fd, text, strlen(text)) < 0) {
    /* Nothing to do about it: the host times out and shows the console. */
  }
}

int main(void) {
  int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    /* <5> = notice: printed on the console at the default loglevel. */
    say(fd, "<5>strata-bench: marker: real init reached\n");
    close(fd);
  } else {
    /* /dev was not carried over into the new root: say so on the console. */
    say(2, "strata-bench: FAILED: /sbin/init cannot open /dev/kmsg\n");
  }
  reboot(RB_POWER_OFF);
  for (;;) pause(); /* PID 1 must not return */
}
