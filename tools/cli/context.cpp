#include "context.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "boot_env_store.h"
#include "cmdline.h"
#include "data_layout.h"
#include "paths.h"
#include "slot_state.h"
#include "sys.h"

namespace cli {

Context load_context() {
  Context c;
  std::string ini, cmdline;
  if (auto f = strata::sys::read_file(strata::paths::kConfigCopy)) ini = *f;
  if (auto f = strata::sys::read_file("/proc/cmdline")) cmdline = *f;
  c.loaded = strata::load_config(ini, strata::paths::kConfigCopy, strata::strata_words(cmdline));
  auto text = strata::sys::read_file(strata::paths::kStatus);
  if (!text) {
    c.status_error = "no boot status (" + text.error().message() + "): was this system booted by strata-init?";
    return c;
  }
  c.status = nlohmann::json::parse(*text, nullptr, false);
  if (c.status.is_discarded() || !c.status.is_object()) {
    c.status = nullptr;
    c.status_error = std::string(strata::paths::kStatus) + " is not valid JSON";
    return c;
  }
  if (!c.status.contains("slots") || !c.status["slots"].is_object()) return c;
  const auto& sl = c.status["slots"];
  const std::string mode = sl.value("mode", "");
  c.mode = mode == "partitions" ? strata::SlotMode::kPartitions
           : mode == "files"    ? strata::SlotMode::kFiles
                                : strata::SlotMode::kNone;
  if (auto b = strata::parse_slot_name(sl.value("booted", ""))) c.booted = *b;
  c.uboot = sl.value("bootloader", "") == "uboot";
  c.bootstate = sl.value("bootstate", "");
  for (int i = 0; i < strata::kSlotCount; i++) {
    const std::string name(1, strata::slot_name(i));
    if (!sl.contains(name) || !sl[name].is_object()) continue;
    c.device[i] = sl[name].value("device", "");
    c.image[i] = sl[name].value("image", "");
    c.boot_device[i] = sl[name].value("boot_device", "");
  }
  return c;
}

strata::SlotStore slot_store(const Context& c) {
  strata::SlotStore store(strata::data::kSlotState);
  store.crash_point = [&c](const std::string& p) { crash_point(c.loaded.config.crash_at, p); };
  if (!c.uboot) return store;
  const std::string dev = c.bootstate;
  store.bootloader_read = [dev](std::string& why) -> std::optional<strata::BootEnv> {
    if (dev.empty()) return why = "the bootloader state's partition was not found at boot", std::nullopt;
    auto r = strata::BootEnvStore(dev).read();
    if (!r) return why = r.error().message(), std::nullopt;
    if (!r->env) why = r->detail;
    return r->env;
  };
  store.bootloader_write = [dev](const strata::BootEnv& e) -> strata::Status {
    if (dev.empty()) return strata::plain_error("the bootloader state's partition was not found at boot");
    return strata::BootEnvStore(dev).write(e);
  };
  return store;
}

void say(const std::string& line) {
  std::fprintf(stderr, "strata: %s\n", line.c_str());
}

int fail(const std::string& line) {
  say(line);
  return 1;
}

void crash_point(const std::string& configured, const std::string& point) {
  if (configured.empty() || configured != point) return;
  // No sync: a power cut keeps only what was made durable.
  const std::string line = "strata: strata.crash_at=" + point + ": waiting for the power cut\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  int kmsg = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (kmsg >= 0) (void)!::write(kmsg, line.data(), line.size()), ::close(kmsg);
  for (;;) ::pause();
}

int reboot_now() {
  std::printf("strata: rebooting\n");
  std::fflush(stdout);
  ::sync();
  const char* argv[] = {"reboot", nullptr};
  ::execv("/sbin/reboot", const_cast<char**>(argv));
  return fail(std::string("cannot run /sbin/reboot (") + std::strerror(errno) + "); reboot by hand");
}

}  // namespace cli
