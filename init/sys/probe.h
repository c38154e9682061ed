// Superblock and partition-entry probing of one block device (libblkid).
#pragma once

#include <optional>
#include <string>

#include "device_spec.h"

namespace strata {

// nullopt when the device cannot be opened (gone, or no medium).
std::optional<BlockDevice> probe_device(const std::string& path);

}  // namespace strata
