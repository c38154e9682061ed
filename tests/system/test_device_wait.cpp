// wait_for_devices(): a device that appears while waiting (a loop device
// attached from another thread) is found through kernel uevents; one that
// never appears times out; a device without media is not probed; only the
// devices the config can name are probed.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "device_spec.h"
#include "device_wait.h"
#include "harness.h"
#include "loop_device.h"
#include "probe_order.h"
#include "sys.h"
#include "unique_fd.h"

using namespace systest;

namespace {

// A label no other device has: ext4 labels are at most 16 bytes.
std::string unique_label(const char* prefix) {
  char buf[17];
  snprintf(buf, sizeof buf, "%s%x%03lx", prefix, static_cast<unsigned>(::getpid()) & 0xffffu,
           static_cast<unsigned long>(now_ms()) & 0xfffu);
  return buf;
}

// Our own uevent listener, to report whether the kernel delivers uevents here.
strata::UniqueFd listen_uevents() {
  strata::UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
  if (!fd.valid()) return fd;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return strata::UniqueFd();
  return fd;
}

// True when a uevent for block device `name` was received.
bool saw_block_uevent(int fd, const std::string& name) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return false;
    buf[n] = '\0';
    std::string subsystem, devname;
    for (size_t i = 0; i < static_cast<size_t>(n);) {
      std::string field(buf + i);
      i += field.size() + 1;
      if (field.rfind("SUBSYSTEM=", 0) == 0) subsystem = field.substr(10);
      if (field.rfind("DEVNAME=", 0) == 0) devname = field.substr(8);
    }
    if (subsystem == "block" && devname == name) return true;
  }
}

}  // namespace

TEST_GROUP(DeviceWait){};

TEST(DeviceWait, FindsALabelThatAppearsWhileWaiting) {
  run_isolated([&](Ctx& c) {
    const std::string label = unique_label("stw");
    const std::string image = c.scratch + "/late.ext4";
    SYS_EQ(0, sh("mkfs.ext4 -q -F -L " + label + " " + quote(image) + " 4M >/dev/null 2>&1"));
    auto spec = strata::parse_device_spec("LABEL=" + label);
    SYS_CHECK(spec.has_value());
    strata::UniqueFd events = listen_uevents();

    std::mutex mu;
    strata::LoopDevice dev;
    std::string attach_error;
    long attached_at = 0;
    const long start = now_ms();
    std::thread attacher([&] {
      ::usleep(300 * 1000);
      auto r = strata::attach_loop(image);
      std::lock_guard<std::mutex> lock(mu);
      attached_at = now_ms() - start;
      if (r)
        dev = std::move(*r);
      else
        attach_error = r.error().message();
    });
    strata::DeviceScan scan = strata::wait_for_devices({*spec}, 5000);
    attacher.join();

    SYS_CHECK_MSG(attach_error.empty(), attach_error);
    note("attached " + dev.path + " at " + std::to_string(attached_at) + " ms; wait returned after " +
         std::to_string(scan.waited_ms) + " ms");
    SYS_CHECK_MSG(!scan.timed_out, "timed out after " + std::to_string(scan.waited_ms) + " ms");
    SYS_CHECK_MSG(scan.waited_ms >= 250, std::to_string(scan.waited_ms) + " ms: found before it was attached?");
    SYS_CHECK(scan.waited_ms < 5000);
    const strata::BlockDevice* found = strata::find_device(scan.devices, *spec);
    SYS_CHECK_MSG(found != nullptr, strata::describe_devices(scan.devices));
    SYS_EQ(dev.path, found->path);
    SYS_EQ(label, found->label);
    SYS_EQ(std::string("ext4"), found->type);

    if (!events.valid()) {
      note("uevents: cannot open a NETLINK_KOBJECT_UEVENT socket here");
    } else {
      bool seen = saw_block_uevent(events.get(), loop_name(dev.path));
      note(std::string("uevents: ") + (seen ? "delivered (block uevent for " + loop_name(dev.path) + " seen)"
                                            : "NOT seen for " + loop_name(dev.path)));
      SYS_CHECK_MSG(seen, "the kernel sent no uevent for the new loop device; the wait cannot have used one");
    }
  });
}

TEST(DeviceWait, TimesOutForALabelThatNeverAppears) {
  run_isolated([&](Ctx&) {
    auto spec = strata::parse_device_spec("LABEL=" + unique_label("never"));
    SYS_CHECK(spec.has_value());
    const long t0 = now_ms();
    strata::DeviceScan scan = strata::wait_for_devices({*spec}, 300);
    const long elapsed = now_ms() - t0;
    SYS_CHECK(scan.timed_out);
    SYS_CHECK_MSG(scan.waited_ms >= 300, std::to_string(scan.waited_ms));
    SYS_CHECK_MSG(elapsed < 2000, std::to_string(elapsed) + " ms");
    SYS_CHECK(strata::find_device(scan.devices, *spec) == nullptr);
  });
}

