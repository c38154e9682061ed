// Superblock and partition-entry probing of one block device (libblkid).
#pragma once

#include <optional>
#include <string>

#include "device_spec.h"
#include "probe_order.h"

namespace strata {

// nullopt when the device cannot be opened (gone, or no medium).
std::optional<BlockDevice> probe_device(const std::string& path);

// What sysfs says about block device `name` (<sys_block>/<name>/uevent and
// size), reading nothing of the device itself; its path is <dev_dir>/<name>.
// nullopt when sysfs has no such device.
std::optional<SysfsDevice> read_sysfs_device(const std::string& sys_block, const std::string& name,
                                             const std::string& dev_dir);

}  // namespace strata
