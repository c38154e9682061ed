// Which block devices PID 1 reads with libblkid, and in what order. What the
// kernel already says about a device without reading it (sysfs: whether it is
// a partition, its GPT name) settles most config names (PARTLABEL=, a /dev
// path); only a filesystem's LABEL=/UUID= and a PARTUUID= need the device
// read. Probing costs a few tens of ms of libblkid per device on small boards,
// so devices that can match nothing the config names are never probed, the
// ones that surely match go first, and the scan stops once every name is found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "device_spec.h"

namespace strata {

// One block device as /sys/class/block/<name> describes it.
struct SysfsDevice {
  std::string path;        // /dev/vda1
  bool partition = false;  // DEVTYPE=partition
  std::string partname;    // PARTNAME= (the GPT entry's name), "" when the kernel gives none
  uint64_t size = 0;       // bytes
};

enum class ProbeNeed {
  kMatches,  // sysfs alone shows it is one of the named devices: probe it first
  kMaybe,    // only its content can tell (LABEL=, UUID=, PARTUUID=, or no PARTNAME to compare)
  kCannot,   // nothing named can be this device: never read it
};

ProbeNeed probe_need(const SysfsDevice& d, const std::vector<DeviceSpec>& named);

// Indices into `devices` in the order to probe them: the sure matches, then
// the maybes (partitions whose GPT name is a named LABEL=/UUID= value, other
// partitions, whole devices), each group in scan order. kCannot devices are
// left out. With nothing named at all every device is probed (in scan order):
// there is nothing to narrow by.
std::vector<size_t> probe_order(const std::vector<SysfsDevice>& devices, const std::vector<DeviceSpec>& named);

// True when every named spec matches a device in `have`: the scan can stop.
bool all_named_found(const std::vector<DeviceSpec>& named, const std::vector<BlockDevice>& have);

// Why a device is left unread, for BlockDevice::not_probed.
inline constexpr const char* kCannotMatch = "nothing the config names can be on it";
inline constexpr const char* kAllFound = "every device the config names was found first";

// What is known of a device that was not probed (its path, GPT name and size),
// with why: listed as seen, never as holding no filesystem.
BlockDevice unprobed_device(const SysfsDevice& d, const char* why);

}  // namespace strata
