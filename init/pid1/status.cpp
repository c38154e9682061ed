#include "status.h"

#include <nlohmann/json.hpp>

#include "data_layout.h"
#include "slot_json.h"

namespace strata {

std::string status_json(const BootReport& r) {
  const BootPlan& p = *r.plan;
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["strata_version"] = STRATA_VERSION;
  j["mode"] = p.upper_mode == UpperMode::kNone ? "lower-only" : "overlay";
  j["lower"] = {{"source", p.root_spec}, {"device", p.root_device}, {"fstype", p.root_fstype}};
  if (!p.image.empty()) {
    j["lower"]["image"] = p.image;
    j["lower"]["loop"] = r.loop_device;
  }
  j["lower"]["verity"] = {{"mode", to_string(p.verity_mode)}, {"used", p.verity.has_value()}};
  if (p.verity) {
    j["lower"]["verity"]["device"] = r.verity_device;
    j["lower"]["verity"]["name"] = p.verity_name;
    j["lower"]["verity"]["root_hash"] = p.verity->root_hash;
    j["lower"]["verity"]["on_corruption"] = "restart";
  }
  j["upper"] = {{"mode", to_string(p.upper_mode)}, {"configured", to_string(p.configured_upper_mode)}};
  if (p.upper_mode == UpperMode::kTmpfs) j["upper"]["options"] = p.tmpfs_options;
  if (p.use_data) j["data"] = {{"source", p.data_spec}, {"device", p.data_device}, {"fstype", p.data_fstype}};
  // Only what was bound; the rest, with the reason, under "skipped".
  j["persistent"] = nlohmann::ordered_json::array();
  j["binds"] = nlohmann::ordered_json::array();
  j["skipped"] = nlohmann::ordered_json::array();
  for (const auto& b : r.binds) {
    if (!b.why.empty())
      j["skipped"].push_back({{"kind", b.kind}, {"path", b.path}, {"why", b.why}});
    else if (b.kind == "persistent path")
      j["persistent"].push_back(b.path);
    else
      j["binds"].push_back({{"path", b.path}, {"at", b.at}, {"readonly", true}});
  }
  j["actions"] = r.actions;
  if (p.slot >= 0) {
    // A/B: what the CLI needs (running slot, devices) and what people ask (versions, tries, why).
    auto& sl = j["slots"];
    sl["mode"] = to_string(p.slot_mode);
    sl["bootloader"] = to_string(p.bootloader);
    if (p.bootloader == Bootloader::kUBoot) sl["bootstate"] = p.bootstate_device;
    sl["booted"] = std::string(1, slot_name(p.slot));
    sl["active"] = std::string(1, slot_name(p.slot_state.active));
    sl["record"] = to_string(p.slot_health);
    sl["seq"] = p.slot_state.seq;
    for (int i = 0; i < kSlotCount; i++) {
      const SlotInfo& info = p.slot_state.slot[i];
      auto& e = sl[std::string(1, slot_name(i))];
      e = slot_info_json(info);
      if (p.slot_mode == SlotMode::kPartitions) e["device"] = p.slot_devices[i];
      if (p.slot_mode == SlotMode::kFiles) e["image"] = std::string(data::kMount) + slot_image_path(i);
      if (p.bootloader == Bootloader::kUBoot) e["boot_device"] = p.boot_devices[i];
    }
    sl["reasons"] = p.slot_reasons;
    if (p.slot_write) sl["written"] = p.slot_write_what;
  }
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
