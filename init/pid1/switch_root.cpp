#include "switch_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "log.h"
#include "sys.h"
#include "unique_fd.h"

namespace strata {

void delete_tree_on_device(int dirfd, dev_t dev) {
  int dup = ::dup(dirfd);
  if (dup < 0) return;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return;
  }
  while (dirent* e = ::readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st {};
    if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_dev != dev) continue;  // never cross into another filesystem
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        struct stat sst {};
        // Re-check on the opened fd: a mount point shows another st_dev here.
        if (::fstat(sub, &sst) == 0 && sst.st_dev == dev) {
          delete_tree_on_device(sub, dev);
          ::close(sub);
          ::unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
          ::close(sub);
        }
      }
    } else {
      ::unlinkat(dirfd, e->d_name, 0);
    }
  }
  ::closedir(d);
}

namespace {

void reopen_console() {
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;
  for (int i = 0; i < 3; i++) ::dup2(fd, i);
  if (fd > 2) ::close(fd);
}

}  // namespace

Status switch_root(const std::string& newroot, FreeInitramfs how) {
  // MS_MOVE and pivot_root refuse shared mounts.
  if (auto s = sys::make_private("/"); !s) return s;

  struct stat root_st {
  }, new_st{};
  if (::stat("/", &root_st) != 0) return errno_error("stat /");
  if (::stat(newroot.c_str(), &new_st) != 0) return errno_error("stat " + newroot);
  if (root_st.st_dev == new_st.st_dev) return plain_error(newroot + " is not a mount point; refusing to switch to it");

  for (const char* m : {"/dev", "/proc", "/sys", "/run"}) {
    const std::string target = newroot + m;
    if (!sys::is_dir(target)) {
      if (auto s = sys::mkdir_p(target); !s)
        return plain_error("the new root has no " + std::string(m) + " and it cannot be made: " + s.error().message());
    }
    if (auto s = sys::move_mount(m, target); !s) return s;
  }

  UniqueFd old_root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!old_root.valid()) return errno_error("open old root");
  if (::chdir(newroot.c_str()) != 0) return errno_error("chdir " + newroot);

  bool pivoted = false;
  // pivot_root(".", ".") stacks the old root on top of the new one; then detach it.
  LOGD("pivot_root(., .)");
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    if (::umount2(".", MNT_DETACH) != 0) LOGW("cannot detach the old root after pivot_root: %s", strerror(errno));
    pivoted = true;
  } else if (errno != EINVAL) {
    LOGD("pivot_root failed (%s); moving instead", strerror(errno));
  }
  if (!pivoted) {
    // The initramfs (rootfs) cannot be pivoted away from: move the new root over it.
    if (auto s = sys::move_mount(".", "/"); !s) return s;
  }
  if (::chroot(".") != 0) return errno_error("chroot into the new root");
  if (::chdir("/") != 0) return errno_error("chdir / in the new root");

  if (!pivoted) {
    // Free the initramfs, but only if it is one (ramfs or tmpfs) and only on its own device.
    // f_type is a signed int on 32-bit ARM (RAMFS_MAGIC does not fit), a long on 64-bit: compare 32 bits.
    struct statfs sfs {};
    const auto magic = ::fstatfs(old_root.get(), &sfs) == 0 ? static_cast<uint32_t>(sfs.f_type) : 0u;
    if (magic == RAMFS_MAGIC || magic == TMPFS_MAGIC) {
      struct stat ost {};
      if (::fstat(old_root.get(), &ost) == 0 && ost.st_dev != new_st.st_dev) {
        LOGD("deleting the initramfs contents%s", how == FreeInitramfs::kBackground ? " in the background" : "");
        pid_t child = how == FreeInitramfs::kBackground ? ::fork() : 0;
        if (child < 0) LOGW("cannot fork to free the initramfs (%s); freeing it now", strerror(errno));
        if (child <= 0) {
          if (child == 0 && how == FreeInitramfs::kBackground) ::setpriority(PRIO_PROCESS, 0, 19);
          delete_tree_on_device(old_root.get(), ost.st_dev);
          if (child == 0 && how == FreeInitramfs::kBackground) ::_exit(0);
        }
      }
    } else {
      LOGW("old root is not ramfs/tmpfs; its contents are left alone");
    }
  }
  reopen_console();
  return {};
}

}  // namespace strata
