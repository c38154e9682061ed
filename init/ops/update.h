// `strata update`: a bundle (bundle.h) streamed into the slot that is not
// running. The order is what makes it safe (RAUC's install.c does the same):
// check the header, mark the target bad, open the write window, stream while
// hashing, fsync, read back and hash again, close the window, and only then
// put the target on trial. Any refusal leaves the running slot untouched.
// A group ([slots] bootloader = uboot: boot-x + root-x) goes the same way,
// each image in stream order through its own window, and the trial comes
// only after every image is written and read back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "result.h"
#include "slot_state.h"
#include "update_policy.h"

namespace strata {

class SlotStore;

struct UpdateTarget {
  int slot = -1;          // the slot to write
  int running = -1;       // the slot this system runs from (-1: unknown: refused)
  bool file = false;      // an image file on the data partition, else a partition
  std::string path;       // the block device, or the image file
  std::string window;     // the mount that holds the image file (file slots)
  uint64_t capacity = 0;  // bytes the slot holds (files: free space + the old image), 0: ask the device
  // bootloader = uboot: the target's boot partition (boot-a / boot-b), and a
  // bundle must carry a boot image for it. "": the slot is a root image
  // alone, and a bundle with a boot image is refused.
  std::string boot_path;
  uint64_t boot_capacity = 0;  // 0: ask the device
};

struct UpdateOptions {
  UpdatePolicy policy;     // keys and versions (update_policy.h)
  std::string compatible;  // "" : any bundle
  int tries = 3;
  std::string lock_path;  // paths::kLock on the device
  // Seeds the target's upper from the running one (DataPartition); may be empty.
  std::function<Status(int from, int to)> seed_upper;
  std::function<void(const std::string& point)> crash_point = [](const std::string&) {};
  std::function<void(const std::string& line)> say = [](const std::string&) {};
  // How far the stream ("writing") and the read-back ("verifying") are: bytes
  // done of total, after each chunk (core/progress.h formats and paces it).
  std::function<void(const char* phase, uint64_t done, uint64_t total)> progress = [](const char*, uint64_t, uint64_t) {
  };
  // Polled between chunks; true aborts (a signal arrived).
  std::function<bool()> interrupted = [] { return false; };
};

struct UpdateResult {
  std::string version;
  std::string sha256;  // the root image's
  uint64_t bytes = 0;  // every image's
  int images = 0;
  double seconds = 0;  // streaming only
};

// Reads the bundle from `in` (a file or a pipe) and installs it.
Result<UpdateResult> install_update(int in, const UpdateTarget& target, const UpdateOptions& options, SlotStore& store);

}  // namespace strata
