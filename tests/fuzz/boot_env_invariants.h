// What every bootloader state strata accepts must satisfy (fuzz_boot_env and
// fuzz_boot_env_image): a slot to boot first, tries only on a trial and within
// bounds, a description, and the variables strata writes parse back to it.
#pragma once

#include <cstdlib>

#include "boot_env.h"

inline void check_boot_env_invariants(const strata::BootEnv& e) {
  if (e.first != 0 && e.first != 1) abort();
  for (int i = 0; i < strata::kSlotCount; i++)
    if (e.tries[i] < 0 || e.tries[i] > strata::kMaxTries || (e.status[i] != strata::SlotStatus::kTrial && e.tries[i]))
      abort();
  if (strata::describe(e).empty()) abort();
  auto again = strata::parse_boot_env(strata::boot_env_vars(e));
  if (!again || !(*again == e)) abort();
}
