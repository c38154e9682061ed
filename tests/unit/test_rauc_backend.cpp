// RAUC's custom bootloader backend over the slot record: what RAUC's install
// (set-state target bad, write, set-primary target), `rauc status mark-good`
// and `mark-active` do to strata's record, the write windows each call opens
// or closes (the root, and with bootloader = uboot the boot partition too),
// and every refusal.
#include <CppUTest/TestHarness.h>

#include "rauc_backend.h"

using namespace strata;

namespace {

RaucReply call(const SlotState& s, int booted, std::vector<std::string> args, bool group = false) {
  auto r = rauc_backend(s, {booted, 3, group}, args);
  CHECK_TEXT(static_cast<bool>(r), r ? "" : r.error().message().c_str());
  return *r;
}

std::string refused(const SlotState& s, int booted, std::vector<std::string> args, bool group = false) {
  auto r = rauc_backend(s, {booted, 3, group}, args);
  CHECK_FALSE(static_cast<bool>(r));
  return r.error().message();
}

}  // namespace

TEST_GROUP(RaucBackend){};

TEST(RaucBackend, GetAnswersFromTheRecordAndWriteNothing) {
  SlotState s = initial_slot_state();  // a good, b bad, a active
  auto p = call(s, 0, {"get-primary"});
  STRCMP_EQUAL("a\n", p.out.c_str());
  CHECK_FALSE(p.write.has_value());
  STRCMP_EQUAL("a\n", call(s, 0, {"get-current"}).out.c_str());
  STRCMP_EQUAL("good\n", call(s, 0, {"get-state", "a"}).out.c_str());
  STRCMP_EQUAL("bad\n", call(s, 0, {"get-state", "b"}).out.c_str());
  CHECK_FALSE(call(s, 0, {"get-state", "B"}).write.has_value());
}

TEST(RaucBackend, AnInstallPutsTheWrittenSlotOnTrialAndMarkGoodKeepsIt) {
  SlotState s = initial_slot_state();
  s.slot[1].status = SlotStatus::kGood;  // b held an older good image
  s.slot[1].version = "0.9";
  // RAUC marks the target non-bootable before writing...
  auto bad = call(s, 0, {"set-state", "b", "bad"});
  CHECK(bad.write.has_value());
  CHECK(bad.write->slot[1].status == SlotStatus::kBad);
  STRCMP_EQUAL("", bad.write->slot[1].version.c_str());  // nothing known of what is being written
  LONGS_EQUAL(0, bad.write->active);
  // ...then, written, makes it primary: on trial with the configured tries.
  auto primary = call(*bad.write, 0, {"set-primary", "b"});
  CHECK(primary.write->slot[1].status == SlotStatus::kTrial);
  LONGS_EQUAL(3, primary.write->slot[1].tries);
  LONGS_EQUAL(1, primary.write->active);
  CHECK(primary.write->slot[0].status == SlotStatus::kGood);
  STRCMP_EQUAL("good\n", call(*primary.write, 1, {"get-state", "b"}).out.c_str());  // on trial: bootable
  // Booted into b: `rauc status mark-good` ends the trial.
  auto good = call(*primary.write, 1, {"set-state", "b", "good"});
  CHECK(good.write->slot[1].status == SlotStatus::kGood);
  LONGS_EQUAL(0, good.write->slot[1].tries);
  LONGS_EQUAL(1, good.write->active);
}

TEST(RaucBackend, MarkBadOfTheRunningSlotNeedsAGoodOtherOne) {
  SlotState s = initial_slot_state();
  std::string why = refused(s, 0, {"set-state", "a", "bad"});
  CHECK_TEXT(why.find("no good slot would be left") != std::string::npos, why.c_str());
  s.slot[1].status = SlotStatus::kGood;
  auto r = call(s, 0, {"set-state", "a", "bad"});
  CHECK(r.write->slot[0].status == SlotStatus::kBad);
  LONGS_EQUAL(1, r.write->active);
}

