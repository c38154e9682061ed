/*
 * /sbin/init of the benchmark root image: the end of the measured boot.
 *
 * It writes one marker line to /dev/kmsg (the kernel stamps it with the same
 * clock as its own "Run /init as init process" line) and powers the machine
 * off, which makes QEMU exit. Built static with the board's cross compiler by
 * tests/bench/bench.py; nothing else of the root image runs.
 *
 * The marker carries the ARM generic timer's virtual counter: it counts from
 * the machine's start (QEMU's virtual clock; no hypervisor offset on -M virt
 * without EL2), firmware included, while the kernel's timestamps start at 0
 * when the kernel registers that clock. The difference is the time before
 * the kernel: U-Boot, or QEMU's own loader with -kernel.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static sigjmp_buf no_counter;
static void on_sigill(int sig) {
  (void)sig;
  siglongjmp(no_counter, 1);
}

/* The virtual counter and its frequency; 0 when user space may not read them. */
static int read_counter(unsigned long long *count, unsigned long long *hz) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigill;
  sigaction(SIGILL, &sa, &old);
  int ok = 0;
  if (sigsetjmp(no_counter, 1) == 0) {
#if defined(__aarch64__)
    unsigned long long c, f;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(c));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    *count = c, *hz = f, ok = 1;
#elif defined(__arm__)
    unsigned long long c;
    unsigned int f;
    __asm__ volatile("isb; mrrc p15, 1, %Q0, %R0, c14" : "=r"(c));
    __asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(f));
    *count = c, *hz = f, ok = 1;
#endif
  }
  sigaction(SIGILL, &old, NULL);
  return ok && *hz != 0;
}

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
    char line[160];
    unsigned long long count = 0, hz = 0;
    if (read_counter(&count, &hz))
      snprintf(line, sizeof line, "<5>strata-bench: marker: real init reached (counter %llu at %llu Hz)\n", count, hz);
    else
      snprintf(line, sizeof line, "<5>strata-bench: marker: real init reached (no counter)\n");
    say(fd, line);
    close(fd);
  } else {
    /* /dev was not carried over into the new root: say so on the console. */
    say(2, "strata-bench: FAILED: /sbin/init cannot open /dev/kmsg\n");
  }
  reboot(RB_POWER_OFF);
  for (;;) pause(); /* PID 1 must not return */
}
