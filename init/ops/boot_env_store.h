// The bootloader state on flash ([slots] bootloader = uboot), read and
// written with libubootenv: a redundant U-Boot environment pair on the raw
// "bootstate" partition, the layout U-Boot's boot script reads
// (board/common/uboot/boot.cmd). The only user of libubootenv.
#pragma once

#include <optional>
#include <string>

#include "boot_env.h"
#include "result.h"

namespace strata {

// Must match tools/mkbootfs: 16 KiB copies, copy 0 at the partition's start,
// copy 1 64 KiB in (each copy in blocks of its own).
inline constexpr size_t kBootEnvSize = 0x4000;
inline constexpr long long kBootEnvOffset[2] = {0, 0x10000};

// Both copies' bytes: copy i at kBootEnvOffset[i].
inline constexpr size_t kBootEnvImageSize = kBootEnvOffset[1] + kBootEnvSize;

struct BootEnvReading {
  std::optional<BootEnv> env;  // none: no valid copy (blank, torn or unreadable), or garbled variables
  std::string detail;          // why not, for messages ("" when read)
  std::string warning;         // a copy that could not be read while the other was used ("" none)
};

// The pair's bytes as libubootenv sees them (kBootEnvImageSize; copies that
// could not be read are zeros, so never valid) -> the state, or why not.
// libubootenv parses it from a memory file: a read error on one copy must
// not hide the other (libubootenv 0.3 gives up on the pair when one read
// fails). Fuzzed (tests/fuzz/fuzz_boot_env.cpp). An error only when no
// memory file can be made.
Result<BootEnvReading> parse_boot_env_image(const std::string& image, const std::string& where);

class BootEnvStore {
 public:
  explicit BootEnvStore(std::string device) : device_(std::move(device)) {}
  // An error only when the device cannot be opened at all; a copy that
  // cannot be read (EIO) is left out and named in the reading.
  Result<BootEnvReading> read() const;
  // libubootenv writes the copy it did not read (flags one ahead) into the
  // image, which goes to the device as that one copy, fdatasynced and read
  // back: an error says which step failed; the copy read is never touched.
  Status write(const BootEnv& e) const;
  const std::string& device() const { return device_; }

 private:
  std::string device_;
};

}  // namespace strata
