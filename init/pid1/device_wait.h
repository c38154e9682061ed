// Waits for block devices to appear: an initial scan of /sys/class/block and
// then kernel uevents (netlink), until every wanted device is there or the
// timeout passes. No fixed sleeps.
#pragma once

#include <vector>

#include "device_spec.h"

namespace strata {

struct DeviceScan {
  std::vector<BlockDevice> devices;  // everything seen, probed
  bool timed_out = false;
  int waited_ms = 0;
};

DeviceScan wait_for_devices(const std::vector<DeviceSpec>& wanted, int timeout_ms,
                            const char* sys_block = "/sys/class/block", const char* dev_dir = "/dev");

}  // namespace strata
