// Kernel command-line parsing: the strata.* words of /proc/cmdline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata {

struct CmdlineWord {
  std::string key;    // the part after "strata.", e.g. "root.source" or "debug"
  std::string value;  // "" for a bare flag such as strata.debug
  bool has_value = false;
};

// Splits a command line into words the way the kernel does: whitespace
// separates, double quotes group (and are removed).
std::vector<std::string> split_cmdline(std::string_view line);

// The strata.* words, in order (later words override earlier ones).
std::vector<CmdlineWord> strata_words(std::string_view line);

}  // namespace strata
