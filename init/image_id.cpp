#include "image_id.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sodium.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

#include "sys.h"

namespace strata {

std::string lower_identity(const std::string& lower_mount, const std::string& device) {
  if (auto id = sys::read_value(lower_mount + "/etc/strata/image-id", 256); id && !id->empty()) return *id;
  int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "unknown";
  uint64_t size = 0;
  if (::ioctl(fd, BLKGETSIZE64, &size) != 0) size = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(&size), sizeof size);
  std::vector<unsigned char> buf(64 * 1024);
  for (off_t off : {off_t{0}, static_cast<off_t>(size > buf.size() ? size - buf.size() : 0)}) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n > 0) crypto_hash_sha256_update(&st, buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  char hex[2 * sizeof out + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return std::string("sb:") + hex;
}

}  // namespace strata
