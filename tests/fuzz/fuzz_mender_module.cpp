// libFuzzer: the Mender update module's states (mender_module). The input: a
// byte for the record (slot_record_input.h), a byte for the booted slot (bit
// 0; bit 1: none named), then lines: the first is what the payload's
// `tmp/strata-slot` holds (the slot Download wrote, read with parse_slot_name
// as the CLI does), each further line a state name Mender runs the module
// with, each on the record the previous one wrote. Every answer is one Mender
// reads; only Download installs, and only from a good running slot; only the
// two reboot states reboot; only Commit and Rollback write; every record
// written survives the trip to flash; Commit leaves the running slot good,
// Rollback boots a good slot, and a good slot is never lost.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "mender_module.h"
#include "slot_record_input.h"
#include "slot_state.h"
#include "text.h"

namespace {

bool any_good(const strata::SlotState& s) {
  for (const auto& slot : s.slot)
    if (slot.status == strata::SlotStatus::kGood) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  if (size < 2) return 0;
  SlotState s = slot_record_from_byte(data[0]);
  // 2 and 3 stand for a status file naming no A/B slot, which the module refuses.
  const int booted = (data[1] & 2) ? 2 + (data[1] & 1) : data[1] & 1;
  const auto lines = split_lines(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
  const std::optional<int> installed = parse_slot_name(lines.empty() ? std::string_view() : lines[0]);
  if (installed && *installed != 0 && *installed != 1) abort();
  for (size_t calls = 1; calls < lines.size() && calls <= 16; calls++) {
    const std::string_view state = lines[calls];
    auto r = mender_module(state, s, booted, installed);
    if (booted != 0 && booted != 1) {
      if (r) abort();  // no slot to speak for
      return 0;
    }
    if (!r) {
      if (r.error().message().empty()) abort();
      continue;
    }
    const bool query = state == "NeedsArtifactReboot" || state == "SupportsRollback";
    if (query ? r->out != "Yes\n" : !r->out.empty()) abort();
    if ((r->step == MenderStep::kInstall) != (state == "Download")) abort();
    if (r->step == MenderStep::kInstall && s.slot[booted].status != SlotStatus::kGood) abort();
    if ((r->step == MenderStep::kReboot) != (state == "ArtifactReboot" || state == "ArtifactRollbackReboot")) abort();
    if (!r->write) continue;
    if (state != "ArtifactCommit" && state != "ArtifactRollback") abort();
    const SlotState& n = *r->write;
    auto back = parse_slot_state(serialize_slot_state(n));
    if (!back || !(*back == n)) abort();
    if (state == "ArtifactCommit" && n.slot[booted].status != SlotStatus::kGood) abort();
    if (state == "ArtifactRollback" && n.slot[n.active].status != SlotStatus::kGood) abort();
    if (any_good(s) && !any_good(n)) abort();
    s = n;
  }
  return 0;
}
