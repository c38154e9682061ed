#include "status.h"

#include <nlohmann/json.hpp>

namespace strata {

std::string status_json(const BootReport& r) {
  const BootPlan& p = *r.plan;
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["mode"] = p.upper_mode == UpperMode::kNone ? "lower-only" : "overlay";
  j["lower"] = {{"source", p.root_spec}, {"device", p.root_device}, {"fstype", p.root_fstype}};
  if (!p.image.empty()) {
    j["lower"]["image"] = p.image;
    j["lower"]["loop"] = r.loop_device;
  }
  j["upper"] = {{"mode", to_string(p.upper_mode)}, {"configured", to_string(p.configured_upper_mode)}};
  if (p.upper_mode == UpperMode::kTmpfs) j["upper"]["options"] = p.tmpfs_options;
  if (p.use_data) j["data"] = {{"source", p.data_spec}, {"device", p.data_device}, {"fstype", p.data_fstype}};
  j["persistent"] = p.persist_paths;
  j["actions"] = r.actions;
  j["binds"] = nlohmann::ordered_json::array();
  for (const auto& b : p.binds) j["binds"].push_back({{"path", b.path}, {"readonly", true}});
  j["init"] = p.init;
  auto warnings = p.warnings;
  warnings.insert(warnings.end(), r.warnings.begin(), r.warnings.end());
  j["warnings"] = warnings;
  j["degraded"] = p.degraded || !r.warnings.empty();
  j["attempts"] = r.attempts;
  j["stages_ms"] = nlohmann::ordered_json::object();
  for (const auto& s : r.stages) j["stages_ms"][s.stage] = s.ms;
  return j.dump(2) + "\n";
}

}  // namespace strata
