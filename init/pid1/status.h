// /run/strata/status: what this boot did, as JSON, for `strata status` and
// for people. Written just before the switch of root.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "execute.h"
#include "plan.h"

namespace strata {

struct BootReport {
  const BootPlan* plan = nullptr;
  std::vector<StageTime> stages;
  std::vector<std::string> warnings;  // beyond the plan's own
  std::string loop_device;
  std::string verity_device;  // /dev/dm-N when the lower is read through dm-verity
  int attempts = 1;
  std::vector<std::string> actions;  // what was done to the data partition
  std::vector<BindOutcome> binds;    // configured binds and persistent paths: made or skipped
};

std::string status_json(const BootReport& report);

}  // namespace strata
