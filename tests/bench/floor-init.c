/*
 * Benchmark variant (c), the floor: /init as the bare system calls of the job
 * strata-init does on the qemu-aarch64 board's default path, nothing else.
 * No config, no probing, no logging, no fallbacks: every fact strata looks up
 * at boot is compiled in here (see the constants below). What is left is the
 * least any first stage must spend on this job.
 *
 *   1. mount devtmpfs, proc, sysfs, tmpfs /run      (strata's flags and options)
 *   2. finit_module each line of /lib/modules/strata.load, in file order
 *      (one at a time; strata loads a level in parallel). Built with
 *      -DONLY_FOR='"a,b"' (the on-demand floor): only the lines whose <for>
 *      names one of those board modules, i.e. what this boot needs
 *   3. wait for ROOT_DEV by a tight stat() loop: the device node name is known
 *      in advance here, where strata and the script look for PARTLABEL=root-a
 *   4. mount the squashfs lower read-only, the tmpfs upper, the overlay
 *      (fstype known, where strata probes it: fstype = auto)
 *   5. read-only bind of /etc/factory: MS_BIND|MS_REC, then
 *      MS_REMOUNT|MS_BIND|MS_RDONLY|MS_NOSUID|MS_NODEV
 *   6. switch root: make / private, MS_MOVE /dev /proc /sys /run into the new
 *      root, chdir, MS_MOVE . to /, chroot, delete the initramfs contents
 *      (same device only, as strata and BusyBox switch_root do), exec init
 *
 * One addition for the measurement: after the modules it writes
 * "strata-bench: modules loaded" to /dev/kmsg (one open and write; the script
 * does the same and strata-init logs its own line there), so that the time
 * splits into loading modules and the rest.
 *
 * On any failure it prints "strata-bench: FAILED: ..." and powers off, so the
 * host sees the reason at once instead of waiting for its timeout.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROOT_DEV "/dev/vda1" /* PARTLABEL=root-a on the benchmark disk */
#define ROOT_FSTYPE "squashfs"
#define MODULE_LIST "/lib/modules/strata.load"
#define NEWROOT "/newroot"
#define LOWER "/run/strata/lower"
#define UPPERFS "/run/strata/upper"
#define UPPER UPPERFS "/data"
#define WORK UPPERFS "/work"
#define BIND "/etc/factory"
#define INIT "/sbin/init"
#define MODULES_MARK "<5>strata-bench: modules loaded\n"
#define WAIT_LIMIT 100000000L /* stat() calls before giving up: many seconds */

static void fail(const char *what) {
  char line[256];
  int n = snprintf(line, sizeof line, "strata-bench: FAILED: floor: %s: %s\n", what, strerror(errno));
  if (n > 0 && write(2, line, (size_t)n) < 0) {
    /* no console either: the host's timeout reports it */
  }
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) != 0) fail(dst);
}

static void do_mkdir(const char *path) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST) fail(path);
}

/* Whether a line's <for> field ("a,b") names a board module of ONLY_FOR. */
static int wanted(const char *users) {
#ifdef ONLY_FOR
  char want[256];
  snprintf(want, sizeof want, ",%s,", ONLY_FOR);
  const char *p = users;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char one[64];
    if (len + 3 <= sizeof one) {
      snprintf(one, sizeof one, ",%.*s,", (int)len, p);
      if (strstr(want, one)) return 1;
    }
    p += len + (end ? 1 : 0);
  }
  return 0;
#else
  (void)users;
  return 1;
#endif
}

/* Step 2: the module list strata-init reads ("<level> <path> <for>" lines, sorted by level). */
static void load_modules(void) {
  static char list[16384];
  int fd = open(MODULE_LIST, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(MODULE_LIST);
  ssize_t n = read(fd, list, sizeof list - 1);
  if (n < 0) fail(MODULE_LIST);
  list[n] = '\0';
  close(fd);
  for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#') continue;
    char *path = strchr(line, ' ');
    if (!path) continue;
    path++;
    char *users = strchr(path, ' ');
    if (users) *users++ = '\0';
    if (!wanted(users ? users : "")) continue;
    int mfd = open(path, O_RDONLY | O_CLOEXEC);
    if (mfd < 0) fail(path);
    if (syscall(SYS_finit_module, mfd, "", 0) != 0 && errno != EEXIST) fail(path);
    close(mfd);
  }
}

/* Step 6: free the initramfs through a directory fd opened before the move,
 * never crossing into another filesystem. */
static void delete_tree(int dirfd, dev_t dev) {
  DIR *d = fdopendir(dup(dirfd));
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      if (fstat(sub, &st) == 0 && st.st_dev == dev) { /* a mount point shows another st_dev */
        delete_tree(sub, dev);
        unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
      }
      close(sub);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

int main(int argc, char **argv) {
  (void)argc;
  /* 1. early filesystems, as strata mounts them */
  do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=10%");

  /* 2. modules */
  load_modules();
  int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (kmsg < 0 || write(kmsg, MODULES_MARK, sizeof MODULES_MARK - 1) < 0) fail("/dev/kmsg");
  close(kmsg);

  /* 3. the root partition: a tight loop, no sleeping, no events */
  struct stat st;
  long polls = 0;
  while (stat(ROOT_DEV, &st) != 0) {
    if (++polls > WAIT_LIMIT) fail("waiting for " ROOT_DEV);
  }

  /* 4. lower, upper, overlay */
  do_mkdir("/run/strata");
  do_mkdir(LOWER);
  do_mount(ROOT_DEV, LOWER, ROOT_FSTYPE, MS_RDONLY, "");
  do_mkdir(UPPERFS);
  do_mount("tmpfs", UPPERFS, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m");
  do_mkdir(UPPER);
  do_mkdir(WORK);
  do_mount("overlay", NEWROOT, "overlay", 0,
           "lowerdir=" LOWER ",upperdir=" UPPER ",workdir=" WORK
           ",index=off,metacopy=off,redirect_dir=nofollow,xino=off");

  /* 5. read-only bind of the pristine lower's copy */
  do_mount(LOWER BIND, NEWROOT BIND, NULL, MS_BIND | MS_REC, NULL);
  do_mount(NULL, NEWROOT BIND, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);

  /* 6. switch root */
  do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  do_mount("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL);
  do_mount("/proc", NEWROOT "/proc", NULL, MS_MOVE, NULL);
  do_mount("/sys", NEWROOT "/sys", NULL, MS_MOVE, NULL);
  do_mount("/run", NEWROOT "/run", NULL, MS_MOVE, NULL);
  int old_root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (old_root < 0) fail("open /");
  if (chdir(NEWROOT) != 0) fail("chdir " NEWROOT);
  do_mount(".", "/", NULL, MS_MOVE, NULL);
  if (chroot(".") != 0) fail("chroot");
  if (chdir("/") != 0) fail("chdir /");
  struct stat old;
  if (fstat(old_root, &old) == 0) delete_tree(old_root, old.st_dev);
  close(old_root);

  argv[0] = INIT; /* the kernel's words for init pass through */
  execv(INIT, argv);
  fail("exec " INIT);
}
