// What strata keeps on the data partition, under /strata. Shared by the
// PID-1 and the on-device CLI, which sees the same tree at the same path
// (/run/strata/data moves into the new root with /run).
#pragma once

#include <string>

namespace strata::data {
inline constexpr const char* kMount = "/run/strata/data";
inline constexpr const char* kTop = "/run/strata/data/strata";
inline constexpr const char* kUpper = "/run/strata/data/strata/upper";  // holds data/ and work/
inline constexpr const char* kLowerId = "/run/strata/data/strata/upper.lower-id";
inline constexpr const char* kPersist = "/run/strata/data/strata/persist";  // one tree per persistent path
inline constexpr const char* kTrash = "/run/strata/data/strata/trash";      // moved aside, deleted later
inline constexpr const char* kResetRequest = "/run/strata/data/strata/reset-request";
// A/B: the slot record's two copies (.0, .1), per-slot uppers (upper-a,
// upper-b, each with its .lower-id), and the image files of file slots.
inline constexpr const char* kSlotState = "/run/strata/data/strata/slot-state";
inline constexpr const char* kSlotUpperPrefix = "/run/strata/data/strata/upper-";
inline constexpr const char* kSlotImages = "/run/strata/data/strata/slots";  // slot-a.img, slot-b.img; read-only mount
// The upper (data/ and work/ inside) of A/B slot `slot` (0, 1), or with -1
// the single upper of a board without slots.
inline std::string upper_dir(int slot) {
  return slot < 0 ? std::string(kUpper) : kSlotUpperPrefix + std::string(1, slot == 0 ? 'a' : 'b');
}
}  // namespace strata::data
