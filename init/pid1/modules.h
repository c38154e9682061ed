// Loads the board's kernel modules from the list the initramfs builder wrote
// (/lib/modules/strata.load: "<level> <path>" lines, dependencies first).
// Modules of one level do not depend on each other and load in parallel.
#pragma once

#include <string>
#include <vector>

#include "result.h"

namespace strata {

struct ModuleEntry {
  int level = 0;
  std::string path;
};

// Pure: parses the list; bad lines are reported in `errors`.
std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<std::string>& errors);

// Loads every module; returns the failures (a module built in or already
// loaded is not one). An empty list means all loaded.
std::vector<std::string> load_modules(const std::vector<ModuleEntry>& modules, const std::string& root = "");

}  // namespace strata
