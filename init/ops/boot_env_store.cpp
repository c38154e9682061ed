// libubootenv behind BootEnvStore: configure the pair, load, get or set the
// strata_* variables, store.
#include "boot_env_store.h"

#include <libuboot.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <utility>

namespace strata {

namespace {

Error sys_error(int err, std::string context) {
  return Error{err, std::move(context)};
}

struct CtxDeleter {
  void operator()(uboot_ctx* c) const {
    libuboot_close(c);
    libuboot_exit(c);
  }
};
using Ctx = std::unique_ptr<uboot_ctx, CtxDeleter>;

// Opens the pair; `loaded` says whether a valid copy was found.
Result<Ctx> open_pair(const std::string& device, bool& loaded) {
  if (::access(device.c_str(), R_OK | W_OK) != 0) return sys_error(errno, "cannot open the bootloader state " + device);
  uboot_env_device devs[2] = {};
  for (int i = 0; i < 2; i++) {
    devs[i].devname = const_cast<char*>(device.c_str());
    devs[i].offset = kBootEnvOffset[i];
    devs[i].envsize = kBootEnvSize;
  }
  uboot_ctx* raw = nullptr;
  if (int r = libuboot_initialize(&raw, devs); r < 0)
    return sys_error(-r, "libubootenv cannot use the bootloader state on " + device);
  Ctx ctx(raw);
  // A negative result here means no copy has a valid CRC: a blank or torn pair.
  loaded = libuboot_open(ctx.get()) >= 0;
  return ctx;
}

}  // namespace

Result<BootEnvReading> BootEnvStore::read() const {
  bool loaded = false;
  auto ctx = open_pair(device_, loaded);
  if (!ctx) return ctx.error();
  BootEnvReading r;
  if (!loaded) {
    r.detail = "no copy of the bootloader state on " + device_ + " has a valid CRC (blank or torn)";
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
    r.detail = "the bootloader state on " + device_ + " is garbled: " + e.error().message();
    return r;
  }
  r.env = *e;
  return r;
}

Status BootEnvStore::write(const BootEnv& e) const {
  bool loaded = false;
  auto ctx = open_pair(device_, loaded);
  if (!ctx) return ctx.error();
  for (const auto& [k, v] : boot_env_vars(e))
    if (int r = libuboot_set_env(ctx->get(), k.c_str(), v.c_str()); r < 0)
      return sys_error(-r, "libubootenv cannot set " + k);
  if (int r = libuboot_env_store(ctx->get()); r < 0)
    return sys_error(-r, "cannot write the bootloader state on " + device_);
  return {};
}

}  // namespace strata
