// One A/B slot as JSON, the same in /run/strata/status (written by the
// PID-1) and in `strata status --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "slot_state.h"

namespace strata {

// status, tries, version, image_id.
nlohmann::ordered_json slot_info_json(const SlotInfo& info);

}  // namespace strata
