// The device-mapper module on a real kernel: a verity device over a loop
// device holding a squashfs with its hash tree (veritysetup, at test time),
// reads through it, and a flipped byte that makes reads fail with EIO.
// Needs device-mapper and dm-verity in the host's kernel: where they are
// missing the tests say so and pass without checking (QEMU covers them).
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "device_mapper.h"
#include "harness.h"
#include "verity.h"

using namespace systest;

namespace {

// "" when the kernel has device-mapper with a verity target, else why not.
std::string dm_missing() {
  if (read_text("/proc/misc").find("device-mapper") == std::string::npos) {
    sh("modprobe dm-verity >/dev/null 2>&1");
    if (read_text("/proc/misc").find("device-mapper") == std::string::npos)
      return "no device-mapper in this kernel (/proc/misc)";
  }
  if (!path_exists("/dev/mapper/control")) {
    // /proc/misc: "236 device-mapper" (major 10).
    const std::string misc = read_text("/proc/misc");
    size_t at = misc.find(" device-mapper");
    size_t start = misc.rfind('\n', at);
    int minor_no = std::stoi(misc.substr(start == std::string::npos ? 0 : start + 1));
    ::mkdir("/dev/mapper", 0755);
    if (::mknod("/dev/mapper/control", S_IFCHR | 0600, makedev(10, minor_no)) != 0)
      return std::string("cannot make /dev/mapper/control: ") + strerror(errno);
  }
  return "";
}

// Copies the squashfs fixture and appends a hash tree as tools/mkrootfs does.
strata::VerityParams make_verity_image(const std::string& image) {
  const auto& f = fixtures();
  SYS_EQ(0, sh("cp " + quote(f.squashfs) + " " + quote(image)));
  struct stat st {};
  SYS_CHECK(::stat(image.c_str(), &st) == 0);
  const uint64_t blocks = (static_cast<uint64_t>(st.st_size) + 4095) / 4096;
  SYS_CHECK(::truncate(image.c_str(), static_cast<off_t>(blocks * 4096)) == 0);
  const std::string out = image + ".out";
  const std::string salt(64, 'a');
  SYS_EQ(0, sh("veritysetup format " + quote(image) + " " + quote(image) +
               " --no-superblock --hash=sha256 --data-block-size=4096 --hash-block-size=4096 --data-blocks=" +
               std::to_string(blocks) + " --hash-offset=" + std::to_string(blocks * 4096) + " --salt=" + salt + " >" +
               quote(out)));
  std::string text = read_text(out);
  size_t at = text.find("Root hash:");
  SYS_CHECK_MSG(at != std::string::npos, text);
  std::string root = text.substr(at + 10);
  root.erase(0, root.find_first_not_of(" \t"));
  root = root.substr(0, 64);
  auto v = strata::parse_verity("sha256 4096 4096 " + std::to_string(blocks) + " " + std::to_string(blocks) + " " +
                                root + " " + salt);
  SYS_OK(v);
  return *v;
}

// Flips one byte of the device under the verity target and drops every cache
// that could still hold the good copy.
void flip_byte(const std::string& loop_dev, off_t offset, const std::string& dm_dev) {
  int fd = ::open(loop_dev.c_str(), O_RDWR | O_CLOEXEC);
  SYS_CHECK_MSG(fd >= 0, strerror(errno));
  char c = 0;
  SYS_EQ(1L, static_cast<long>(::pread(fd, &c, 1, offset)));
  c = static_cast<char>(c ^ 0x55);
  SYS_EQ(1L, static_cast<long>(::pwrite(fd, &c, 1, offset)));
  SYS_CHECK(::fsync(fd) == 0);
  SYS_CHECK(::ioctl(fd, BLKFLSBUF, 0) == 0);
  ::close(fd);
  int dfd = ::open(dm_dev.c_str(), O_RDONLY | O_CLOEXEC);
  SYS_CHECK(dfd >= 0);
  SYS_CHECK(::ioctl(dfd, BLKFLSBUF, 0) == 0);
  ::close(dfd);
}

}  // namespace

TEST_GROUP(DmVerity){};

TEST(DmVerity, DeviceFromARealImageReadsAndMounts) {
  const auto& f = fixtures();
  (void)f;
  run_isolated([&](Ctx& c) {
    if (std::string why = dm_missing(); !why.empty()) return note("skipped: " + why);
    const std::string image = c.scratch + "/root.img";
    auto v = make_verity_image(image);
    RwLoop loop = attach_rw(image);
    auto dm = strata::dm_create_verity("strata-test-verity", loop.path, v, strata::VerityOnCorruption::kEio);
    SYS_OK(dm);
    SYS_OK(strata::read_all(dm->path));
    auto st = strata::dm_status("strata-test-verity");
    SYS_OK(st);
    SYS_EQ(std::string("V"), *st);
    const std::string mnt = c.scratch + "/mnt";
    SYS_CHECK(::mkdir(mnt.c_str(), 0755) == 0);
    SYS_CHECK_MSG(::mount(dm->path.c_str(), mnt.c_str(), "squashfs", MS_RDONLY, nullptr) == 0, strerror(errno));
    SYS_CHECK(path_exists(mnt + "/etc/factory"));
    SYS_CHECK(::umount(mnt.c_str()) == 0);
    SYS_OK(strata::dm_remove("strata-test-verity"));
    SYS_OK(strata::dm_remove("strata-test-verity"));  // gone: still done
  });
}

TEST(DmVerity, AFlippedByteFailsReadsWithEio) {
  run_isolated([&](Ctx& c) {
    if (std::string why = dm_missing(); !why.empty()) return note("skipped: " + why);
    const std::string image = c.scratch + "/root.img";
    auto v = make_verity_image(image);
    RwLoop loop = attach_rw(image);
    auto dm = strata::dm_create_verity("strata-test-flip", loop.path, v, strata::VerityOnCorruption::kEio);
    SYS_OK(dm);
    // A byte in the last data block: the error names that block's offset.
    const off_t offset = static_cast<off_t>((v.data_blocks - 1) * 4096 + 100);
    flip_byte(loop.path, offset, dm->path);
    strata::Status s = strata::read_all(dm->path);
    SYS_CHECK_MSG(!s.ok(), "read a corrupt block without an error");
    SYS_EQ(EIO, s.error().err);
    note(s.error().message());
    auto st = strata::dm_status("strata-test-flip");
    SYS_OK(st);
    SYS_EQ(std::string("C"), *st);
    SYS_OK(strata::dm_remove("strata-test-flip"));
  });
}

TEST(DmVerity, AWrongRootHashIsRefusedOnRead) {
  run_isolated([&](Ctx& c) {
    if (std::string why = dm_missing(); !why.empty()) return note("skipped: " + why);
    const std::string image = c.scratch + "/root.img";
    auto v = make_verity_image(image);
    v.root_hash[0] = v.root_hash[0] == '0' ? '1' : '0';
    RwLoop loop = attach_rw(image);
    auto dm = strata::dm_create_verity("strata-test-wrong", loop.path, v, strata::VerityOnCorruption::kEio);
    SYS_OK(dm);
    strata::Status s = strata::read_all(dm->path);
    SYS_CHECK(!s.ok());
    SYS_OK(strata::dm_remove("strata-test-wrong"));
  });
}

TEST(DmVerity, BadNamesAreRefusedBeforeAnyIoctl) {
  auto s = strata::dm_remove("a/b");
  CHECK(!s.ok());
  STRCMP_CONTAINS("has a '/'", s.error().message().c_str());
  auto d = strata::dm_create(std::string(200, 'x'), "verity", 8, "");
  CHECK(!d.ok());
}
