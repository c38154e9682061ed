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

struct BootEnvReading {
  std::optional<BootEnv> env;  // none: no valid copy (blank or torn), or garbled variables
  std::string detail;          // why not, for messages ("" when read)
};

class BootEnvStore {
 public:
  explicit BootEnvStore(std::string device) : device_(std::move(device)) {}
  // An error only when the device cannot be opened at all.
  Result<BootEnvReading> read() const;
  // libubootenv writes the copy it did not read (flags one ahead), then fsyncs.
  Status write(const BootEnv& e) const;
  const std::string& device() const { return device_; }

 private:
  std::string device_;
};

}  // namespace strata
