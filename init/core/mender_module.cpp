#include "mender_module.h"

namespace strata {

namespace {

// True when this boot runs the update Mender's Download wrote: on trial, or
// already good when `strata confirm`'s health checks confirmed it first.
Status running_the_update(const SlotState& s, int booted, std::optional<int> installed, std::string_view state) {
  const int o = other_slot(booted);
  const std::string st(state);
  if (installed && *installed == booted && s.slot[booted].status != SlotStatus::kBad) return {};
  if (s.slot[booted].status == SlotStatus::kTrial && (!installed || *installed == booted)) return {};
  if (s.slot[o].status == SlotStatus::kTrial)
    return plain_error(st + ": the update is in " + slot_word(o) + ", on trial, but this boot runs " +
                       slot_word(booted) + ": reboot into it first");
  return plain_error(st + ": " + slot_word(booted) + " is running and " + status_words(s.slot[booted]) +
                     ", with no update on trial (" + describe(s) +
                     "): the updated slot did not boot or was rolled back; Mender rolls back");
}

}  // namespace

Result<MenderReply> mender_module(std::string_view state, const SlotState& s, int booted,
                                  std::optional<int> installed) {
  if (booted != 0 && booted != 1)
    return plain_error("cannot tell which slot is running (no A/B slots in /run/strata/status)");
  MenderReply r;
  if (state == "Download") {
    if (s.slot[booted].status != SlotStatus::kGood)
      return plain_error("Download: " + slot_word(booted) + " (running) is " + status_words(s.slot[booted]) +
                         ", not good: commit or roll back the update it runs first; nothing written");
    r.step = MenderStep::kInstall;
  } else if (state == "ArtifactInstall") {
    const int o = other_slot(booted);
    if (s.slot[o].status != SlotStatus::kTrial || s.active != o)
      return plain_error("ArtifactInstall: " + slot_word(o) + " is " + status_words(s.slot[o]) +
                         ", not the update Download installed (" + describe(s) + ")");
    r.said = "ArtifactInstall: " + slot_word(o) + " holds the update, on trial from the next boot";
  } else if (state == "NeedsArtifactReboot" || state == "SupportsRollback") {
    r.out = "Yes\n";
  } else if (state == "ArtifactReboot" || state == "ArtifactRollbackReboot") {
    r.step = MenderStep::kReboot;
  } else if (state == "ArtifactVerifyReboot") {
    if (auto ok = running_the_update(s, booted, installed, state); !ok) return ok.error();
    r.said = "ArtifactVerifyReboot: " + slot_word(booted) + " runs the update (" + status_words(s.slot[booted]) + ")";
  } else if (state == "ArtifactCommit") {
    if (auto ok = running_the_update(s, booted, installed, state); !ok) return ok.error();
    auto n = mark_good(s, booted);
    if (!n) return n.error();
    r.write = *n;
    r.said = "ArtifactCommit: " + slot_word(booted) + " is good";
  } else if (state == "ArtifactRollback") {
    const int o = other_slot(booted);
    // Nothing left to undo: the trial already failed over to the good slot, or was cancelled.
    if (s.slot[booted].status == SlotStatus::kGood && s.slot[o].status != SlotStatus::kTrial && s.active == booted) {
      r.said = "ArtifactRollback: " + slot_word(booted) + " runs and is good; nothing to roll back";
      return r;
    }
    auto n = rollback(s, booted);
    if (!n) return n.error();
    r.write = *n;
    r.said = "ArtifactRollback: " + slot_word(n->active) + " boots from now on";
  } else if (state == "ArtifactVerifyRollbackReboot") {
    if (s.slot[booted].status != SlotStatus::kGood)
      return plain_error("ArtifactVerifyRollbackReboot: " + slot_word(booted) + " runs and is " +
                         status_words(s.slot[booted]) + ", not the good slot");
    r.said = "ArtifactVerifyRollbackReboot: back on " + slot_word(booted) + ", good";
  }
  return r;
}

}  // namespace strata
