#include "slot_json.h"

namespace strata {

nlohmann::ordered_json slot_info_json(const SlotInfo& info) {
  nlohmann::ordered_json j = {{"status", to_string(info.status)},
                              {"tries", info.tries},
                              {"version", info.version},
                              {"image_id", info.image_id}};
  // The root hash a verity boot of this slot checks against, null for none.
  j["verity_root_hash"] = info.verity ? nlohmann::ordered_json(info.verity->root_hash) : nlohmann::ordered_json();
  return j;
}

}  // namespace strata
