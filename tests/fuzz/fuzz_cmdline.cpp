// libFuzzer: split_cmdline and strata_words on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto words = strata::split_cmdline(line);

  // Quotes are always removed, so quoting every word and splitting again
  // must give the same words back.
  std::string requoted;
  for (const auto& w : words) {
    if (w.find('"') != std::string::npos || w.find('\0') != std::string::npos) abort();
    requoted += "\"" + w + "\" ";
  }
  if (strata::split_cmdline(requoted) != words) abort();

  const auto sw = strata::strata_words(line);
  if (sw.size() > words.size()) abort();
  for (const auto& w : sw) {
    if (w.key.empty()) abort();
    if (w.key.find('=') != std::string::npos) abort();
    if (!w.has_value && !w.value.empty()) abort();
  }
  return 0;
}
