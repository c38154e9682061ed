// libubootenv behind BootEnvStore. The device's two copies are read with
// pread into an image in a memory file, which libubootenv loads, changes and
// stores; strata writes back the one copy that changed. So libubootenv keeps
// the format (CRC, flags, variables) and strata the I/O on the device, with
// a message for each copy that fails.
#include "boot_env_store.h"

#include <fcntl.h>
#include <libuboot.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "unique_fd.h"

namespace strata {

namespace {

struct CtxDeleter {
  void operator()(uboot_ctx* c) const {
    libuboot_close(c);
    libuboot_exit(c);
  }
};
using Ctx = std::unique_ptr<uboot_ctx, CtxDeleter>;

std::string copy_word(int i) {
  return "copy " + std::to_string(i);
}

// A memory file holding `image`.
Result<UniqueFd> memory_file(const std::string& image) {
  UniqueFd fd(::memfd_create("strata-bootstate", MFD_CLOEXEC));
  if (fd.get() < 0) return errno_error("memfd_create for the bootloader state");
  if (::pwrite(fd.get(), image.data(), image.size(), 0) != static_cast<ssize_t>(image.size()))
    return errno_error("write the bootloader state into a memory file");
  return fd;
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// libubootenv on the memory file; `loaded`: a valid copy was found.
Result<Ctx> open_pair(const std::string& path, const std::string& where, bool& loaded) {
  uboot_env_device devs[2] = {};
  for (int i = 0; i < 2; i++) {
    devs[i].devname = const_cast<char*>(path.c_str());
    devs[i].offset = kBootEnvOffset[i];
    devs[i].envsize = kBootEnvSize;
  }
  uboot_ctx* raw = nullptr;
  if (int r = libuboot_initialize(&raw, devs); r < 0)
    return Error{-r, "libubootenv cannot use the bootloader state on " + where};
  Ctx ctx(raw);
  // A negative result here means no copy has a valid CRC: a blank or torn pair.
  loaded = libuboot_open(ctx.get()) >= 0;
  return ctx;
}

Result<std::string> read_fd(int fd, size_t size) {
  std::string out(size, '\0');
  if (::pread(fd, out.data(), size, 0) != static_cast<ssize_t>(size)) return errno_error("read a memory file");
  return out;
}

// Reads both copies into an image; an unreadable copy stays zeros, `why[i]` says why.
Result<std::string> read_image(int dev, const std::string& device, std::string why[2]) {
  std::string image(kBootEnvImageSize, '\0');
  for (int i = 0; i < 2; i++) {
    const ssize_t n = ::pread(dev, image.data() + kBootEnvOffset[i], kBootEnvSize, kBootEnvOffset[i]);
    if (n == static_cast<ssize_t>(kBootEnvSize)) continue;
    const int err = n < 0 ? errno : EIO;
    std::memset(image.data() + kBootEnvOffset[i], 0, kBootEnvSize);
    why[i] = copy_word(i) + " of the bootloader state on " + device + " cannot be read (" + std::strerror(err) + ")";
  }
  return image;
}

}  // namespace

Result<BootEnvReading> parse_boot_env_image(const std::string& image, const std::string& where) {
  if (image.size() != kBootEnvImageSize) return plain_error("the bootloader state image has the wrong size");
  auto mem = memory_file(image);
  if (!mem) return mem.error();
  const std::string path = fd_path(mem->get());
  bool loaded = false;
  auto ctx = open_pair(path, where, loaded);
  if (!ctx) return ctx.error();
  BootEnvReading r;
  if (!loaded) {
    r.detail = "no copy of the bootloader state on " + where + " has a valid CRC (blank or torn)";
    return r;
  }
  std::map<std::string, std::string> vars;
  for (const char* k : {kBootEnvOrder, kBootEnvStatus[0], kBootEnvStatus[1], kBootEnvTries[0], kBootEnvTries[1]}) {
    if (char* v = libuboot_get_env(ctx->get(), k)) {
      vars[k] = v;
      std::free(v);
    }
  }
  auto e = parse_boot_env(vars);
  if (!e) {
    r.detail = "the bootloader state on " + where + " is garbled: " + e.error().message();
    return r;
  }
  r.env = *e;
  return r;
}

Result<BootEnvReading> BootEnvStore::read() const {
  UniqueFd dev(::open(device_.c_str(), O_RDONLY | O_CLOEXEC));
  if (dev.get() < 0) return errno_error("cannot open the bootloader state " + device_);
  std::string why[2];
  auto image = read_image(dev.get(), device_, why);
  if (!image) return image.error();
  auto r = parse_boot_env_image(*image, device_);
  if (!r) return r;
  if (!why[0].empty() && !why[1].empty()) {
    r->detail = why[0] + "; " + why[1];
  } else if (!why[0].empty() || !why[1].empty()) {
    const std::string& w = why[0].empty() ? why[1] : why[0];
    if (r->env)
      r->warning = w + ": the other copy is used";
    else
      r->detail = w + "; " + r->detail;
  }
  return r;
}

Status BootEnvStore::write(const BootEnv& e) const {
  UniqueFd dev(::open(device_.c_str(), O_RDWR | O_CLOEXEC));
  if (dev.get() < 0) return errno_error("cannot open the bootloader state " + device_);
  std::string why[2];
  auto image = read_image(dev.get(), device_, why);
  if (!image) return image.error();
  auto mem = memory_file(*image);
  if (!mem) return mem.error();
  {
    bool loaded = false;
    auto ctx = open_pair(fd_path(mem->get()), device_, loaded);
    if (!ctx) return ctx.error();
    for (const auto& [k, v] : boot_env_vars(e))
      if (int r = libuboot_set_env(ctx->get(), k.c_str(), v.c_str()); r < 0)
        return Error{-r, "libubootenv cannot set " + k};
    if (int r = libuboot_env_store(ctx->get()); r < 0)
      return Error{-r, "libubootenv cannot store the bootloader state for " + device_};
  }
  auto after = read_fd(mem->get(), kBootEnvImageSize);
  if (!after) return after.error();
  // libubootenv wrote one copy: the one not read.
  int copy = -1;
  for (int i = 0; i < 2; i++)
    if (after->compare(kBootEnvOffset[i], kBootEnvSize, *image, kBootEnvOffset[i], kBootEnvSize) != 0) copy = i;
  if (copy < 0) return {};  // nothing changed
  const std::string what = copy_word(copy) + " of the bootloader state on " + device_;
  const char* bytes = after->data() + kBootEnvOffset[copy];
  if (::pwrite(dev.get(), bytes, kBootEnvSize, kBootEnvOffset[copy]) != static_cast<ssize_t>(kBootEnvSize))
    return errno_error("cannot write " + what + " (the other copy is unchanged)");
  if (::fdatasync(dev.get()) != 0) return errno_error("cannot flush " + what + " (the other copy is unchanged)");
  // Read back past the page cache (O_DIRECT; files on tmpfs refuse it: the
  // cache dropped instead), so what U-Boot will read is what is checked.
  UniqueFd direct(::open(device_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT));
  int rfd = direct.get();
  if (rfd < 0) {
    if (errno != EINVAL) return errno_error("cannot read back " + what);
    (void)::posix_fadvise(dev.get(), kBootEnvOffset[copy], kBootEnvSize, POSIX_FADV_DONTNEED);
    rfd = dev.get();
  }
  std::unique_ptr<char, decltype(&std::free)> back(static_cast<char*>(std::aligned_alloc(4096, kBootEnvSize)),
                                                   &std::free);
  if (!back) return plain_error("cannot read back " + what + ": out of memory");
  if (::pread(rfd, back.get(), kBootEnvSize, kBootEnvOffset[copy]) != static_cast<ssize_t>(kBootEnvSize))
    return errno_error("cannot read back " + what + " after writing it (the other copy is unchanged and still counts)");
  if (std::memcmp(back.get(), bytes, kBootEnvSize) != 0)
    return plain_error(what + " reads back different from what was written (the other copy is unchanged)");
  return {};
}

}  // namespace strata
