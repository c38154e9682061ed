// libFuzzer: parse_slot_state on arbitrary bytes. What parses must serialize
// to one block and parse back to the same state; choose_slot on it, under
// every health and failed slot, must pick a real slot (or -1 after a failure)
// and write only records that read back; the transitions must keep it valid.
// Each input is tried as is and with its CRC made right.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "slot_state.h"

namespace {

// A state that survives the trip to flash unchanged.
void check_writable(const strata::SlotState& s) {
  const std::string bytes = strata::serialize_slot_state(s);
  if (bytes.size() != strata::kSlotRecordSize) abort();
  auto back = strata::parse_slot_state(bytes);
  if (!back.ok() || !(*back == s)) abort();
}

void check_one(std::string_view bytes) {
  using namespace strata;
  auto parsed = parse_slot_state(bytes);
  if (!parsed.ok()) {
    if (parsed.error().message().empty()) abort();  // a rejection always says why
    return;
  }
  const SlotState& s = *parsed;
  // Format 2 is one block; format 1 (read, never written) 512 bytes.
  if (bytes.size() != kSlotRecordSize && !(bytes.size() == kSlotRecordSizeV1 && bytes.starts_with("strata-slots 1\n")))
    abort();
  if (s.active != 0 && s.active != 1) abort();
  check_writable(s);
  (void)describe(s);

  for (StateHealth h : {StateHealth::kOk, StateHealth::kOneCopy, StateHealth::kMissing, StateHealth::kUnreadable,
                        StateHealth::kUnavailable}) {
    SlotReading r;
    r.state = s;
    r.health = h;
    r.detail = "fuzz";
    const SlotChoice plain = choose_slot(r);
    if (plain.slot != 0 && plain.slot != 1) abort();
    if (plain.write) check_writable(*plain.write);
    for (int failed = 0; failed < kSlotCount; ++failed) {
      const SlotChoice c = choose_slot(r, failed, "fuzz");
      if (c.slot < -1 || c.slot > 1 || c.slot == failed) abort();
      if (c.write) check_writable(*c.write);
      if (!c.degraded) abort();  // a failed mount is never a normal boot
    }
    // An unusable record is never written over.
    if ((h == StateHealth::kUnreadable || h == StateHealth::kUnavailable) && plain.write) abort();
  }

  for (int running = 0; running < kSlotCount; ++running) {
    for (auto r : {mark_good(s, running), mark_bad(s, running), rollback(s, running)}) {
      if (!r.ok()) continue;
      check_writable(*r);
      // What the CLI leaves behind always has a good slot to boot.
      if (r->slot[0].status != SlotStatus::kGood && r->slot[1].status != SlotStatus::kGood) abort();
    }
    check_writable(begin_update(s, running));
    const int o = other_slot(running);
    check_writable(finish_update(begin_update(s, o), o, s.slot[o].tries,
                                 {s.slot[running].image_id, s.slot[running].version, "", {}, std::nullopt}));
    // An update that raises the minimum and replaces the keys stays writable, and never lowers the minimum.
    const SlotState raised =
        finish_update(begin_update(s, o), o, 1, {"", s.slot[running].version, s.min_version, s.keys, std::nullopt});
    check_writable(raised);
    if (raised.min_version != s.min_version || raised.keys != s.keys) abort();
  }
}

// The input with its CRC line's digits made right, so mutations of the
// fields get past the CRC check to the parsing behind it.
std::string with_crc_fixed(std::string_view bytes) {
  std::string out(bytes);
  const size_t at = out.find("\ncrc32 ");
  if (at == std::string::npos || at + 7 + 8 > out.size()) return out;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(at + 1));
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", crc);
  out.replace(at + 7, 8, hex);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_one(bytes);
  const std::string fixed = with_crc_fixed(bytes);
  if (fixed != bytes) check_one(fixed);
  return 0;
}
