// Applies what the RAUC backend decided (core/rauc_backend.h) to the device:
// the record write (strata's slot record, and with bootloader = uboot the
// bootloader state after it, through the SlotStore) and the write windows of
// RAUC's target (its root partition, and in a group its boot partition).
// A window closes before the record puts the slot on trial (each device
// flushed, then BLKROSET), and opens only after the record says the slot is
// bad, so the slot is never bootable while it is writable.
#pragma once

#include <string>
#include <vector>

#include "rauc_backend.h"
#include "result.h"
#include "slot_store.h"

namespace strata {

// `devices`: the target's partitions the window covers (the root first, then
// the boot partition when reply.window_boot); ignored without a window.
// `what` names the change in the record's log and crash points.
Status apply_rauc_reply(const RaucReply& reply, const std::vector<std::string>& devices, SlotStore& store,
                        const std::string& what);

}  // namespace strata
