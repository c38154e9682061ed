// `strata rauc-backend CMD [BOOTNAME [STATE]]`: RAUC's custom bootloader
// backend (core/rauc_backend.h decides; this applies it). Beside the record it
// keeps strata's rule that slots are read-only outside an update: RAUC marks
// its target bad before writing it (the window opens: BLKROSET cleared) and
// makes it primary once written (flushed, read-only again, then on trial).
// With bootloader = uboot the target is a group, boot-x and root-x, both
// windows move together, and the record write is strata's slot record then
// the bootloader state (slot_store: the same writes as `strata update` and
// `mark-good`). An install that fails between the two leaves the slot bad and
// writable until the next boot, which makes it read-only again.
#include <cstdio>

#include "commands.h"
#include "data_layout.h"
#include "paths.h"
#include "rauc_apply.h"
#include "rauc_backend.h"
#include "slot_store.h"
#include "write_window.h"

namespace cli {

int rauc_backend_command(const Context& c, const std::vector<std::string>& args) {
  if (c.booted < 0)
    return fail(c.status.is_null() ? c.status_error : "this system does not boot from A/B slots ([slots] mode = none)");
  if (c.mode != strata::SlotMode::kPartitions)
    return fail("the RAUC backend drives partition slots ([slots] mode = partitions) only");
  const bool changes = !args.empty() && args[0].starts_with("set-");
  std::optional<strata::StorageLock> lock;
  if (changes) {
    auto l = strata::StorageLock::acquire(strata::paths::kLock);
    if (!l) return fail(l.error().message());
    lock.emplace(std::move(*l));
  }
  strata::SlotStore store = slot_store(c);
  strata::SlotReading r = store.read();
  if (r.health == strata::StateHealth::kUnavailable) return fail("the slot record cannot be reached: " + r.detail);
  if (r.health == strata::StateHealth::kUnreadable && changes)
    return fail("the slot record is unreadable (" + r.detail +
                "); `strata mark-good` on a working system writes a fresh one");
  const strata::RaucFacts facts{c.booted, c.loaded.config.slot_tries, c.uboot};
  auto reply = strata::rauc_backend(r.state, facts, args);
  if (!reply) return fail("rauc-backend: " + reply.error().message());
  if (reply->write) {
    // The target's storage: its root, and with bootloader = uboot its boot partition.
    std::vector<std::string> devices;
    if (reply->window != strata::RaucWindow::kNone) {
      const int target = reply->window_slot;
      const std::string name(1, strata::slot_name(target));
      if (c.device[target].empty())
        return fail("rauc-backend " + args[0] + ": " + strata::slot_word(target) +
                    "'s root partition was not found at boot (not in /run/strata/status); refused, nothing written");
      devices.push_back(c.device[target]);
      if (reply->window_boot && c.boot_device[target].empty())
        return fail("rauc-backend " + args[0] + ": [slots] bootloader = uboot: " + strata::slot_word(target) +
                    "'s boot partition (GPT name boot-" + name +
                    ") was not found at boot (no boot_device in /run/strata/status); refused, nothing written");
      if (reply->window_boot) devices.push_back(c.boot_device[target]);
    }
    if (auto s = strata::apply_rauc_reply(*reply, devices, store, "rauc " + args[0]); !s)
      return fail("rauc-backend " + args[0] + ": " + s.error().message());
    say("rauc-backend " + args[0] + (args.size() > 1 ? " " + args[1] : "") + (args.size() > 2 ? " " + args[2] : "") +
        ": " + strata::describe(store.read().state));
  }
  std::fputs(reply->out.c_str(), stdout);
  return 0;
}

}  // namespace cli
