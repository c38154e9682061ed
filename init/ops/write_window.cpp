#include "write_window.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "log.h"
#include "sys.h"

namespace strata {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

// "" when the process is gone (or in a pid namespace we cannot see).
std::string comm_of(pid_t pid) {
  auto c = sys::read_value("/proc/" + std::to_string(pid) + "/comm", 256);
  return c ? *c : std::string();
}

// The lock holder writes its pid right after taking the lock: a refusal in
// that instant may find the file still empty, so look again briefly.
std::string describe_holder(int fd) {
  long pid = 0;
  for (int attempt = 0; attempt < 10 && pid <= 0; attempt++) {
    if (attempt > 0) ::usleep(10 * 1000);
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) pid = std::strtol(buf, nullptr, 10);
  }
  std::string who = "pid unknown";
  if (pid > 0) {
    who = "pid " + std::to_string(pid);
    if (auto comm = comm_of(static_cast<pid_t>(pid)); !comm.empty()) who += ", " + comm;
  }
  return "another update or remount is running (" + who + "); try again when it has finished";
}

// Is `file` (absolute, canonical) at or below `root`? "/a/b" holds "/a/b/c",
// not "/a/bc".
bool at_or_below(const std::string& root, const std::string& file) {
  if (file.compare(0, root.size(), root) != 0) return false;
  return file.size() == root.size() || root == "/" || file[root.size()] == '/';
}

// The path a /proc link or a maps line names, without the " (deleted)" the
// kernel appends to unlinked files (they still hold the mount writable).
std::string without_deleted(const std::string& name) {
  if (name.size() > kDeleted.size() && name.compare(name.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
    return name.substr(0, name.size() - kDeleted.size());
  return name;
}

Result<bool> is_mount_point(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) != 0)
    return errno_error("statx " + path);
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  // Kernels before 5.8: a different device than the parent (misses a bind
  // of a directory onto its own filesystem; the syscall's EINVAL covers it).
  struct stat self {};
  struct stat parent {};
  if (::stat(path.c_str(), &self) != 0) return errno_error("stat " + path);
  if (::stat((path + "/..").c_str(), &parent) != 0) return errno_error("stat " + path + "/..");
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

// MS_REMOUNT|MS_BIND replaces every per-mount flag: pass the current ones
// again (atime flags are kept by the kernel when none is given).
int remount_legacy(const std::string& path, bool readonly) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return -1;
  unsigned long flags = MS_REMOUNT | MS_BIND | (readonly ? MS_RDONLY : 0);
  const std::pair<unsigned long, unsigned long> keep[] = {
    {ST_NOSUID, MS_NOSUID},
    {ST_NODEV, MS_NODEV},
    {ST_NOEXEC, MS_NOEXEC},
    {ST_NOATIME, MS_NOATIME},
    {ST_NODIRATIME, MS_NODIRATIME},
    {ST_RELATIME, MS_RELATIME},
#if defined(ST_NOSYMFOLLOW) && defined(MS_NOSYMFOLLOW)
    {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
#endif
  };
  for (auto [st_flag, ms_flag] : keep)
    if (st.f_flag & st_flag) flags |= ms_flag;
  LOGD("mount(none, %s, MS_REMOUNT|MS_BIND, 0x%lx)", path.c_str(), flags);
  return ::mount(nullptr, path.c_str(), nullptr, flags, nullptr);
}

// Loop devices whose backing file is at or below `root` and writable: a
// kernel-held file that keeps the mount busy with no process fd to show.
void add_loop_writers(const std::string& root, std::vector<OpenWriter>& out) {
  DIR* d = ::opendir("/sys/block");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("loop", 0) != 0) continue;
    auto backing = sys::read_value("/sys/block/" + name + "/loop/backing_file");
    if (!backing || backing->empty() || !at_or_below(root, without_deleted(*backing))) continue;
    bool writable = false;
    UniqueFd fd(::open(("/dev/" + name).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    loop_info64 info{};
    if (fd.valid() && ::ioctl(fd.get(), LOOP_GET_STATUS64, &info) == 0) {
      writable = !(info.lo_flags & LO_FLAGS_READ_ONLY);
    } else if (auto ro = sys::read_value("/sys/block/" + name + "/ro")) {
      writable = *ro == "0";  // no /dev node here: the disk's flag is the best we know
    }
    if (writable) out.push_back(OpenWriter{0, name, *backing});
  }
  ::closedir(d);
}

void add_process_writers(pid_t pid, const std::string& root, std::vector<OpenWriter>& out) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::string> files;
  if (DIR* d = ::opendir((proc + "/fd").c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char buf[4096];
      ssize_t n = ::readlink((proc + "/fd/" + e->d_name).c_str(), buf, sizeof buf);
      if (n <= 0 || buf[0] != '/') continue;  // gone, or a pipe, socket, anon inode
      const std::string link(buf, static_cast<size_t>(n));
      if (!at_or_below(root, without_deleted(link))) continue;
      auto info = sys::read_file(proc + "/fdinfo/" + e->d_name, 64 * 1024);
      if (!info) continue;
      auto at = info->find("flags:");
      if (at == std::string::npos) continue;
      unsigned long flags = std::strtoul(info->c_str() + at + 6, nullptr, 8);
      const unsigned long mode = flags & O_ACCMODE;  // O_PATH has none
      if (mode == O_WRONLY || mode == O_RDWR) files.push_back(link);
    }
    ::closedir(d);
  }
  // A writable shared mapping keeps the file open for writing after its fd
  // is closed.
  if (auto maps = sys::read_file(proc + "/maps", 64 << 20)) {
    size_t pos = 0;
    while (pos < maps->size()) {
      size_t end = maps->find('\n', pos);
      if (end == std::string::npos) end = maps->size();
      const std::string line = maps->substr(pos, end - pos);
      pos = end + 1;
      // address perms offset dev inode [path]
      size_t field = 0, i = 0;
      std::string perms;
      while (field < 5 && i < line.size()) {
        size_t start = line.find_first_not_of(' ', i);
        if (start == std::string::npos) break;
        size_t stop = line.find(' ', start);
        if (stop == std::string::npos) stop = line.size();
        if (field == 1) perms = line.substr(start, stop - start);
        i = stop;
        field++;
      }
      if (field < 5 || perms.size() < 4 || perms[1] != 'w' || perms[3] != 's') continue;
      size_t start = line.find_first_not_of(' ', i);
      if (start == std::string::npos || line[start] != '/') continue;
      const std::string file = line.substr(start);
      if (at_or_below(root, without_deleted(file))) files.push_back(file);
    }
  }
  if (files.empty()) return;
  const std::string comm = comm_of(pid);
  if (comm.empty() && ::access(proc.c_str(), F_OK) != 0) return;  // it exited meanwhile
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  for (auto& f : files) out.push_back(OpenWriter{pid, comm, std::move(f)});
}

}  // namespace

