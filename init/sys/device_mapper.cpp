#include "device_mapper.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "clock.h"
#include "log.h"
#include "unique_fd.h"

namespace strata {
namespace {

constexpr const char* kControl = "/dev/mapper/control";
constexpr size_t kBufferSize = 16 * 1024;  // header + one target spec + its params, or a status reply

// One ioctl buffer: struct dm_ioctl first, the payload after it (8-byte aligned).
struct DmBuffer {
  std::vector<uint64_t> words = std::vector<uint64_t>(kBufferSize / 8);
  dm_ioctl* io() { return reinterpret_cast<dm_ioctl*>(words.data()); }
  char* bytes() { return reinterpret_cast<char*>(words.data()); }
};

Result<DmBuffer> header(const std::string& name) {
  if (name.empty() || name.size() >= DM_NAME_LEN || name.find('/') != std::string::npos)
    return plain_error("device-mapper name " + name + " is empty, has a '/' or is longer than " +
                       std::to_string(DM_NAME_LEN - 1) + " bytes");
  DmBuffer b;
  dm_ioctl* io = b.io();
  io->version[0] = DM_VERSION_MAJOR;
  io->version[1] = 0;  // any 4.x kernel will do
  io->version[2] = 0;
  io->data_size = kBufferSize;
  io->data_start = sizeof(dm_ioctl);
  std::strncpy(io->name, name.c_str(), DM_NAME_LEN - 1);
  return b;
}

Status dm_ioctl_call(unsigned long request, const char* what, const std::string& name, DmBuffer& b) {
  UniqueFd control(::open(kControl, O_RDWR | O_CLOEXEC));
  if (!control.valid()) return errno_error(std::string("open ") + kControl + " (is dm-mod loaded?)");
  LOGD("ioctl(%s, %s)", what, name.c_str());
  if (::ioctl(control.get(), request, b.io()) != 0) return errno_error(std::string(what) + " " + name);
  return {};
}

Status load_table(const std::string& name, const std::string& target, uint64_t sectors, const std::string& params) {
  auto b = header(name);
  if (!b) return b.error();
  if (target.size() >= DM_MAX_TYPE_NAME) return plain_error("device-mapper target name " + target + " is too long");
  const size_t spec_at = sizeof(dm_ioctl);
  const size_t params_at = spec_at + sizeof(dm_target_spec);
  // The params string ends in a NUL, and the next spec (none) is 8-byte aligned.
  const size_t end = (params_at + params.size() + 1 + 7) & ~size_t{7};
  if (end > kBufferSize) return plain_error("device-mapper table for " + name + " is too long");
  dm_ioctl* io = b->io();
  io->target_count = 1;
  io->flags = DM_READONLY_FLAG;
  auto* spec = reinterpret_cast<dm_target_spec*>(b->bytes() + spec_at);
  spec->sector_start = 0;
  spec->length = sectors;
  spec->next = static_cast<uint32_t>(end - spec_at);
  std::strncpy(spec->target_type, target.c_str(), DM_MAX_TYPE_NAME - 1);
  std::memcpy(b->bytes() + params_at, params.c_str(), params.size() + 1);
  LOGD("dm table %s: 0 %llu %s %s", name.c_str(), static_cast<unsigned long long>(sectors), target.c_str(),
       params.c_str());
  return dm_ioctl_call(DM_TABLE_LOAD, "DM_TABLE_LOAD", name, *b);
}

Result<dev_t> resume(const std::string& name) {
  auto b = header(name);
  if (!b) return b.error();
  b->io()->flags = 0;  // no DM_SUSPEND_FLAG: resume, which makes the loaded table live
  if (Status s = dm_ioctl_call(DM_DEV_SUSPEND, "DM_DEV_SUSPEND (resume)", name, *b); !s) return s.error();
  return static_cast<dev_t>(b->io()->dev);
}

// devtmpfs makes /dev/dm-N as the disk is added; where /dev is not devtmpfs
// (or the node is slow to come) make it here.
Result<std::string> node_for(dev_t dev, const std::string& dev_dir) {
  const std::string path = dev_dir + "/dm-" + std::to_string(minor(dev));
  const int64_t until = monotonic_ms() + 1000;
  struct stat st {};
  while (true) {
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISBLK(st.st_mode) && st.st_rdev == dev) return path;
      return plain_error(path + " exists but is not the block device " + std::to_string(major(dev)) + ":" +
                         std::to_string(minor(dev)));
    }
    if (monotonic_ms() >= until) break;
    ::usleep(5000);
  }
  LOGD("mknod(%s, %u:%u)", path.c_str(), major(dev), minor(dev));
  if (::mknod(path.c_str(), S_IFBLK | 0600, dev) != 0 && errno != EEXIST) return errno_error("mknod " + path);
  return path;
}

}  // namespace

Result<DmDevice> dm_create(const std::string& name, const std::string& target, uint64_t sectors,
                           const std::string& params, const std::string& dev_dir) {
  auto b = header(name);
  if (!b) return b.error();
  if (Status s = dm_ioctl_call(DM_DEV_CREATE, "DM_DEV_CREATE", name, *b); !s) return s.error();
  auto undo = [&](Error e) -> Result<DmDevice> {
    (void)dm_remove(name);
    return e;
  };
  if (Status s = load_table(name, target, sectors, params); !s) return undo(s.error());
  auto dev = resume(name);
  if (!dev) return undo(dev.error());
  auto path = node_for(*dev, dev_dir);
  if (!path) return undo(path.error());
  return DmDevice{name, *path, *dev};
}

Status dm_reload(const std::string& name, const std::string& target, uint64_t sectors, const std::string& params) {
  if (Status s = load_table(name, target, sectors, params); !s) return s;
  auto dev = resume(name);
  if (!dev) return dev.error();
  return {};
}

Result<std::string> dm_status(const std::string& name) {
  auto b = header(name);
  if (!b) return b.error();
  if (Status s = dm_ioctl_call(DM_TABLE_STATUS, "DM_TABLE_STATUS", name, *b); !s) return s.error();
  dm_ioctl* io = b->io();
  if (io->flags & DM_BUFFER_FULL_FLAG) return plain_error("DM_TABLE_STATUS " + name + ": reply too long");
  if (io->target_count != 1)
    return plain_error("DM_TABLE_STATUS " + name + ": " + std::to_string(io->target_count) + " targets, not 1");
  if (io->data_start + sizeof(dm_target_spec) >= kBufferSize)
    return plain_error("DM_TABLE_STATUS " + name + ": bad reply");
  const char* text = b->bytes() + io->data_start + sizeof(dm_target_spec);
  return std::string(text, strnlen(text, kBufferSize - io->data_start - sizeof(dm_target_spec)));
}

Status dm_remove(const std::string& name) {
  auto b = header(name);
  if (!b) return b.error();
  Status s = dm_ioctl_call(DM_DEV_REMOVE, "DM_DEV_REMOVE", name, *b);
  if (!s && s.error().err == ENXIO) return {};
  return s;
}

Result<DmDevice> dm_create_verity(const std::string& name, const std::string& device, const VerityParams& v,
                                  VerityOnCorruption mode, const std::string& dev_dir) {
  return dm_create(name, "verity", verity_sectors(v), verity_table_params(device, v, mode), dev_dir);
}

Status read_all(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  std::vector<char> buf(256 * 1024);
  uint64_t offset = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path + " at byte " + std::to_string(offset));
    if (n == 0) return {};
    offset += static_cast<uint64_t>(n);
  }
}

}  // namespace strata
