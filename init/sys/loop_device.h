// Attaches an image file read-only to a free loop device.
#pragma once

#include <string>

#include "result.h"
#include "unique_fd.h"

namespace strata {

struct LoopDevice {
  std::string path;  // /dev/loopN
  UniqueFd fd;       // keep open until the mount holds the device (autoclear)
};

// LOOP_CONFIGURE (5.8+) with a read-only backing fd, LO_FLAGS_READ_ONLY,
// autoclear and direct I/O where the backing file takes it; LOOP_SET_FD +
// LOOP_SET_STATUS64 on kernels without it.
Result<LoopDevice> attach_loop(const std::string& image, const std::string& dev_dir = "/dev");

}  // namespace strata