// ---- the lock -------------------------------------------------------------

Result<StorageLock> StorageLock::acquire(const std::string& path) {
  if (auto s = sys::mkdir_p(sys::parent_of(path)); !s) return s.error();
  auto fd = sys::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (!fd) return fd.error();
  // flock, not fcntl locks: it belongs to the open file, so it dies with the
  // holder (even SIGKILL) and a second acquire in this process also refuses.
  while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return plain_error(describe_holder(fd->get()));
    return errno_error("lock " + path);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) != 0) return errno_error("truncate " + path);
  if (::pwrite(fd->get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return errno_error("write our pid to " + path);
  return StorageLock(std::move(*fd));
}

// ---- block devices --------------------------------------------------------

Result<bool> block_readonly(const std::string& device) {
  auto fd = sys::open(device, O_RDONLY | O_CLOEXEC);
  if (!fd) return fd.error();
  int ro = 0;
  if (::ioctl(fd->get(), BLKROGET, &ro) != 0) return errno_error("BLKROGET " + device);
  return ro != 0;
}

Status set_block_readonly(const std::string& device, bool readonly) {
  auto fd = sys::open(device, O_RDONLY | O_CLOEXEC);
  if (!fd) return fd.error();
  // Write back what the page cache still holds for the device before it turns
  // read-only, so no late write-back is refused.
  if (readonly && ::fsync(fd->get()) != 0) return errno_error("fsync " + device);
  int value = readonly ? 1 : 0;
  LOGD("ioctl(%s, BLKROSET, %d)", device.c_str(), value);
  if (::ioctl(fd->get(), BLKROSET, &value) != 0) return errno_error("BLKROSET " + std::to_string(value) + " " + device);
  int ro = 0;
  if (::ioctl(fd->get(), BLKROGET, &ro) != 0) return errno_error("BLKROGET " + device);
  if ((ro != 0) != readonly) {
    // BLKROGET also reports the disk's own flag (a read-only loop device, a
    // write-protected card), which BLKROSET cannot clear.
    return plain_error(device + " is still " + (ro ? "read-only" : "read-write") + " after BLKROSET " +
                       std::to_string(value) + (ro ? " (the disk itself is read-only)" : ""));
  }
  return {};
}

// ---- mounts ---------------------------------------------------------------

Status set_mount_readonly(const std::string& path, bool readonly) {
  const std::string what = readonly ? "read-only" : "read-write";
  auto mp = is_mount_point(path);
  if (!mp) return mp.error();
  if (!*mp) return plain_error("cannot make " + path + " " + what + ": it is not a mount point");

  struct mount_attr attr {};
  (readonly ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
  LOGD("mount_setattr(%s, %s MOUNT_ATTR_RDONLY)", path.c_str(), readonly ? "set" : "clear");
  // Not AT_RECURSIVE: the window is this one mount, not what is mounted below.
  long r = ::syscall(SYS_mount_setattr, AT_FDCWD, path.c_str(), 0, &attr, sizeof attr);
  if (r != 0 && errno == ENOSYS) r = remount_legacy(path, readonly);
  if (r != 0) {
    const int err = errno;
    if (err == EBUSY && readonly) {
      std::string who = describe_writers(writers_under(path));
      if (who.empty()) who = "no process here has a file open for writing there (another mount namespace?)";
      return Error{EBUSY, "cannot make " + path + " read-only: " + who};
    }
    if (err == EINVAL)
      return Error{err, "make the mount at " + path + " " + what + " (not a mount of this namespace?)"};
    return Error{err, "make the mount at " + path + " " + what};
  }
  auto ro = sys::is_readonly(path);
  if (!ro) return ro.error();
  if (*ro != readonly) {
    return plain_error("the mount at " + path + " is still " + (*ro ? "read-only" : "read-write") +
                       (*ro ? " (the filesystem itself is mounted read-only)" : ""));
  }
  return {};
}

std::vector<OpenWriter> writers_under(const std::string& path) {
  // /proc links name canonical paths: compare against the canonical form.
  std::string root = path;
  if (char* real = ::realpath(path.c_str(), nullptr)) {
    root = real;
    std::free(real);
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();

  std::vector<OpenWriter> out;
  std::vector<pid_t> pids;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      pids.push_back(static_cast<pid_t>(std::atol(name.c_str())));
    }
    ::closedir(d);
  }
  std::sort(pids.begin(), pids.end());
  for (pid_t pid : pids) add_process_writers(pid, root, out);
  add_loop_writers(root, out);
  return out;
}

std::string describe_writers(const std::vector<OpenWriter>& w) {
  std::string out;
  for (const auto& x : w) {
    if (!out.empty()) out += "; ";
    if (x.pid == 0)
      out += "loop device /dev/" + x.comm;
    else
      out += "pid " + std::to_string(x.pid) + " (" + (x.comm.empty() ? "?" : x.comm) + ")";
    out += " has " + x.file + " open for writing";
  }
  return out;
}

// ---- the window -------------------------------------------------------------

Result<WriteWindow> WriteWindow::open_device(const std::string& device) {
  if (auto s = set_block_readonly(device, false); !s) {
    (void)set_block_readonly(device, true);  // never leave it half open
    return s.error();
  }
  LOGI("write window open on %s", device.c_str());
  return WriteWindow(device, true);
}

Result<WriteWindow> WriteWindow::open_mount(const std::string& dir) {
  if (auto s = set_mount_readonly(dir, false); !s) {
    // The mount flag may be cleared while the filesystem stays read-only:
    // put it back, so a failed open changes nothing.
    if (s.error().err == 0) (void)set_mount_readonly(dir, true);
    return s.error();
  }
  LOGI("write window open on the mount at %s", dir.c_str());
  return WriteWindow(dir, false);
}

WriteWindow::WriteWindow(WriteWindow&& o) noexcept
    : target_(std::move(o.target_)), device_(o.device_), open_(std::exchange(o.open_, false)) {}

WriteWindow::~WriteWindow() {
  if (!open_) return;
  if (auto s = close(); !s) LOGW("write window on %s left open: %s", target_.c_str(), s.error().message().c_str());
}

Status WriteWindow::close() {
  if (!open_) return {};
  Status s = device_ ? set_block_readonly(target_, true) : set_mount_readonly(target_, true);
  if (!s) return s;  // still open: the caller may retry once the writers are gone
  open_ = false;
  LOGI("write window closed on %s", target_.c_str());
  return {};
}

Status remount(const std::string& path, bool readonly, const std::string& lock_path) {
  auto lock = StorageLock::acquire(lock_path);
  if (!lock) return lock.error();
  if (auto s = set_mount_readonly(path, readonly); !s) return s;
  LOGI("remounted %s %s", path.c_str(), readonly ? "read-only" : "read-write");
  return {};
}

}  // namespace strata
