// The Mender update module over the slot record (core/mender_module.h): a
// standalone install (Download, ArtifactInstall), the reboot, commit; a
// rollback before and after the reboot; and every refusal.
#include <CppUTest/TestHarness.h>

#include "mender_module.h"

using namespace strata;

namespace {

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

MenderReply step(std::string_view state, const SlotState& s, int booted, std::optional<int> installed = {}) {
  auto r = mender_module(state, s, booted, installed);
  CHECK_TEXT(static_cast<bool>(r), r ? "" : r.error().message().c_str());
  return *r;
}

std::string refused(std::string_view state, const SlotState& s, int booted, std::optional<int> installed = {}) {
  auto r = mender_module(state, s, booted, installed);
  CHECK_FALSE(static_cast<bool>(r));
  return r ? "" : r.error().message();
}

// a good and running, b installed by Download: on trial and active.
SlotState installed_in_b() {
  SlotState s = initial_slot_state();
  s.slot[1] = SlotInfo{};
  return finish_update(begin_update(s, 1), 1, 3, {"cd", "2", "", {}, std::nullopt});
}

}  // namespace

TEST_GROUP(MenderModule){};

TEST(MenderModule, QueriesAnswerYes) {
  const SlotState s = initial_slot_state();
  STRCMP_EQUAL("Yes\n", step("SupportsRollback", s, 0).out.c_str());
  STRCMP_EQUAL("Yes\n", step("NeedsArtifactReboot", s, 0).out.c_str());
  CHECK(step("ArtifactReboot", s, 0).step == MenderStep::kReboot);
  CHECK(step("ArtifactRollbackReboot", s, 0).step == MenderStep::kReboot);
}

TEST(MenderModule, UnknownStatesDoNothingAndSucceed) {
  const SlotState s = installed_in_b();
  for (const char* st : {"Cleanup", "ArtifactFailure", "SomeFutureState", ""}) {
    auto r = step(st, s, 0);
    CHECK_TEXT(r.step == MenderStep::kNothing, st);
    CHECK_TEXT(!r.write, st);
    STRCMP_EQUAL("", r.out.c_str());
  }
}

TEST(MenderModule, DownloadInstallsFromAGoodSlotOnly) {
  CHECK(step("Download", initial_slot_state(), 0).step == MenderStep::kInstall);
  SlotState s = installed_in_b();
  const std::string msg = refused("Download", s, 1);  // b running on trial
  CHECK_TEXT(contains(msg, "not good"), msg.c_str());
}

TEST(MenderModule, InstallCommitAfterTheReboot) {
  const SlotState s = installed_in_b();
  CHECK(!step("ArtifactInstall", s, 0).write);
  // Before the reboot, a still runs: commit and verify refuse, b stays on trial.
  std::string msg = refused("ArtifactCommit", s, 0);
  CHECK_TEXT(contains(msg, "reboot into it first"), msg.c_str());
  refused("ArtifactVerifyReboot", s, 0);
  // After it, b runs on trial: verify passes, commit marks it good.
  step("ArtifactVerifyReboot", s, 1);
  auto r = step("ArtifactCommit", s, 1);
  CHECK(r.write.has_value());
  CHECK(r.write->slot[1].status == SlotStatus::kGood);
  LONGS_EQUAL(1, r.write->active);
}

TEST(MenderModule, CommitAcceptsAnUpdateStrataConfirmAlreadyKept) {
  SlotState s = installed_in_b();
  s = *mark_good(s, 1);  // the health checks ran first
  step("ArtifactVerifyReboot", s, 1, 1);
  auto r = step("ArtifactCommit", s, 1, 1);
  CHECK(r.write.has_value());
  CHECK(r.write->slot[1].status == SlotStatus::kGood);
  // Without knowing which slot Download wrote, a good running slot proves nothing.
  refused("ArtifactCommit", s, 1);
  // Knowing it, the slot that did not get the update never passes.
  const std::string msg = refused("ArtifactVerifyReboot", installed_in_b(), 0, 1);
  CHECK_TEXT(contains(msg, "reboot into it first"), msg.c_str());
}

TEST(MenderModule, InstallRefusedWhenDownloadDidNotFinish) {
  SlotState s = begin_update(initial_slot_state(), 1);  // marked bad, never finished
  const std::string msg = refused("ArtifactInstall", s, 0);
  CHECK_TEXT(contains(msg, "not the update Download installed"), msg.c_str());
}

TEST(MenderModule, VerifyFailsAfterAFallback) {
  // b ran out of tries and the boot fell back to a: Mender must roll back.
  SlotState s = installed_in_b();
  s.slot[1].status = SlotStatus::kBad;
  s.slot[1].tries = 0;
  s.active = 0;
  const std::string msg = refused("ArtifactVerifyReboot", s, 0);
  CHECK_TEXT(contains(msg, "did not boot or was rolled back"), msg.c_str());
  refused("ArtifactCommit", s, 0);
  // Then the rollback has nothing left to do, and the verify after it passes.
  CHECK(!step("ArtifactRollback", s, 0).write);
  step("ArtifactVerifyRollbackReboot", s, 0);
}

TEST(MenderModule, RollbackFromTheTrialBootsTheGoodSlot) {
  auto r = step("ArtifactRollback", installed_in_b(), 1);
  CHECK(r.write.has_value());
  LONGS_EQUAL(0, r.write->active);
  CHECK(r.write->slot[1].status == SlotStatus::kBad);
  CHECK(r.write->slot[0].status == SlotStatus::kGood);
  // Still running b (before the rollback reboot): not verified.
  refused("ArtifactVerifyRollbackReboot", *r.write, 1);
  step("ArtifactVerifyRollbackReboot", *r.write, 0);
}

TEST(MenderModule, RollbackBeforeTheRebootCancelsTheUpdate) {
  auto r = step("ArtifactRollback", installed_in_b(), 0);
  CHECK(r.write.has_value());
  LONGS_EQUAL(0, r.write->active);
  CHECK(r.write->slot[1].status == SlotStatus::kBad);
}

TEST(MenderModule, NoRunningSlotIsRefused) {
  refused("Download", initial_slot_state(), -1);
}
