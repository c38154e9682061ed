// Thin syscall wrappers for the executor. Each returns a Result whose error
// names the call, its arguments and errno; with strata.debug each call is
// logged before it is made.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "result.h"
#include "unique_fd.h"

namespace strata::sys {

Status mkdir_p(const std::string& path, mode_t mode = 0755);
Status mount(const std::string& source, const std::string& target, const std::string& fstype, unsigned long flags,
             const std::string& data = "");
Status umount(const std::string& target, int flags = 0);
Status move_mount(const std::string& from, const std::string& to);  // MS_MOVE
Status make_private(const std::string& path);                       // MS_REC|MS_PRIVATE

struct BindAttrs {
  bool nosuid = true, nodev = true, noexec = false;
};
// Recursive read-only bind that is never writable, not even for an instant:
// open_tree + mount_setattr + move_mount; the two-step legacy bind when the
// kernel lacks the new API (ENOSYS).
Status bind_readonly(const std::string& from, const std::string& to, BindAttrs attrs);
// Only the legacy two-step, exposed so tests can exercise the fallback.
Status bind_readonly_legacy(const std::string& from, const std::string& to, BindAttrs attrs);

// True when the mount at path is read-only (statvfs ST_RDONLY).
Result<bool> is_readonly(const std::string& path);

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);
Result<std::string> read_file(const std::string& path, size_t limit = 1 << 20);
// A small file holding one value (an id, a request): its text without the
// trailing newline and blanks.
Result<std::string> read_value(const std::string& path, size_t limit = 4096);
Status write_file(const std::string& path, const std::string& data, mode_t mode = 0644);
// Power-safe replace: write a temp file, fsync, rename over path, fsync the dir.
Status write_file_durable(const std::string& path, const std::string& data, mode_t mode = 0644);
Status fsync_path(const std::string& path);  // a file or a directory
// The directory part of a path: "/a/b" -> "/a", "/a" -> "/", "a" -> ".".
std::string parent_of(const std::string& path);
// rename(2) that also fsyncs both parent directories.
Status rename_durable(const std::string& from, const std::string& to);
bool exists(const std::string& path);
bool is_dir(const std::string& path);
// What std::filesystem would do, without it (it pulls the locale machinery
// of libstdc++, ~400 KB, into a static binary):
// a new file `to` (refused if it exists) with `from`'s bytes and permissions;
Status copy_file(const std::string& from, const std::string& to);
// a symlink's target;
Result<std::string> read_link(const std::string& path);
// deletes `path` and, for a directory, everything below it, never following
// symlinks; a missing path is not an error.
Status remove_tree(const std::string& path);
// The names in a directory, without "." and "..".
Result<std::vector<std::string>> list_dir(const std::string& path);

}  // namespace strata::sys
