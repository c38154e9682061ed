// libFuzzer: the module list (/lib/modules/strata.load).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "modules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  const auto modules = strata::parse_module_list(text, errors);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (modules.size() + errors.size() > lines + 1) abort();
  for (const auto& m : modules) {
    if (m.level < 0 || m.path.empty()) abort();
    for (const auto& b : m.needed_by)
      if (b.empty() || b.find(',') != std::string::npos) abort();
  }
  // Storage first, then everything on demand: each module at most once.
  const auto storage = strata::select_modules(modules, {});
  std::set<std::string> loaded;
  for (const auto& m : storage) loaded.insert(m.path);
  const auto rest = strata::select_modules(modules, {"squashfs", "erofs", "loop", "dm-verity", "overlay"}, loaded);
  for (const auto& m : rest)
    if (loaded.count(m.path)) abort();
  for (const auto& e : errors)
    if (e.rfind("module list line ", 0) != 0) abort();
  return 0;
}
