#include "device_wait.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "clock.h"
#include "log.h"
#include "probe.h"
#include "unique_fd.h"

namespace strata {
namespace {

// Replaces what was known of the same path (a change uevent: media arrived).
void add_or_replace(std::vector<BlockDevice>& have, BlockDevice d) {
  for (auto& h : have) {
    if (h.path == d.path) {
      h = std::move(d);
      return;
    }
  }
  have.push_back(std::move(d));
}

void probe_into(DeviceScan& scan, const SysfsDevice& dev) {
  if (auto d = probe_device(dev.path)) {
    // The kernel's name for the partition when libblkid finds no table entry
    // (partitions from the kernel command line, blkdevparts=): probe_order
    // already trusted it.
    if (d->partlabel.empty()) d->partlabel = dev.partname;
    LOGD("probed %s: TYPE=%s LABEL=%s PARTLABEL=%s", d->path.c_str(), d->type.c_str(), d->label.c_str(),
         d->partlabel.c_str());
    add_or_replace(scan.devices, std::move(*d));
    scan.probed++;
  }
}

// Probed devices first in the list (find_device takes the first match).
void sort_probed_first(std::vector<BlockDevice>& have) {
  std::stable_partition(have.begin(), have.end(), [](const BlockDevice& d) { return d.not_probed.empty(); });
}

// A device of 0 sectors holds nothing to find: a loop device with no backing
// file, an empty card reader. Probing it costs an open and libblkid's set-up
// for nothing; when media arrive the kernel sends a change uevent.
bool no_media(const char* sys_block, const char* name) {
  char buf[32] = {};
  UniqueFd fd(::open((std::string(sys_block) + "/" + name + "/size").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  return n > 0 && buf[0] == '0' && (buf[1] == '\n' || buf[1] == '\0');
}

// Subscribes to the kernel's uevents before the scan, so nothing is missed
// between the two.
UniqueFd open_uevent_socket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
  if (!fd.valid()) return fd;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // kernel events
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  int size = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  return fd;
}

// From one uevent message ("add@/devices/...\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=vda1\0..."),
// the device name when it is a block device being added or changed.
std::string block_devname(const char* buf, size_t len) {
  std::string action, subsystem, devname;
  size_t i = 0;
  while (i < len) {
    std::string field(buf + i, strnlen(buf + i, len - i));
    i += field.size() + 1;
    if (field.rfind("ACTION=", 0) == 0)
      action = field.substr(7);
    else if (field.rfind("SUBSYSTEM=", 0) == 0)
      subsystem = field.substr(10);
    else if (field.rfind("DEVNAME=", 0) == 0)
      devname = field.substr(8);
  }
  if (subsystem != "block" || (action != "add" && action != "change")) return "";
  return devname;
}

}  // namespace

DeviceScan wait_for_devices(const std::vector<DeviceSpec>& wanted, int timeout_ms, const std::vector<DeviceSpec>& also,
                            const char* sys_block, const char* dev_dir) {
  DeviceScan scan;
  const int64_t start = monotonic_ms();
  UniqueFd sock = open_uevent_socket();
  if (!sock.valid()) LOGW("cannot listen for kernel uevents (%s); scanning only once", strerror(errno));

  std::vector<DeviceSpec> named = wanted;
  named.insert(named.end(), also.begin(), also.end());
  // What the kernel says about each device, then the ones worth reading, in order.
  std::vector<SysfsDevice> seen;
  if (DIR* d = ::opendir(sys_block)) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (no_media(sys_block, e->d_name)) continue;
      if (auto s = read_sysfs_device(sys_block, e->d_name, dev_dir)) seen.push_back(std::move(*s));
    }
    ::closedir(d);
  }
  std::vector<bool> done(seen.size(), false);
  for (size_t i : probe_order(seen, named)) {
    if (!named.empty() && all_named_found(named, scan.devices)) break;
    probe_into(scan, seen[i]);
    done[i] = true;
  }
  for (size_t i = 0; i < seen.size(); i++) {
    if (done[i]) continue;
    const char* why = probe_need(seen[i], named) == ProbeNeed::kCannot ? kCannotMatch : kAllFound;
    scan.devices.push_back(unprobed_device(seen[i], why));
  }

  while (!all_named_found(wanted, scan.devices)) {
    int64_t left = timeout_ms - (monotonic_ms() - start);
    if (left <= 0 || !sock.valid()) {
      scan.timed_out = true;
      break;
    }
    pollfd pfd{sock.get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // timeout: the loop condition ends it
    char buf[8192];
    for (;;) {
      ssize_t n = ::recv(sock.get(), buf, sizeof buf - 1, 0);
      if (n <= 0) break;
      buf[n] = '\0';
      std::string name = block_devname(buf, static_cast<size_t>(n));
      if (name.empty() || no_media(sys_block, name.c_str())) continue;
      auto dev = read_sysfs_device(sys_block, name, dev_dir);
      if (!dev) continue;
      if (probe_need(*dev, named) == ProbeNeed::kCannot)
        add_or_replace(scan.devices, unprobed_device(*dev, kCannotMatch));
      else
        probe_into(scan, *dev);
    }
  }
  sort_probed_first(scan.devices);
  scan.waited_ms = static_cast<int>(monotonic_ms() - start);
  return scan;
}

}  // namespace strata
