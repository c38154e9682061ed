#include "loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <cstring>

#include "log.h"

namespace strata {
namespace {

// On 32-bit targets open() of an image of 2 GiB or more fails with EOVERFLOW
// unless off_t is 64 bits (init/CMakeLists.txt defines _FILE_OFFSET_BITS=64).
static_assert(sizeof(off_t) == 8, "strata needs a 64-bit off_t (_FILE_OFFSET_BITS=64)");

Status configure(int loop_fd, int backing_fd, const std::string& image, bool direct_io) {
  loop_config cfg{};
  cfg.fd = static_cast<__u32>(backing_fd);
  cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0);
  strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
  LOGD("ioctl(LOOP_CONFIGURE, %s, direct_io=%d)", image.c_str(), direct_io);
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0) return {};
  return errno_error("LOOP_CONFIGURE " + image);
}

Status set_fd_and_status(int loop_fd, int backing_fd, const std::string& image) {
  LOGD("ioctl(LOOP_SET_FD, %s)", image.c_str());
  if (::ioctl(loop_fd, LOOP_SET_FD, backing_fd) != 0) return errno_error("LOOP_SET_FD " + image);
  loop_info64 info{};
  info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
  strncpy(reinterpret_cast<char*>(info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
    Error e = errno_error("LOOP_SET_STATUS64 " + image);
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    return e;
  }
  return {};
}

}  // namespace

Result<LoopDevice> attach_loop(const std::string& image, const std::string& dev_dir) {
  UniqueFd backing(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing.valid()) return errno_error("open image " + image);
  UniqueFd control(::open((dev_dir + "/loop-control").c_str(), O_RDWR | O_CLOEXEC));
  if (!control.valid()) return errno_error("open " + dev_dir + "/loop-control");

  // Another process may take the free device between GET_FREE and configure: retry.
  for (int attempt = 0; attempt < 8; attempt++) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return errno_error("LOOP_CTL_GET_FREE");
    LoopDevice dev;
    dev.path = dev_dir + "/loop" + std::to_string(n);
    dev.fd = UniqueFd(::open(dev.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!dev.fd.valid()) return errno_error("open " + dev.path);

    Status s = configure(dev.fd.get(), backing.get(), image, true);
    if (!s && s.error().err == EINVAL) s = configure(dev.fd.get(), backing.get(), image, false);  // no direct I/O there
    if (!s && (s.error().err == EINVAL || s.error().err == ENOTTY || s.error().err == ENOSYS))
      s = set_fd_and_status(dev.fd.get(), backing.get(), image);
    if (s) return dev;
    if (s.error().err != EBUSY) return s.error();
  }
  return plain_error("no free loop device for " + image + " after 8 tries");
}

}  // namespace strata
