// Slot storage is read-only outside an update: partition slots carry the
// kernel's BLKROSET flag, image files sit in a directory whose mount is
// read-only. An update opens a write window on the one target and always
// closes it again; every process that opens a window or remounts takes the
// same lock first.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "result.h"
#include "unique_fd.h"

namespace strata {

// An exclusive flock on a lock file (paths::kLock on the device). The holder's
// pid is written into the file so a refusal can name it.
class StorageLock {
 public:
  // Refuses at once (no waiting) when another process holds it:
  // "another update or remount is running (pid 123, strata)".
  static Result<StorageLock> acquire(const std::string& path);
  StorageLock(StorageLock&&) = default;
  StorageLock& operator=(StorageLock&&) = default;

 private:
  explicit StorageLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// The kernel's read-only flag of a block device (BLKROSET), set and confirmed
// with BLKROGET.
Status set_block_readonly(const std::string& device, bool readonly);
Result<bool> block_readonly(const std::string& device);

// Read-only flag of the one mount at `path` (a mount point; not its
// submounts): mount_setattr, or MS_REMOUNT|MS_BIND keeping nosuid/nodev/noexec
// where the kernel lacks it; confirmed with statvfs. Making it read-only fails
// with EBUSY while files are open for writing there.
Status set_mount_readonly(const std::string& path, bool readonly);

// Processes holding files open for writing at or below `path`.
struct OpenWriter {
  pid_t pid = 0;
  std::string comm;  // /proc/PID/comm
  std::string file;  // what it has open
};
std::vector<OpenWriter> writers_under(const std::string& path);
// "pid 123 (vi) has /etc/factory/x open for writing; ..." or "".
std::string describe_writers(const std::vector<OpenWriter>& w);

// A write window on one slot. Closing makes the storage read-only again and
// confirms it; the destructor closes a window still open (failures logged).
class WriteWindow {
 public:
  // Partition slot: clears BLKROSET on `device`.
  static Result<WriteWindow> open_device(const std::string& device);
  // Image-file slot: remounts the mount at `dir` read-write.
  static Result<WriteWindow> open_mount(const std::string& dir);

  WriteWindow(WriteWindow&& o) noexcept;
  WriteWindow& operator=(WriteWindow&&) = delete;
  ~WriteWindow();

  // Idempotent. With EBUSY on a mount, the error names the writers.
  Status close();
  bool is_open() const { return open_; }

 private:
  WriteWindow(std::string target, bool device) : target_(std::move(target)), device_(device), open_(true) {}
  std::string target_;
  bool device_ = false;
  bool open_ = false;
};

// `strata remount rw|ro PATH`: under the lock at `lock_path`, flips the
// read-only flag of the mount at PATH. A refusal to go read-only names the
// processes holding files open for writing there.
Status remount(const std::string& path, bool readonly, const std::string& lock_path);

}  // namespace strata
