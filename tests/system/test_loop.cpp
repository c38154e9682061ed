// attach_loop(): read-only, autoclear, a free device each time, and errors
// that name the file.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstring>

#include "harness.h"
#include "loop_device.h"

using namespace systest;

TEST_GROUP(Loop){};

TEST(Loop, AttachIsReadOnlyAutoclearAndBackedByTheImage) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    auto dev = attach_or_fail(f.squashfs);
    const std::string name = loop_name(dev.path);
    SYS_CHECK_MSG(dev.path == "/dev/" + name && name.rfind("loop", 0) == 0, dev.path);
    SYS_CHECK(dev.fd.valid());

    int ro = -1;
    SYS_CHECK(::ioctl(dev.fd.get(), BLKROGET, &ro) == 0);
    SYS_EQ(1, ro);
    loop_info64 info{};
    SYS_CHECK(::ioctl(dev.fd.get(), LOOP_GET_STATUS64, &info) == 0);
    SYS_CHECK(info.lo_flags & LO_FLAGS_READ_ONLY);
    SYS_CHECK(info.lo_flags & LO_FLAGS_AUTOCLEAR);
    // lo_file_name holds the name given at attach time, cut to LO_NAME_SIZE.
    SYS_EQ(f.squashfs.substr(0, LO_NAME_SIZE - 1), std::string(reinterpret_cast<const char*>(info.lo_file_name)));
    struct stat st {};
    SYS_CHECK(::stat(f.squashfs.c_str(), &st) == 0);
    SYS_EQ(static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(info.lo_inode));
    SYS_EQ(f.squashfs + "\n", read_text("/sys/block/" + name + "/loop/backing_file"));
    note(std::string("loop direct I/O: ") + ((info.lo_flags & LO_FLAGS_DIRECT_IO) ? "on" : "off"));

    // Writes to the device fail (the block layer refuses them on a read-only device).
    {
      int wfd = ::open(dev.path.c_str(), O_WRONLY | O_CLOEXEC);
      if (wfd < 0) {
        note(std::string("open O_WRONLY refused: ") + strerror(errno));
      } else {
        char zero[512] = {};
        ssize_t n = ::pwrite(wfd, zero, sizeof zero, 1 << 20);
        int e = errno;
        ::close(wfd);
        SYS_CHECK_MSG(n < 0, "wrote " + std::to_string(n) + " bytes to a read-only loop device");
        note(std::string("write to the device refused: ") + strerror(e));
      }
    }

    // It mounts, and stays attached while mounted even with our fd closed.
    const std::string mnt = c.scratch + "/mnt";
    SYS_CHECK(::mkdir(mnt.c_str(), 0755) == 0);
    SYS_CHECK(::mount(dev.path.c_str(), mnt.c_str(), "squashfs", MS_RDONLY, nullptr) == 0);
    dev.fd.reset();
    ::usleep(100 * 1000);
    SYS_CHECK_MSG(loop_attached(name), name + " detached while still mounted");
    SYS_EQ(std::string("lower\n"), read_text(mnt + "/etc/marker"));
    // Autoclear: unmounted and no fd open, the device is free again.
    SYS_CHECK(::umount2(mnt.c_str(), 0) == 0);
    SYS_CHECK_MSG(wait_loop_free(name), name + " still attached after the last user went");
  });
}

TEST(Loop, ClosingTheFdFreesAnUnmountedDevice) {
  const auto& f = fixtures();
  run_isolated([&](Ctx&) {
    auto dev = attach_or_fail(f.erofs);
    const std::string name = loop_name(dev.path);
    SYS_CHECK(loop_attached(name));
    dev.fd.reset();
    SYS_CHECK_MSG(wait_loop_free(name), name + " still attached after its only fd was closed");
  });
}

TEST(Loop, TwoAttachesGetTwoDevices) {
  const auto& f = fixtures();
  run_isolated([&](Ctx&) {
    auto a = attach_or_fail(f.squashfs);
    auto b = attach_or_fail(f.squashfs);
    SYS_CHECK_MSG(a.path != b.path, a.path + " twice");
    SYS_CHECK(loop_attached(loop_name(a.path)) && loop_attached(loop_name(b.path)));
  });
}

TEST(Loop, MissingImageErrorNamesTheFile) {
  run_isolated([&](Ctx& c) {
    const std::string missing = c.scratch + "/no-such-image.squashfs";
    auto r = strata::attach_loop(missing);
    SYS_CHECK(!r.ok());
    SYS_EQ(ENOENT, r.error().err);
    SYS_CHECK_MSG(r.error().message().find(missing) != std::string::npos, r.error().message());
  });
}

TEST(Loop, MissingLoopControlErrorNamesIt) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    auto r = strata::attach_loop(f.squashfs, c.scratch);  // no loop-control there
    SYS_CHECK(!r.ok());
    SYS_CHECK_MSG(r.error().message().find(c.scratch + "/loop-control") != std::string::npos, r.error().message());
  });
}
