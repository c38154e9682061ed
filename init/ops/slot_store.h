// The slot state on flash: two copies of one record (slot_state.h), each a
// sector with a sequence number and a CRC. Read as the newest valid copy;
// written copy by copy, each fsynced, the copy not holding the newest valid
// record first, so a power cut at any instant leaves at least one valid copy
// holding either the old or the new state.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "boot_env.h"
#include "result.h"
#include "slot_state.h"

namespace strata {

class SlotStore {
 public:
  // The copies are `prefix`.0 and `prefix`.1 (data_layout.h: kSlotState).
  explicit SlotStore(std::string prefix) : prefix_(std::move(prefix)) {}

  // Called as "state-<what>-between-copies" after the first copy is durable
  // and before the second is written; strata.crash_at hooks in here.
  std::function<void(const std::string& point)> crash_point = [](const std::string&) {};

  // bootloader = uboot (boot_env.h): read() takes the bootloader's order,
  // statuses and tries over the record's (none: `why` says why, the record's
  // are used); write() writes the bootloader state after both copies, as the
  // change's commit point. Empty: the record alone (bootloader = none).
  std::function<std::optional<BootEnv>(std::string& why)> bootloader_read;
  std::function<Status(const BootEnv&)> bootloader_write;

  SlotReading read() const;
  SlotReading read_record() const;  // the record alone
  // Writes `state` with seq = the newest seq on flash + 1 into both copies.
  // `what` names the change for crash points and logs ("trial-decrement").
  Status write(SlotState state, const std::string& what);

  std::string copy_path(int i) const { return prefix_ + "." + std::to_string(i); }

 private:
  std::string prefix_;
};

}  // namespace strata
