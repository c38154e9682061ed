// strata as a Mender update module (payload type "strata": a strata bundle,
// README "Mender"). Mender runs /usr/share/mender/modules/v3/strata with a
// state name and the payload's directory; this decides what each state means
// for strata's slot record, so Mender drives the same transitions as
// `strata update`, `mark-good` and `rollback`:
//   Download                     stream the bundle into the idle slot (the CLI
//                                runs `strata update` on Mender's stream)
//   ArtifactInstall              check the update is in place, on trial
//   NeedsArtifactReboot          "Yes"
//   SupportsRollback             "Yes"
//   ArtifactReboot, ArtifactRollbackReboot   reboot
//   ArtifactVerifyReboot         the running slot is the one Download wrote, on
//                                trial (or already confirmed by `strata confirm`)
//   ArtifactCommit               the same check, then mark-good
//   ArtifactRollback             back to the good slot (strata rollback)
//   ArtifactVerifyRollbackReboot the running slot is good
// Any other state (ArtifactFailure, Cleanup, states of later protocols) does
// nothing and succeeds, as the protocol asks. Pure: the record in, the step,
// the text for stdout and the record to write out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "result.h"
#include "slot_state.h"

namespace strata {

enum class MenderStep {
  kNothing,  // print `out` (may be empty), write `write` if set
  kInstall,  // stream the payload into the idle slot
  kReboot,   // reboot the device
};

struct MenderReply {
  MenderStep step = MenderStep::kNothing;
  std::string out;                 // what the module prints on stdout (Mender reads the query answers)
  std::optional<SlotState> write;  // the record to write, when the state changes it
  std::string said;                // a line for the log (stderr)
};

// `booted`: the slot running. `installed`: the slot Download wrote (kept in
// the payload's directory across the reboot), when known. An error is the
// module's failure exit, its message the reason.
Result<MenderReply> mender_module(std::string_view state, const SlotState& s, int booted,
                                  std::optional<int> installed = std::nullopt);

}  // namespace strata