TEST(RaucBackend, MarkActiveOfAGoodSlotSwitchesWithoutATrial) {
  SlotState s = initial_slot_state();
  s.slot[1].status = SlotStatus::kGood;
  auto r = call(s, 0, {"set-primary", "b"});
  CHECK(r.write->slot[1].status == SlotStatus::kGood);
  LONGS_EQUAL(1, r.write->active);
  auto same = call(s, 0, {"set-primary", "a"});
  LONGS_EQUAL(0, same.write->active);
}

TEST(RaucBackend, AnEmptySlotIsNeverMarkedGoodByHand) {
  SlotState s = initial_slot_state();
  std::string why = refused(s, 0, {"set-state", "b", "good"});
  CHECK_TEXT(why.find("holds no image known to boot") != std::string::npos, why.c_str());
}

TEST(RaucBackend, BadCallsAreRefusedWithWhatIsWrong) {
  SlotState s = initial_slot_state();
  CHECK(refused(s, 0, {}).find("no command") != std::string::npos);
  CHECK(refused(s, 0, {"reboot"}).find("unknown command 'reboot'") != std::string::npos);
  CHECK(refused(s, 0, {"get-state"}).find("missing the slot's bootname") != std::string::npos);
  CHECK(refused(s, 0, {"get-state", "c"}).find("unknown bootname 'c'") != std::string::npos);
  CHECK(refused(s, 0, {"set-state", "b"}).find("missing the state") != std::string::npos);
  CHECK(refused(s, 0, {"set-state", "b", "meh"}).find("unknown state 'meh'") != std::string::npos);
  CHECK(refused(s, 0, {"get-primary", "a"}).find("too many arguments") != std::string::npos);
}

TEST(RaucBackend, AnInstallOpensTheTargetsWindowAfterMarkingItBadAndClosesItBeforeTheTrial) {
  for (bool group : {false, true}) {
    SlotState s = initial_slot_state();
    auto bad = call(s, 0, {"set-state", "b", "bad"}, group);
    CHECK(bad.window == RaucWindow::kOpen);
    LONGS_EQUAL(1, bad.window_slot);
    CHECK_EQUAL(group, bad.window_boot);  // a group: RAUC writes boot-b too
    auto primary = call(*bad.write, 0, {"set-primary", "b"}, group);
    CHECK(primary.window == RaucWindow::kClose);
    LONGS_EQUAL(1, primary.window_slot);
    CHECK_EQUAL(group, primary.window_boot);
    CHECK(primary.write->slot[1].status == SlotStatus::kTrial);
    // Booted into b: confirming or asking touches no window.
    auto good = call(*primary.write, 1, {"set-state", "b", "good"}, group);
    CHECK(good.window == RaucWindow::kNone);
    LONGS_EQUAL(-1, good.window_slot);
    CHECK(call(*good.write, 1, {"get-primary"}, group).window == RaucWindow::kNone);
  }
}

TEST(RaucBackend, TheRunningSlotsWindowNeverOpens) {
  SlotState s = initial_slot_state();
  s.slot[1].status = SlotStatus::kGood;
  auto r = call(s, 0, {"set-state", "a", "bad"}, true);  // as strata mark-bad: a stays read-only, running
  CHECK(r.window == RaucWindow::kNone);
  auto same = call(s, 0, {"set-primary", "a"}, true);
  CHECK(same.window == RaucWindow::kNone);
}

TEST(RaucBackend, AGroupGoesThroughTheSameTransitionsAsARoot) {
  // bootloader = uboot changes which partitions open, never the record: the
  // record and the bootloader state get what `strata update` and mark-good write.
  SlotState s = initial_slot_state();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"set-state", "b", "bad"}, {"set-primary", "b"}, {"set-state", "a", "good"}, {"set-primary", "a"}}) {
    auto plain = call(s, 0, args, false);
    auto group = call(s, 0, args, true);
    CHECK(*plain.write == *group.write);
    s = *group.write;
  }
}
