#include "data_image.h"

#include <fcntl.h>
#include <ftw.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sys.h"

namespace systest {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

long g_count = 0;
int count_one(const char*, const struct stat*, int, struct FTW*) {
  g_count++;
  return 0;
}

}  // namespace

std::string make_ext4_image(const std::string& image, int size_mb, long inodes) {
  const std::string log = image + ".mkfs.log";
  const std::string cmd = "mkfs.ext4 -q -F -E nodiscard -L strata-data " +
                          (inodes > 0 ? "-N " + std::to_string(inodes) + " " : std::string()) + shell_quote(image) +
                          " " + std::to_string(size_mb) + "M >" + shell_quote(log) + " 2>&1";
  int st = std::system(cmd.c_str());
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::string out;
    if (FILE* f = std::fopen(log.c_str(), "r")) {
      char buf[512];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
      std::fclose(f);
    }
    return "mkfs.ext4 failed: " + cmd + "\n" + out;
  }
  ::unlink(log.c_str());
  return "";
}

strata::Result<strata::LoopDevice> attach_loop_rw(const std::string& image) {
  strata::UniqueFd backing(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing.valid()) return strata::errno_error("open " + image);
  strata::UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) return strata::errno_error("open /dev/loop-control");
  for (int attempt = 0; attempt < 8; attempt++) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return strata::errno_error("LOOP_CTL_GET_FREE");
    strata::LoopDevice dev;
    dev.path = "/dev/loop" + std::to_string(n);
    dev.fd = strata::UniqueFd(::open(dev.path.c_str(), O_RDWR | O_CLOEXEC));
    if (!dev.fd.valid()) return strata::errno_error("open " + dev.path);
    loop_config cfg{};
    cfg.fd = static_cast<__u32>(backing.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(dev.fd.get(), LOOP_CONFIGURE, &cfg) == 0) return dev;
    if (errno != EBUSY) return strata::errno_error("LOOP_CONFIGURE " + image + " on " + dev.path);
  }
  return strata::plain_error("no free loop device for " + image);
}

std::string setup_data_disk(DataDisk& d, const std::string& image, const std::string& mnt, int size_mb, long inodes) {
  d.image = image;
  d.mnt = mnt;
  if (auto e = make_ext4_image(image, size_mb, inodes); !e.empty()) return e;
  auto loop = attach_loop_rw(image);
  if (!loop) return loop.error().message();
  d.loop = std::move(*loop);
  if (std::system(("mkdir -p " + shell_quote(mnt)).c_str()) != 0) return "mkdir -p " + mnt;
  if (::mount(d.loop.path.c_str(), mnt.c_str(), "ext4", MS_NOATIME, nullptr) != 0)
    return "mount " + d.loop.path + " on " + mnt + ": " + strerror(errno);
  return "";
}

std::string remount_data_disk(const DataDisk& d) {
  if (::umount(d.mnt.c_str()) != 0) return "umount " + d.mnt + ": " + strerror(errno);
  if (::mount(d.loop.path.c_str(), d.mnt.c_str(), "ext4", MS_NOATIME, nullptr) != 0)
    return "mount " + d.loop.path + " on " + d.mnt + ": " + strerror(errno);
  return "";
}

std::string make_tree(const std::string& dir, long count, long per_dir) {
  if (auto s = strata::sys::mkdir_p(dir); !s) return s.error().message();
  std::string sub;
  for (long i = 0; i < count; i++) {
    if (i % per_dir == 0) {
      char name[32];
      std::snprintf(name, sizeof name, "/d%04ld", i / per_dir);
      sub = dir + name;
      if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) return "mkdir " + sub + ": " + strerror(errno);
    }
    const std::string file = sub + "/f" + std::to_string(i);
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return "create " + file + ": " + strerror(errno);
    ::close(fd);
  }
  return "";
}

long count_entries(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return -1;
  g_count = 0;
  if (::nftw(dir.c_str(), count_one, 64, FTW_PHYS | FTW_MOUNT) != 0) return -1;
  return g_count - 1;
}

}  // namespace systest