TEST(DeviceWait, SkipsDevicesWithoutMedia) {
  run_isolated([&](Ctx& c) {
    // One device with media, which the scan must probe...
    const std::string label = unique_label("med");
    const std::string image = c.scratch + "/media.ext4";
    SYS_EQ(0, sh("mkfs.ext4 -q -F -L " + label + " " + quote(image) + " 4M >/dev/null 2>&1"));
    auto with_media = strata::attach_loop(image);
    SYS_CHECK_MSG(with_media.ok(), with_media.ok() ? "" : with_media.error().message());
    // ...and a free loop device: it exists, with no backing file and 0 sectors.
    strata::UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    SYS_CHECK_MSG(control.valid(), std::string("/dev/loop-control: ") + strerror(errno));
    const int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    SYS_CHECK_MSG(n >= 0, std::string("LOOP_CTL_GET_FREE: ") + strerror(errno));
    const std::string name = "loop" + std::to_string(n);
    auto size = strata::sys::read_file("/sys/class/block/" + name + "/size");
    SYS_CHECK_MSG(size.ok(), "no /sys/class/block/" + name);
    SYS_EQ(std::string("0\n"), *size);
    strata::DeviceScan scan = strata::wait_for_devices({}, 0);
    for (const auto& d : scan.devices) SYS_CHECK_MSG(d.path != "/dev/" + name, "probed the empty " + d.path);
    auto spec = strata::parse_device_spec("LABEL=" + label);
    SYS_CHECK(spec.has_value());
    const strata::BlockDevice* found = strata::find_device(scan.devices, *spec);
    SYS_CHECK_MSG(found != nullptr, strata::describe_devices(scan.devices));
    SYS_EQ(with_media->path, found->path);
  });
}

// The probe decision (probe_order.h) on real libblkid probes: a sysfs tree
// made here describes a disk with GPT partitions (uevent DEVTYPE=partition,
// PARTNAME=), each "device" an ext4 image file libblkid reads like a block
// device. Only what can be a configured name is read; the rest is listed as
// seen, not probed.
namespace {

void fake_block(const std::string& scratch, const std::string& name, const std::string& partname,
                const std::string& label) {
  const std::string sys = scratch + "/sys/" + name;
  SYS_EQ(0, sh("mkdir -p " + quote(sys) + " " + quote(scratch + "/dev")));
  std::string uevent = "MAJOR=7\nMINOR=1\nDEVNAME=" + name + "\n";
  uevent += partname.empty() ? "DEVTYPE=disk\n" : "DEVTYPE=partition\nPARTN=1\nPARTNAME=" + partname + "\n";
  SYS_CHECK(strata::sys::write_file(sys + "/uevent", uevent).ok());
  SYS_CHECK(strata::sys::write_file(sys + "/size", "8192\n").ok());
  const std::string image = scratch + "/dev/" + name;
  SYS_EQ(0, sh("mkfs.ext4 -q -F -L " + label + " " + quote(image) + " 4M >/dev/null 2>&1"));
}

const strata::BlockDevice* by_path(const strata::DeviceScan& scan, const std::string& path) {
  for (const auto& d : scan.devices)
    if (d.path == path) return &d;
  return nullptr;
}

}  // namespace

TEST(DeviceWait, ProbesOnlyTheDevicesTheConfigCanName) {
  run_isolated([&](Ctx& c) {
    fake_block(c.scratch, "fda", "", "whole");
    fake_block(c.scratch, "fda1", "root-a", "rootfs");
    fake_block(c.scratch, "fda2", "root-b", "data");  // LABEL=data, though named like another slot
    fake_block(c.scratch, "fda3", "data", "data");
    const std::string sys = c.scratch + "/sys", dev = c.scratch + "/dev";

    // PARTLABEL=root-a: sysfs names the one partition it can be; nothing else is read.
    auto root = strata::parse_device_spec("PARTLABEL=root-a");
    strata::DeviceScan scan = strata::wait_for_devices({*root}, 0, {}, sys.c_str(), dev.c_str());
    SYS_CHECK_MSG(!scan.timed_out, strata::describe_devices(scan.devices));
    SYS_EQ(size_t{1}, scan.probed);
    SYS_EQ(size_t{4}, scan.devices.size());
    const strata::BlockDevice* found = strata::find_device(scan.devices, *root);
    SYS_CHECK_MSG(found != nullptr, strata::describe_devices(scan.devices));
    SYS_EQ(dev + "/fda1", found->path);
    SYS_EQ(std::string("ext4"), found->type);  // probed: libblkid read the superblock
    SYS_EQ(std::string("rootfs"), found->label);
    for (const char* other : {"/fda", "/fda2", "/fda3"}) {
      const strata::BlockDevice* d = by_path(scan, dev + other);
      SYS_CHECK_MSG(d != nullptr, std::string(other) + " not listed:\n" + strata::describe_devices(scan.devices));
      SYS_EQ(std::string(strata::kCannotMatch), d->not_probed);
      SYS_EQ(std::string(""), d->type);
      SYS_EQ(std::string(""), d->label);
    }
    SYS_EQ(std::string("root-b"), by_path(scan, dev + "/fda2")->partlabel);  // what sysfs said is kept

    // LABEL=data: only a superblock tells. The partition named "data" goes
    // first and the scan stops there: the slot partition that also says
    // LABEL=data is never read, and the whole disk neither.
    auto data = strata::parse_device_spec("LABEL=data");
    scan = strata::wait_for_devices({*root}, 0, {*data}, sys.c_str(), dev.c_str());
    SYS_EQ(size_t{2}, scan.probed);
    found = strata::find_device(scan.devices, *data);
    SYS_CHECK_MSG(found != nullptr, strata::describe_devices(scan.devices));
    SYS_EQ(dev + "/fda3", found->path);
    SYS_EQ(std::string(strata::kAllFound), by_path(scan, dev + "/fda2")->not_probed);
    SYS_EQ(std::string(strata::kAllFound), by_path(scan, dev + "/fda")->not_probed);
  });
}
