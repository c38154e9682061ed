// `strata rauc-backend CMD [BOOTNAME [STATE]]`: RAUC's custom bootloader
// backend (core/rauc_backend.h decides; this applies it). Beside the record it
// keeps strata's rule that slots are read-only outside an update: RAUC marks
// its target bad before writing it (the window opens: BLKROSET cleared) and
// makes it primary once written (flushed, read-only again, then on trial).
// An install that fails between the two leaves the slot bad and writable
// until the next boot, which makes it read-only again.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "data_layout.h"
#include "paths.h"
#include "rauc_backend.h"
#include "slot_store.h"
#include "sys.h"
#include "write_window.h"

namespace cli {

int rauc_backend_command(const Context& c, const std::vector<std::string>& args) {
  if (c.booted < 0)
    return fail(c.status.is_null() ? c.status_error : "this system does not boot from A/B slots ([slots] mode = none)");
  if (c.mode != strata::SlotMode::kPartitions)
    return fail("the RAUC backend drives partition slots ([slots] mode = partitions) only");
  // A slot is a group there (kernel, initramfs, root); RAUC's system.conf maps only the root.
  if (c.uboot && !args.empty() && args[0].starts_with("set-"))
    return fail(
        "the RAUC backend does not drive [slots] bootloader = uboot yet: RAUC would write the root without "
        "its kernel and initramfs");
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
  auto reply = strata::rauc_backend(r.state, c.booted, c.loaded.config.slot_tries, args);
  if (!reply) return fail("rauc-backend: " + reply.error().message());
  if (reply->write) {
    const int target = strata::other_slot(c.booted);
    const std::string& device = c.device[target];
    const bool opening = args[0] == "set-state" && args.size() == 3 && args[2] == "bad" &&
                         reply->write->slot[target].status == strata::SlotStatus::kBad;
    const bool closing = args[0] == "set-primary" && reply->write->active == target;
    if (closing) {
      // What RAUC wrote reaches the flash before the slot goes on trial.
      if (auto fd = strata::sys::open(device, O_RDONLY | O_CLOEXEC); fd && ::fsync(fd->get()) != 0)
        return fail("cannot flush " + device + " before putting it on trial");
      if (auto s = strata::set_block_readonly(device, true); !s) return fail(s.error().message());
    }
    if (auto s = store.write(*reply->write, "rauc " + args[0]); !s)
      return fail("cannot write the slot record: " + s.error().message());
    if (opening)
      if (auto s = strata::set_block_readonly(device, false); !s) return fail(s.error().message());
    say("rauc-backend " + args[0] + (args.size() > 1 ? " " + args[1] : "") + (args.size() > 2 ? " " + args[2] : "") +
        ": " + strata::describe(store.read().state));
  }
  std::fputs(reply->out.c_str(), stdout);
  return 0;
}

}  // namespace cli
