// Resolving a configured path inside a root directory, the way openat2's
// RESOLVE_IN_ROOT does: symlinks (relative or absolute) are followed with the
// root as "/", ".." stops at the root, so no path ever leaves it. Pure: the
// walk asks a lookup callback what each component is, so every case is
// unit-tested without a filesystem (sys/ drives it with real syscalls).
#pragma once

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

namespace strata {

// What one path inside the root is, as lstat(2) and readlink(2) would say.
struct PathEntry {
  enum Kind { kMissing, kDirectory, kSymlink, kOther } kind = kMissing;
  std::string target;  // kSymlink: what it points to
  int err = 0;         // the lookup itself failed (EACCES, EIO...): the walk stops with it
};
// `path` is absolute inside the root and free of symlinks, "." and "..".
using PathLookup = std::function<PathEntry(const std::string& path)>;

// Symlinks one walk follows before it gives up with ELOOP (the kernel's limit).
inline constexpr int kMaxSymlinks = 40;

struct Resolution {
  // ENOENT (a component is missing: `path` names it, or the whole path
  // below it when no ".." follows),
  // ENOTDIR (a component before the last is not a directory), ELOOP, or the
  // lookup's own errno. 0: `path` exists.
  int err = 0;
  // Absolute inside the root, no symlinks, "." or ".." on the way; "/" is the root.
  std::string path;
  // Where each symlink that was followed sits, inside the root, in order.
  std::vector<std::string> links;
  PathEntry::Kind kind = PathEntry::kMissing;  // what `path` is, when err == 0
  // ENOENT at the path's last component (`path` is that name).
  bool last_missing = false;
  // ENOENT with no symlink followed and no ".." after the missing component:
  // making `path` with mkdir creates only new directories, inside the root.
  bool creatable = false;

  bool exists() const { return err == 0; }
  // Missing only because a followed symlink points nowhere.
  bool dangling() const { return err == ENOENT && !links.empty(); }
  // Missing, with no symlink on the way: the path can be created as named.
  bool missing_plainly() const { return err == ENOENT && creatable; }
};

// Walks `path` (absolute or relative: both start at the root) component by component.
Resolution resolve_in_root(const std::string& path, const PathLookup& lookup);

// `path` made absolute with ".", ".." (clamped at "/") and repeated slashes
// removed, no lookups: the name a configured path is keyed by.
std::string normalize_lexically(const std::string& path);

// Why a resolved path cannot be a bind's directory, for a warning ("" when it can).
std::string describe_resolution(const Resolution& r);

}  // namespace strata
