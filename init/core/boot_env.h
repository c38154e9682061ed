// The bootloader's view of the A/B slots ([slots] bootloader = uboot): the
// variables U-Boot's boot script (board/common/uboot/boot.cmd) reads, counts
// down and writes in its redundant environment pair. Pure: init/ops/boot_env
// reads and writes them with libubootenv.
//
// The split of authority: the bootloader state decides which slot boots and
// counts the tries (a kernel that never reaches strata-init cannot count);
// the slot record (slot_state.h) keeps what each slot holds (image id,
// version, verity, keys). The CLI changes both: the record first, then the
// bootloader state, whose write is the commit point of each change.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "result.h"
#include "slot_state.h"

namespace strata {

struct BootEnv {
  int first = 0;  // strata_order: the slot U-Boot boots first ("a b" / "b a")
  SlotStatus status[kSlotCount] = {SlotStatus::kGood, SlotStatus::kBad};
  int tries[kSlotCount] = {0, 0};  // tries left while on trial
  bool operator==(const BootEnv&) const = default;
};

// The variables, as U-Boot's script spells them. Tries are hex, the way
// U-Boot's setexpr counts them down.
inline constexpr const char* kBootEnvOrder = "strata_order";
inline constexpr const char* kBootEnvStatus[kSlotCount] = {"strata_a", "strata_b"};
inline constexpr const char* kBootEnvTries[kSlotCount] = {"strata_a_tries", "strata_b_tries"};

std::map<std::string, std::string> boot_env_vars(const BootEnv& e);
// The variables as read -> the state, or why not (a missing or garbled
// variable). Never throws.
Result<BootEnv> parse_boot_env(const std::map<std::string, std::string>& vars);

// What the bootloader must see for a record: the active slot first, each
// slot's status and tries.
BootEnv boot_env_of(const SlotState& s);
// The record as the bootloader left it: its order, statuses and tries
// replace the record's (which strata-init does not count in this mode).
SlotState with_boot_env(const SlotState& record, const BootEnv& e);
// Where the two views differ, one sentence each ("" none): for status.
std::vector<std::string> boot_env_disagreements(const SlotState& record, const BootEnv& e);
// "order b a, a good, b trial (2 tries left)": one line for logs and status.
std::string describe(const BootEnv& e);

// What U-Boot said on the command line (strata.slot=, strata.trial=,
// strata.bootfallback=, strata.bootstate=none).
struct BootloaderWords {
  std::optional<int> slot;           // the slot U-Boot booted
  std::optional<int> trial_left;     // this boot is on trial: tries left after this one
  std::optional<int> fallback_from;  // a slot U-Boot skipped: on trial with no tries left
  bool state_missing = false;        // no valid copy of the state: U-Boot booted slot a
};
// The reasons strata-init prints for a boot the bootloader chose (empty: a
// plain boot of the good first slot).
std::vector<std::string> describe_boot(const BootloaderWords& w);

}  // namespace strata
