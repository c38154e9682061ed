// libFuzzer: a devices fixture, then the plan for the default config on it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "devices_fixture.h"
#include "plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<strata::Diagnostic> problems;
  strata::Facts facts;
  facts.devices = strata::parse_devices_fixture(text, "fuzz-devices.ini", problems);
  for (const auto& d : facts.devices)
    if (d.path.rfind("/dev/", 0) != 0) abort();

  const strata::BootPlan plan = strata::decide(facts);
  const bool found = strata::find_device(facts.devices, *strata::parse_device_spec(facts.config.root_source));
  if (found != !plan.root_device.empty()) abort();
  if (plan.fatal.empty() && plan.root_fstype.empty()) abort();
  (void)strata::format_plan(plan);
  (void)strata::describe_devices(facts.devices);

  facts.device_wait_timed_out = true;
  facts.device_wait_ms = 10000;
  facts.config.root_image = "/root.img";
  (void)strata::format_plan(strata::decide(facts));
  return 0;
}
