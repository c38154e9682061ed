// libFuzzer: parse_boot_env, the bootloader state's variables, split from
// the input the way U-Boot's `env import -b` reads its block ("name=value"
// entries ended by \0, the first '=' splits, a later entry wins). Fast: the
// whole read path with libubootenv is fuzz_boot_env_image. What parses must
// go back to the same state through boot_env_vars and the slot record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "boot_env.h"
#include "boot_env_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> vars;
  while (!rest.empty()) {
    const size_t end = rest.find('\0');
    const std::string_view entry = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (entry.empty()) break;  // \0\0 ends the block
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  auto r = strata::parse_boot_env(vars);
  if (!r) {
    if (r.error().message().empty()) abort();  // a rejection says why
    return 0;
  }
  const strata::BootEnv e = *r;
  check_boot_env_invariants(e);
  const strata::SlotState rec = strata::with_boot_env(strata::SlotState{}, e);
  if (!(strata::boot_env_of(rec) == e)) abort();
  if (!strata::boot_env_disagreements(rec, e).empty()) abort();
  return 0;
}
