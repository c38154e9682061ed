#include "image_id.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

#include "sha256.h"
#include "sys.h"

namespace strata {

std::string lower_identity(const std::string& lower_mount, const std::string& device) {
  if (auto id = sys::read_value(lower_mount + "/etc/strata/image-id", 256); id && !id->empty()) return *id;
  int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "unknown";
  uint64_t size = 0;
  if (::ioctl(fd, BLKGETSIZE64, &size) != 0) size = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  Sha256 hash;
  hash.update(&size, sizeof size);
  std::vector<unsigned char> buf(64 * 1024);
  for (off_t off : {off_t{0}, static_cast<off_t>(size > buf.size() ? size - buf.size() : 0)}) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n > 0) hash.update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return "sb:" + hash.hex();
}

}  // namespace strata
