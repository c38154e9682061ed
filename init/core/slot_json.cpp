#include "slot_json.h"

namespace strata {

nlohmann::ordered_json slot_info_json(const SlotInfo& info) {
  return {{"status", to_string(info.status)},
          {"tries", info.tries},
          {"version", info.version},
          {"image_id", info.image_id}};
}

}  // namespace strata
