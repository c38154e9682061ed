#include "rauc_backend.h"

namespace strata {

namespace {

Result<int> bootname(const std::vector<std::string>& args, size_t i) {
  if (args.size() <= i) return plain_error("missing the slot's bootname (a or b)");
  auto slot = parse_slot_name(args[i]);
  if (!slot) return plain_error("unknown bootname '" + args[i] + "': strata's slots are a and b");
  return *slot;
}

std::string name(int slot) {
  return std::string(1, slot_name(slot)) + "\n";
}

// RAUC: "boot this slot next". One it has just written (bad, as RAUC marked
// it before writing) goes on trial; a good one becomes active as it is.
Result<SlotState> set_primary(const SlotState& s, int slot, int booted, int tries) {
  SlotState n = s;
  if (slot == booted) {
    n.active = slot;
    return n;
  }
  if (s.slot[slot].status == SlotStatus::kBad) {
    n = finish_update(s, slot, tries, InstalledImage{});
    return n;
  }
  n.active = slot;
  return n;
}

Result<SlotState> set_state(const SlotState& s, int slot, int booted, const std::string& state) {
  if (state == "good") {
    if (slot == booted) return mark_good(s, booted);
    if (s.slot[slot].status == SlotStatus::kBad)
      return plain_error("refusing to mark " + slot_word(slot) +
                         " good: it is not running and holds no image known to boot (install one)");
    SlotState n = s;
    n.slot[slot].status = SlotStatus::kGood;
    n.slot[slot].tries = 0;
    return n;
  }
  if (state == "bad") {
    if (slot == booted) return mark_bad(s, booted);
    // Before RAUC writes a slot: bad, and nothing known of its content.
    SlotState n = begin_update(s, slot);
    if (n.active == slot) n.active = booted;
    return n;
  }
  return plain_error("unknown state '" + state + "' (good or bad)");
}

}  // namespace

Result<RaucReply> rauc_backend(const SlotState& s, const RaucFacts& f, const std::vector<std::string>& args) {
  const int booted = f.booted;
  const int tries = f.tries;
  if (args.empty()) return plain_error("no command (get-primary, set-primary, get-state, set-state, get-current)");
  const std::string& cmd = args[0];
  const size_t want = cmd == "set-state" ? 3 : cmd == "set-primary" || cmd == "get-state" ? 2 : 1;
  if (args.size() > want) return plain_error(cmd + ": too many arguments");
  RaucReply r;
  if (cmd == "get-primary") {
    r.out = name(s.active);
  } else if (cmd == "get-current") {
    r.out = name(booted);
  } else if (cmd == "get-state") {
    auto slot = bootname(args, 1);
    if (!slot) return slot.error();
    // A slot on trial is bootable: good for RAUC until it is confirmed or fails.
    r.out = s.slot[*slot].status == SlotStatus::kBad ? "bad\n" : "good\n";
  } else if (cmd == "set-primary") {
    auto slot = bootname(args, 1);
    if (!slot) return slot.error();
    auto n = set_primary(s, *slot, booted, tries);
    if (!n) return n.error();
    r.write = *n;
    // What RAUC wrote reaches the flash and is read-only before it can boot
    // (idempotent when RAUC only switches to a good slot).
    if (*slot != booted) r.window = RaucWindow::kClose;
  } else if (cmd == "set-state") {
    auto slot = bootname(args, 1);
    if (!slot) return slot.error();
    if (args.size() < 3) return plain_error("set-state: missing the state (good or bad)");
    auto n = set_state(s, *slot, booted, args[2]);
    if (!n) return n.error();
    r.write = *n;
    // Bad and not running: RAUC writes it next.
    if (*slot != booted && args[2] == "bad") r.window = RaucWindow::kOpen;
  } else {
    return plain_error("unknown command '" + cmd + "' (get-primary, set-primary, get-state, set-state, get-current)");
  }
  if (r.window != RaucWindow::kNone) {
    r.window_slot = other_slot(booted);
    r.window_boot = f.group;
  }
  return r;
}

}  // namespace strata
