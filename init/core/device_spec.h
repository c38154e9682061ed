// How a configuration names a block device (LABEL=, UUID=, PARTUUID=,
// PARTLABEL= or a /dev path), and what probing reports about one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

struct BlockDevice {
  std::string path;  // /dev/vda1
  std::string type;  // filesystem type as libblkid names it: squashfs, ext4, ...
  std::string label, uuid, partuuid, partlabel;
  uint64_t size = 0;  // bytes
  // Set when the device's content could not be read (an I/O error while
  // probing): TYPE, LABEL and UUID are unknown; PARTLABEL and PARTUUID come
  // from the partition table, which lies elsewhere.
  std::string unreadable;
  // Why PID 1 did not read it (probe_order.h), "" when it did. Then only
  // path, PARTLABEL and size (from sysfs) are known.
  std::string not_probed;
};

// " (/dev/vda3 could not be read: why; ...)" for every unreadable device, or "".
std::string unreadable_note(const std::vector<BlockDevice>& devices);

struct DeviceSpec {
  enum Kind { kPath, kLabel, kUuid, kPartUuid, kPartLabel } kind = kPath;
  std::string value;

  std::string text() const;  // back to "PARTLABEL=root-a" form
  bool matches(const BlockDevice& d) const;
};

// nullopt when the text is none of the accepted forms.
std::optional<DeviceSpec> parse_device_spec(std::string_view text);

const BlockDevice* find_device(const std::vector<BlockDevice>& devices, const DeviceSpec& spec);

// One line per device, for the console when a device never appears.
std::string describe_devices(const std::vector<BlockDevice>& devices);

}  // namespace strata
