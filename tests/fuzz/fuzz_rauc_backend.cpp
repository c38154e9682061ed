// libFuzzer: strata-rauc-backend's arguments (rauc_backend). The input: a
// byte for the record (active slot, each slot's status), the booted slot
// (bit 1: a group, bootloader = uboot) and tries, then commands, one a line,
// words split at blanks, each run on the record the previous one wrote, as
// RAUC calls the backend in turn. Every answer is one RAUC reads; every
// record written survives the trip to flash; the booted slot is bad only
// after RAUC said so of it; a write window opens or closes only on the slot
// not running (never the one booted), on its boot partition only in a group,
// and a window opens only on a slot marked bad.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rauc_backend.h"
#include "slot_record_input.h"
#include "slot_state.h"
#include "text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  if (size < 3) return 0;
  SlotState s = slot_record_from_byte(data[0]);
  const int booted = data[1] & 1;
  const int tries = data[2] % (kMaxTries + 1);
  const bool group = (data[1] & 2) != 0;  // bootloader = uboot
  const auto lines = split_lines(std::string_view(reinterpret_cast<const char*>(data + 3), size - 3));
  for (size_t calls = 0; calls < lines.size() && calls < 16; calls++) {
    const std::string_view line = lines[calls];
    std::vector<std::string> args;
    for (size_t at = 0; at < line.size();) {
      const size_t end = std::min(line.find(' ', at), line.size());
      if (end > at) args.emplace_back(line.substr(at, end - at));
      at = end + 1;
    }
    auto r = rauc_backend(s, {booted, tries, group}, args);
    if (!r) {
      if (r.error().message().empty()) abort();
      continue;
    }
    const std::string& cmd = args[0];
    if (cmd.starts_with("get-")) {
      if (r->write || r->window != RaucWindow::kNone) abort();  // asking changes nothing
      if (r->out != "a\n" && r->out != "b\n" && r->out != "good\n" && r->out != "bad\n") abort();
      continue;
    }
    if (!r->write) abort();
    const SlotState& n = *r->write;
    if (r->window == RaucWindow::kNone) {
      if (r->window_slot != -1 || r->window_boot) abort();
    } else {
      if (r->window_slot != other_slot(booted) || r->window_boot != group) abort();
      if (r->window == RaucWindow::kOpen && n.slot[r->window_slot].status != SlotStatus::kBad) abort();
    }
    auto back = parse_slot_state(serialize_slot_state(n));
    if (!back || !(*back == n)) abort();
    const bool booted_marked_bad =
        cmd == "set-state" && args.size() == 3 && args[2] == "bad" && parse_slot_name(args[1]) == booted;
    if (n.slot[booted].status == SlotStatus::kBad && s.slot[booted].status != SlotStatus::kBad && !booted_marked_bad)
      abort();
    s = n;
  }
  return 0;
}
