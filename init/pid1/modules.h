// Loads kernel modules from the list the initramfs builder wrote
// (/lib/modules/strata.load; which ones a boot needs: module_plan.h).
// Modules of one level do not depend on each other and load in parallel.
#pragma once

#include <string>
#include <vector>

#include "module_plan.h"
#include "result.h"

namespace strata {

// Loads `modules` (level order); logs each one's time. Returns the failures
// (a module built in or already loaded is not one). Empty: all loaded.
std::vector<std::string> load_modules(const std::vector<ModuleEntry>& modules, const std::string& root = "");

}  // namespace strata
