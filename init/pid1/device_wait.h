// Waits for block devices to appear: an initial scan of /sys/class/block and
// then kernel uevents (netlink), until every wanted device is there or the
// timeout passes. No fixed sleeps.
#pragma once

#include <vector>

#include "device_spec.h"

namespace strata {

struct DeviceScan {
  // Everything seen: the probed devices first, then those not probed
  // (BlockDevice::not_probed says why; probe_order.h decides which).
  std::vector<BlockDevice> devices;
  size_t probed = 0;
  bool timed_out = false;
  int waited_ms = 0;
};

// Waits for every `wanted` device; `also` names more devices the boot uses
// when present (not waited for). Only devices that can be one of these are
// read, sure matches first, and probing stops once all of them are found.
DeviceScan wait_for_devices(const std::vector<DeviceSpec>& wanted, int timeout_ms,
                            const std::vector<DeviceSpec>& also = {}, const char* sys_block = "/sys/class/block",
                            const char* dev_dir = "/dev");

}  // namespace strata
