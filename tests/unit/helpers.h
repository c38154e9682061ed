// Small helpers shared by the unit tests.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace strata::test {

// ["a", "b c"] -> "[a][b c]": one string, so a failure shows the whole list.
inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "[" + s + "]";
  return out;
}

// Diagnostics as "where: message" lines.
inline std::string join(const std::vector<Diagnostic>& v) {
  std::string out;
  for (const auto& d : v) out += d.where + ": " + d.message + "\n";
  return out;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace strata::test
