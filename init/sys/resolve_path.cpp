#include "resolve_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "log.h"
#include "unique_fd.h"

namespace strata::sys {
namespace {

// Set once the kernel said ENOSYS: later walks go straight to fstatat.
std::atomic<bool> no_openat2{false};

PathEntry entry_from(int dirfd, const char* rel, const struct stat& st) {
  PathEntry e;
  if (S_ISDIR(st.st_mode)) {
    e.kind = PathEntry::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    e.kind = PathEntry::kSymlink;
    char buf[4096];
    ssize_t n = ::readlinkat(dirfd, rel, buf, sizeof buf);
    if (n < 0)
      e.err = errno;
    else if (n == static_cast<ssize_t>(sizeof buf))
      e.err = ENAMETOOLONG;
    else
      e.target.assign(buf, static_cast<size_t>(n));
  } else {
    e.kind = PathEntry::kOther;
  }
  return e;
}

PathEntry missing_or_error(int err) {
  PathEntry e;
  if (err != ENOENT) e.err = err;
  return e;
}

// One step with openat2: the kernel keeps even this lookup inside the root.
// Returns false when openat2 does not exist.
bool lookup_openat2(int rootfd, const std::string& rel, PathEntry& out) {
  struct open_how how {};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = -1;
  // EAGAIN: a rename raced the lookup of ".." (openat2(2)); the kernel asks for a retry.
  for (int tries = 0; tries < 8; tries++) {
    fd = static_cast<int>(::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how));
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  if (fd < 0) {
    if (errno == ENOSYS) return false;
    out = missing_or_error(errno);
    return true;
  }
  UniqueFd f(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out = missing_or_error(errno);
    return true;
  }
  out = entry_from(fd, "", st);  // readlinkat on an O_PATH link fd with "" reads that link
  return true;
}

// One step with fstatat under the root's fd: the walk hands us prefixes it
// already found to be directories, never links.
PathEntry lookup_fstatat(int rootfd, const std::string& rel) {
  struct stat st {};
  if (::fstatat(rootfd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return missing_or_error(errno);
  return entry_from(rootfd, rel.c_str(), st);
}

}  // namespace

Result<Resolution> resolve_in_root(const std::string& root, const std::string& path, ResolveWith with) {
  int rootfd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return errno_error("open " + root);
  UniqueFd guard(rootfd);
  bool use_openat2 = with == ResolveWith::kBest && !no_openat2.load();
  Resolution r = strata::resolve_in_root(path, [&](const std::string& p) {
    const std::string rel = p.substr(1);  // lookups are absolute inside the root
    PathEntry e;
    if (use_openat2 && lookup_openat2(rootfd, rel, e)) return e;
    if (use_openat2) {
      LOGD("openat2: ENOSYS, resolving with fstatat under %s", root.c_str());
      no_openat2 = true;
      use_openat2 = false;
    }
    return lookup_fstatat(rootfd, rel);
  });
  LOGD("resolve %s in %s: %s (%s)", path.c_str(), root.c_str(), r.path.c_str(),
       r.err ? describe_resolution(r).c_str() : "found");
  return r;
}

}  // namespace strata::sys
