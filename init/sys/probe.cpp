#include "probe.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "sys.h"
#include "text.h"

namespace strata {
namespace {

void lookup(blkid_probe pr, const char* name, std::string& out) {
  const char* v = nullptr;
  if (blkid_probe_lookup_value(pr, name, &v, nullptr) == 0 && v) out = v;
}

// Why the content of a device cannot be read, or "" when it can: libblkid
// does not tell an I/O error from an unknown filesystem, so read the start
// through: the first 256 KiB hold the superblocks of every filesystem strata
// mounts (squashfs and vfat at 0, ext4, erofs and f2fs at 1 KiB, btrfs at
// 64 KiB). Every empty partition pays this read at each boot.
std::string read_error(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  static char buf[64 << 10];
  std::string why;
  for (int i = 0; i < 4; i++) {  // 256 KiB
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) why = std::strerror(errno);
    if (n <= 0) break;
  }
  ::close(fd);
  return why;
}

// The partition's name in the GPT as the kernel read it (PARTNAME= in
// sysfs): known even when the partition's own content cannot be read.
std::string sysfs_partname(const std::string& path) {
  const std::string uevent = "/sys/class/block/" + path.substr(path.rfind('/') + 1) + "/uevent";
  auto text = sys::read_file(uevent, 4096);
  if (!text) return "";
  for (std::string_view line : split_lines(*text))
    if (line.starts_with("PARTNAME=")) return std::string(line.substr(9));
  return "";
}

}  // namespace

std::optional<SysfsDevice> read_sysfs_device(const std::string& sys_block, const std::string& name,
                                             const std::string& dev_dir) {
  auto uevent = sys::read_file(sys_block + "/" + name + "/uevent", 4096);
  if (!uevent) return std::nullopt;
  SysfsDevice d;
  d.path = dev_dir + "/" + name;
  for (std::string_view line : split_lines(*uevent)) {
    if (line == "DEVTYPE=partition") d.partition = true;
    if (line.starts_with("PARTNAME=")) d.partname = std::string(line.substr(9));
  }
  // 512-byte sectors, whatever the device's own block size.
  if (auto size = sys::read_file(sys_block + "/" + name + "/size", 64))
    d.size = std::strtoull(size->c_str(), nullptr, 10) * 512;
  return d;
}

std::optional<BlockDevice> probe_device(const std::string& path) {
  BlockDevice d;
  d.path = path;
  std::string pttype;  // a whole disk's partition table: read fine, holds no filesystem itself
  if (blkid_probe pr = blkid_new_probe_from_filename(path.c_str())) {
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(pr, 1);
    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
    d.size = static_cast<uint64_t>(blkid_probe_get_size(pr));
    if (blkid_do_safeprobe(pr) == 0) {
      lookup(pr, "TYPE", d.type);
      lookup(pr, "LABEL", d.label);
      lookup(pr, "UUID", d.uuid);
      lookup(pr, "PART_ENTRY_UUID", d.partuuid);
      lookup(pr, "PART_ENTRY_NAME", d.partlabel);
      lookup(pr, "PTTYPE", pttype);
    }
    blkid_free_probe(pr);
  } else if (!sys::exists(path)) {
    return std::nullopt;
  }
  if (!d.type.empty() || !pttype.empty()) return d;
  // No filesystem found: an empty partition, or one that cannot be read (an
  // I/O error). Keep the latter under its partition name, so that the slot
  // or data partition it is is reported as unreadable, not as missing.
  d.unreadable = read_error(path);
  if (d.partlabel.empty()) d.partlabel = sysfs_partname(path);
  return d;
}

}  // namespace strata
