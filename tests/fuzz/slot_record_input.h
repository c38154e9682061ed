// The slot record the call-sequence targets (fuzz_rauc_backend,
// fuzz_mender_module) start from: one byte of their input.
#pragma once

#include <cstdint>

#include "slot_state.h"

// Bit 0: the active slot; bits 1-2 and 3-4: slot a's and b's status (good,
// trial, bad, good); bits 5-7: a trial's tries left, less one.
inline strata::SlotState slot_record_from_byte(uint8_t b) {
  using namespace strata;
  constexpr SlotStatus kStatus[4] = {SlotStatus::kGood, SlotStatus::kTrial, SlotStatus::kBad, SlotStatus::kGood};
  SlotState s = initial_slot_state();
  s.active = b & 1;
  for (int i = 0; i < kSlotCount; i++) {
    s.slot[i].status = kStatus[(b >> (1 + 2 * i)) & 3];
    s.slot[i].tries = s.slot[i].status == SlotStatus::kTrial ? (b >> 5) + 1 : 0;
  }
  return s;
}
