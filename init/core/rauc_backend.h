// strata as RAUC's custom bootloader backend (system.conf: bootloader=custom,
// [handlers] bootloader-custom-backend=/usr/bin/strata-rauc-backend). RAUC
// names slots by their bootname, "a" and "b" here, and calls:
//   get-primary              -> the slot the next boot prefers
//   set-primary BOOTNAME     -> boot it next (a slot RAUC just wrote goes on trial)
//   get-state BOOTNAME       -> good | bad
//   set-state BOOTNAME good|bad
//   get-current              -> the slot running (RAUC 1.10+; 1.8 takes --override-boot-slot)
// Pure: the record in, the answer, the record to write out and the write
// windows to open or close. The same transitions as `strata` itself
// (slot_state.h), so RAUC cannot bring a device to a state strata's own
// commands could not. With bootloader = uboot a slot is a group (boot-x:
// kernel, initramfs, cmdline.txt; root-x): RAUC's system.conf gives each
// rootfs slot a boot child, RAUC writes both, and both windows open and close
// together. The record written there is the slot record and the bootloader
// state (SlotStore), as `strata update` and `mark-good` write them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.h"
#include "slot_state.h"

namespace strata {

// Slots are read-only outside an update (BLKROSET). RAUC marks its target bad
// before writing it: the window opens after that record write. It makes the
// target primary once written: the window closes (flushed, read-only) before
// the record puts it on trial.
enum class RaucWindow { kNone, kOpen, kClose };

struct RaucReply {
  std::string out;                 // what the backend prints (RAUC reads get-* answers from stdout)
  std::optional<SlotState> write;  // the record to write, when the call changes it
  RaucWindow window = RaucWindow::kNone;
  int window_slot = -1;      // whose storage: always the slot not running
  bool window_boot = false;  // its boot partition too (a group), beside its root
};

struct RaucFacts {
  int booted = 0;      // the slot running
  int tries = 3;       // [slots] tries, for a slot put on trial
  bool group = false;  // [slots] bootloader = uboot: a slot is boot-x + root-x
};

// `args`: the words after the program name.
Result<RaucReply> rauc_backend(const SlotState& s, const RaucFacts& f, const std::vector<std::string>& args);

}  // namespace strata
