// strata as RAUC's custom bootloader backend (system.conf: bootloader=custom,
// [handlers] bootloader-custom-backend=/usr/bin/strata-rauc-backend). RAUC
// names slots by their bootname, "a" and "b" here, and calls:
//   get-primary              -> the slot the next boot prefers
//   set-primary BOOTNAME     -> boot it next (a slot RAUC just wrote goes on trial)
//   get-state BOOTNAME       -> good | bad
//   set-state BOOTNAME good|bad
//   get-current              -> the slot running (RAUC 1.10+; 1.8 takes --override-boot-slot)
// Pure: the record in, the answer and the record to write out. The same
// transitions as `strata` itself (slot_state.h), so RAUC cannot bring a device
// to a state strata's own commands could not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.h"
#include "slot_state.h"

namespace strata {

struct RaucReply {
  std::string out;                 // what the backend prints (RAUC reads get-* answers from stdout)
  std::optional<SlotState> write;  // the record to write, when the call changes it
};

// `args`: the words after the program name. `booted`: the slot running.
// `tries`: [slots] tries, for a slot put on trial.
Result<RaucReply> rauc_backend(const SlotState& s, int booted, int tries, const std::vector<std::string>& args);

}  // namespace strata
