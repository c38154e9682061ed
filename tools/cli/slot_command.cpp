// `strata mark-good`, `strata mark-bad`, `strata rollback`: changes to the A/B
// slot record, made under the same lock as updates.
#include <cstdio>

#include "commands.h"
#include "data_layout.h"
#include "paths.h"
#include "slot_store.h"
#include "write_window.h"

namespace cli {

int slot_command(const Context& c, const std::string& which, bool reboot) {
  if (c.booted < 0)
    return fail(c.status.is_null() ? c.status_error : "this system does not boot from A/B slots ([slots] mode = none)");
  auto lock = strata::StorageLock::acquire(strata::paths::kLock);
  if (!lock) return fail(lock.error().message());
  strata::SlotStore store = slot_store(c);
  strata::SlotReading r = store.read();
  if (r.health == strata::StateHealth::kUnavailable) return fail("the slot record cannot be reached: " + r.detail);
  if (r.health == strata::StateHealth::kUnreadable && which != "mark-good")
    return fail("the slot record is unreadable (" + r.detail +
                "); `strata mark-good` on a working system writes a fresh one");
  const char running = strata::slot_name(c.booted);
  auto next = which == "mark-good"  ? strata::mark_good(r.state, c.booted)
              : which == "mark-bad" ? strata::mark_bad(r.state, c.booted)
                                    : strata::rollback(r.state, c.booted);
  if (!next) return fail(next.error().message());
  if (*next == r.state && r.health == strata::StateHealth::kOk) {
    std::printf("strata: slot %c: nothing to change (%s)\n", running, strata::describe(r.state).c_str());
  } else {
    if (auto s = store.write(*next, which); !s) return fail(which + " failed: " + s.error().message());
    std::printf("strata: %s: %s\n", which.c_str(), strata::describe(store.read().state).c_str());
  }
  return which == "rollback" && reboot ? reboot_now() : 0;
}

}  // namespace cli
