// libFuzzer: the configuration, from the INI file and from the command line,
// and the plan decided from it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cmdline.h"
#include "config.h"
#include "plan.h"

namespace {

void check(const strata::LoadedConfig& lc) {
  const strata::Config& c = lc.config;
  // Whatever the input, the config in effect is one the setters accept.
  if (c.init.empty() || c.init[0] != '/') abort();
  if (c.reboot_delay_s < 0 || c.reboot_delay_s > 3600) abort();
  if (c.device_timeout_ms < 0 || c.device_timeout_ms > 600000) abort();
  if (!strata::parse_device_spec(c.root_source)) abort();
  if (!c.root_image.empty() && c.root_image[0] != '/') abort();
  for (const auto& b : c.readonly_binds)
    if (b.size() < 2 || b[0] != '/') abort();
  for (const auto& d : lc.diagnostics)
    if (d.where.empty() || d.message.empty()) abort();

  strata::Facts facts;
  facts.config = c;
  facts.diagnostics = lc.diagnostics;
  strata::BlockDevice root;
  root.path = "/dev/vda1";
  root.type = "squashfs";
  root.partlabel = "root-a";
  facts.devices = {root};
  const strata::BootPlan plan = strata::decide(facts);
  if (!lc.diagnostics.empty() && !plan.degraded) abort();  // a config problem always shows
  (void)strata::format_plan(plan);
  (void)strata::required_devices(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(strata::load_config(text, "fuzz.ini", {}));
  check(strata::load_config("", "fuzz.ini", strata::strata_words(text)));
  return 0;
}
