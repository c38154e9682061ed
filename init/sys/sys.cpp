#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

namespace strata::sys {

Status mkdir_p(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) == 0) {
      LOGD("mkdir(%s, %o)", cur.c_str(), mode);
    } else if (errno != EEXIST) {
      return errno_error("mkdir " + cur);
    }
  }
  return {};
}

Status mount(const std::string& source, const std::string& target, const std::string& fstype, unsigned long flags,
             const std::string& data) {
  LOGD("mount(%s, %s, %s, 0x%lx, \"%s\")", source.c_str(), target.c_str(), fstype.c_str(), flags, data.c_str());
  if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return errno_error("mount " + (fstype.empty() ? std::string("") : fstype + " ") + source + " on " + target +
                       (data.empty() ? "" : " (" + data + ")"));
  }
  return {};
}

Status umount(const std::string& target, int flags) {
  LOGD("umount2(%s, %d)", target.c_str(), flags);
  if (::umount2(target.c_str(), flags) != 0) return errno_error("unmount " + target);
  return {};
}

Status move_mount(const std::string& from, const std::string& to) {
  LOGD("mount(%s, %s, MS_MOVE)", from.c_str(), to.c_str());
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_MOVE, nullptr) != 0)
    return errno_error("move mount " + from + " to " + to);
  return {};
}

Status make_private(const std::string& path) {
  LOGD("mount(none, %s, MS_REC|MS_PRIVATE)", path.c_str());
  if (::mount(nullptr, path.c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return errno_error("make " + path + " private");
  return {};
}

Status bind_readonly_legacy(const std::string& from, const std::string& to, BindAttrs a) {
  // Between these two calls the bind is writable; only used without the new API.
  if (auto s = mount(from, to, "", MS_BIND | MS_REC); !s) return s;
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
  if (a.nosuid) flags |= MS_NOSUID;
  if (a.nodev) flags |= MS_NODEV;
  if (a.noexec) flags |= MS_NOEXEC;
  if (auto s = mount("", to, "", flags); !s) {
    ::umount2(to.c_str(), MNT_DETACH);  // never leave a writable bind behind
    return s;
  }
  return {};
}

Status bind_readonly(const std::string& from, const std::string& to, BindAttrs a) {
  LOGD("open_tree(%s, OPEN_TREE_CLONE|AT_RECURSIVE)", from.c_str());
  int tree = static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, from.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (tree < 0) {
    if (errno == ENOSYS) return bind_readonly_legacy(from, to, a);
    return errno_error("open_tree " + from);
  }
  UniqueFd fd(tree);
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY | (a.nosuid ? MOUNT_ATTR_NOSUID : 0) | (a.nodev ? MOUNT_ATTR_NODEV : 0) |
                  (a.noexec ? MOUNT_ATTR_NOEXEC : 0);
  LOGD("mount_setattr(%s, AT_RECURSIVE, set=0x%llx)", from.c_str(), static_cast<unsigned long long>(attr.attr_set));
  if (::syscall(SYS_mount_setattr, fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    // open_tree came in 5.2, mount_setattr only in 5.12: the unattached clone
    // is dropped with the fd.
    if (errno == ENOSYS) return bind_readonly_legacy(from, to, a);
    return errno_error("mount_setattr read-only on the clone of " + from);
  }
  LOGD("move_mount(clone of %s, %s)", from.c_str(), to.c_str());
  if (::syscall(SYS_move_mount, fd.get(), "", AT_FDCWD, to.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return errno_error("move_mount read-only bind of " + from + " to " + to);
  return {};
}

Result<bool> is_readonly(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return errno_error("statvfs " + path);
  return (st.f_flag & ST_RDONLY) != 0;
}

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("open " + path);
  return UniqueFd(fd);
}

Result<std::string> read_file(const std::string& path, size_t limit) {
  auto fd = open(path, O_RDONLY);
  if (!fd) return fd.error();
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) return plain_error(path + " is larger than " + std::to_string(limit) + " bytes");
  }
  return out;
}

Result<std::string> read_value(const std::string& path, size_t limit) {
  auto text = read_file(path, limit);
  if (!text) return text;
  std::string& s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return text;
}

Status write_file(const std::string& path, const std::string& data, mode_t mode) {
  auto fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (!fd) return fd.error();
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd->get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write " + path);
    off += static_cast<size_t>(n);
  }
  return {};
}

Status fsync_path(const std::string& path) {
  auto fd = open(path, O_RDONLY);
  if (!fd) return fd.error();
  if (::fsync(fd->get()) != 0) return errno_error("fsync " + path);
  return {};
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : slash == std::string::npos ? "." : path.substr(0, slash);
}

Status write_file_durable(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  if (auto s = write_file(tmp, data, mode); !s) return s;
  if (auto s = fsync_path(tmp); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error("rename " + tmp + " to " + path);
  return fsync_path(parent_of(path));
}

Status rename_durable(const std::string& from, const std::string& to) {
  LOGD("rename(%s, %s)", from.c_str(), to.c_str());
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("rename " + from + " to " + to);
  if (auto s = fsync_path(parent_of(to)); !s) return s;
  if (parent_of(to) != parent_of(from)) return fsync_path(parent_of(from));
  return {};
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status copy_file(const std::string& from, const std::string& to) {
  auto in = open(from, O_RDONLY | O_CLOEXEC);
  if (!in) return in.error();
  struct stat st {};
  if (::fstat(in->get(), &st) != 0) return errno_error("stat " + from);
  auto out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (!out) return out.error();
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(in->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + from);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out->get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno_error("write " + to);
      off += w;
    }
  }
  return {};
}

Result<std::string> read_link(const std::string& path) {
  std::string target(256, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return errno_error("readlink " + path);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return errno_error("open directory " + path);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
    names.emplace_back(e->d_name);
  }
  const int err = errno;
  ::closedir(d);
  if (err) return Error{err, "read directory " + path};
  return names;
}

Status remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status() : errno_error("lstat " + path);
  if (S_ISDIR(st.st_mode)) {
    auto names = list_dir(path);
    if (!names) return names.error();
    Status first;
    for (const auto& n : *names)
      if (auto s = remove_tree(path + "/" + n); !s && first) first = s;
    if (!first) return first;
    if (::rmdir(path.c_str()) != 0) return errno_error("remove " + path);
    return {};
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path);
  return {};
}

}  // namespace strata::sys
