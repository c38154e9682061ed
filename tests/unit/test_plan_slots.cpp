// decide(), required_devices() and format_plan() with A/B slots: which
// slot's root becomes the lower, the record written before mounting,
// fallback-slot, file slots on the data partition, and the config keys.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "plan.h"

using namespace strata;
using strata::test::contains;
using strata::test::dev;
using strata::test::join;
using strata::test::load;

namespace {

// root-a on /dev/vda1, root-b on /dev/vda2 (both squashfs), data on /dev/vda3.
Facts slot_facts(SlotMode mode = SlotMode::kPartitions) {
  Facts f;
  f.devices = {dev("/dev/vda", "", ""), dev("/dev/vda1", "squashfs", "root-a"), dev("/dev/vda2", "squashfs", "root-b"),
               dev("/dev/vda3", "ext4", "userdata", "data")};
  f.config.slot_mode = mode;
  f.config.upper_mode = UpperMode::kPersistent;
  f.config.fallback_slot = true;
  f.slots.health = StateHealth::kOk;
  f.slots.state = initial_slot_state();
  f.slots.state.slot[1].status = SlotStatus::kGood;
  return f;
}

bool has_warning(const BootPlan& p, const std::string& text) {
  for (const auto& w : p.warnings)
    if (contains(w, text)) return true;
  return false;
}

}  // namespace

TEST_GROUP(DecideSlots){};

TEST(DecideSlots, ActiveGoodSlotIsTheLowerAndNothingIsWritten) {
  Facts f = slot_facts();
  f.slots.state.active = 1;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  LONGS_EQUAL(1, p.slot);
  CHECK_EQUAL(std::string("/dev/vda2"), p.root_device);
  CHECK_EQUAL(std::string("PARTLABEL=root-b"), p.root_spec);
  CHECK_FALSE(p.slot_write.has_value());
  CHECK_FALSE(p.degraded);
  CHECK_EQUAL(std::string("/dev/vda1"), p.slot_devices[0]);
  CHECK_EQUAL(std::string("/dev/vda2"), p.slot_devices[1]);
  CHECK_TRUE(p.use_data);
}

TEST(DecideSlots, TrialSlotIsDecrementedBeforeMounting) {
  Facts f = slot_facts();
  f.slots.state = finish_update(f.slots.state, 1, 3, {"ab", "2", "", {}, std::nullopt});
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_TRUE(p.slot_write.has_value());
  LONGS_EQUAL(2, p.slot_write->slot[1].tries);
  CHECK_EQUAL(std::string("trial-decrement"), p.slot_write_what);
  CHECK_TRUE(p.slot_state == *p.slot_write);
  CHECK_TRUE(contains(format_plan(p), "slot record: written before mounting (trial-decrement)"));
}

TEST(DecideSlots, TrialOutOfTriesBootsTheOtherSlotAndSaysWhy) {
  Facts f = slot_facts();
  f.slots.state = finish_update(f.slots.state, 1, 3, {"ab", "2", "", {}, std::nullopt});
  f.slots.state.slot[1].tries = 0;
  BootPlan p = decide(f);
  LONGS_EQUAL(0, p.slot);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
  CHECK_TRUE(p.slot_write.has_value());
  CHECK_TRUE(p.slot_write->slot[1].status == SlotStatus::kBad);
  LONGS_EQUAL(0, p.slot_write->active);
  CHECK_EQUAL(std::string("mark-bad-at-boot"), p.slot_write_what);
  CHECK_TRUE(p.degraded);
  CHECK_TRUE_TEXT(has_warning(p, "slot b"), join(p.warnings).c_str());
}

TEST(DecideSlots, MissingSlotDeviceFallsBackToTheOtherGoodSlot) {
  Facts f = slot_facts();
  f.slots.state.active = 1;
  f.devices.erase(f.devices.begin() + 2);  // root-b is gone
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  LONGS_EQUAL(0, p.slot);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
  CHECK_TRUE(p.degraded);
  CHECK_TRUE_TEXT(has_warning(p, "PARTLABEL=root-b not found"), join(p.warnings).c_str());
}

TEST(DecideSlots, UnreadableSlotDeviceFallsBackAndSaysItCouldNotBeRead) {
  Facts f = slot_facts();
  f.slots.state.active = 1;
  f.devices[2].type = "";  // an I/O error while probing root-b: its name comes from the partition table
  f.devices[2].unreadable = "Input/output error";
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  LONGS_EQUAL(0, p.slot);
  CHECK_TRUE_TEXT(has_warning(p,
                              "no filesystem found on /dev/vda2 (PARTLABEL=root-b): it could not be read: "
                              "Input/output error"),
                  join(p.warnings).c_str());
}

TEST(DecideSlots, UnreadableDataPartitionIsNamedWhenItsLabelCannotBeFound) {
  Facts f = slot_facts();
  f.devices[3] = dev("/dev/vda3", "", "data");  // LABEL= lives in the superblock that could not be read
  f.devices[3].unreadable = "Input/output error";
  f.config.data_source = "LABEL=data";
  BootPlan p = decide(f);
  CHECK_TRUE_TEXT(has_warning(p,
                              "data partition LABEL=data not found (/dev/vda3 could not be read: Input/output "
                              "error)"),
                  join(p.warnings).c_str());
}

TEST(DecideSlots, WithoutFallbackSlotAMissingSlotDeviceIsFatal) {
  Facts f = slot_facts();
  f.config.fallback_slot = false;
  f.slots.state.active = 1;
  f.devices.erase(f.devices.begin() + 2);
  BootPlan p = decide(f);
  CHECK_TRUE(contains(p.fatal, "root device PARTLABEL=root-b not found"));
}

TEST(DecideSlots, FailedSlotFromTheExecutorBootsTheOther) {
  Facts f = slot_facts();
  f.failed_slot = 0;
  f.failed_slot_why = "mount: Invalid argument";
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_EQUAL(std::string("/dev/vda2"), p.root_device);
  CHECK_TRUE(p.degraded);
}

TEST(DecideSlots, NoSlotLeftIsFatalWithTheReasons) {
  Facts f = slot_facts();
  f.slots.state.slot[1].status = SlotStatus::kBad;
  f.failed_slot = 0;
  f.failed_slot_why = "mount: Invalid argument";
  BootPlan p = decide(f);
  CHECK_TRUE_TEXT(contains(p.fatal, "no A/B slot can be booted"), p.fatal.c_str());
}

TEST(DecideSlots, UnreadableRecordBootsSlotAWritesNothingAndIsDegraded) {
  Facts f = slot_facts();
  f.slots.health = StateHealth::kUnreadable;
  f.slots.detail = "both copies have a bad CRC";
  f.slots.state = initial_slot_state();
  BootPlan p = decide(f);
  LONGS_EQUAL(0, p.slot);
  CHECK_FALSE(p.slot_write.has_value());
  CHECK_TRUE(p.degraded);
  CHECK_TRUE_TEXT(has_warning(p, "both copies have a bad CRC"), join(p.warnings).c_str());
}

TEST(DecideSlots, PerSlotUpperInThePlan) {
  Facts f = slot_facts();
  f.slots.state.active = 1;
  CHECK_TRUE(contains(format_plan(decide(f)), "upper: persistent, /run/strata/data/strata/upper-b bound at"));
  f.slots.state.active = 0;
  CHECK_TRUE(contains(format_plan(decide(f)), "upper: persistent, /run/strata/data/strata/upper-a bound at"));
}

TEST(DecideSlots, FileSlotsAreImagesOnTheDataPartition) {
  Facts f = slot_facts(SlotMode::kFiles);
  f.slots.state.active = 1;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_TRUE(p.image_on_data);
  CHECK_EQUAL(std::string("/strata/slots/slot-b.img"), p.image);
  CHECK_EQUAL(std::string("/dev/vda3"), p.root_device);
  CHECK_EQUAL(std::string(""), p.slot_devices[0]);
  CHECK_TRUE(contains(format_plan(p), "slot images: /run/strata/data/strata/slots"));
}

TEST(DecideSlots, FileSlotsWithoutTheDataPartitionAreFatal) {
  Facts f = slot_facts(SlotMode::kFiles);
  f.devices.pop_back();
  f.slots.health = StateHealth::kUnavailable;
  f.slots.detail = "data partition LABEL=data not found";
  BootPlan p = decide(f);
  CHECK_TRUE_TEXT(contains(p.fatal, "the slot images are on the data partition"), p.fatal.c_str());
}

TEST(DecideSlots, RequiredDevicesAreBothSlotsAndTheData) {
  Config c;
  c.slot_mode = SlotMode::kPartitions;
  auto want = required_devices(c);
  LONGS_EQUAL(3, want.size());
  c.slot_mode = SlotMode::kFiles;
  LONGS_EQUAL(1, required_devices(c).size());  // the data partition holds everything
}

TEST(DecideSlots, ConfigKeys) {
  auto lc = load(
      "[boot]\non_failure = fallback-slot, reboot\n[slots]\nmode = files\na = LABEL=x\ntries = 7\n"
      "[update]\npublic_key = " +
      std::string(64, 'a') + "\ncompatible = board-1\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_TRUE(lc.config.fallback_slot);
  CHECK_TRUE(lc.config.on_failure == FailurePolicy::kReboot);
  CHECK_TRUE(lc.config.slot_mode == SlotMode::kFiles);
  CHECK_EQUAL(std::string("LABEL=x"), lc.config.slot_source[0]);
  LONGS_EQUAL(7, lc.config.slot_tries);
  CHECK_EQUAL(std::string("board-1"), lc.config.update_compatible);
  CHECK_EQUAL(std::string("fallback-slot, reboot"), describe_failure(lc.config.fallback_slot, lc.config.on_failure));

  auto alone = load("[boot]\non_failure = fallback-slot\n");
  CHECK_TRUE(alone.config.fallback_slot);
  CHECK_TRUE(alone.config.on_failure == FailurePolicy::kRescue);
}

TEST(DecideSlots, SeveralPublicKeysAndDowngrades) {
  const std::string a(64, 'a'), b(64, 'B');
  auto lc = load("[update]\npublic_key = " + a + ", " + b + "\nallow_downgrade = yes\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  LONGS_EQUAL(2, lc.config.update_public_keys.size());
  CHECK_EQUAL(a, lc.config.update_public_keys[0]);
  CHECK_EQUAL(std::string(64, 'b'), lc.config.update_public_keys[1]);
  CHECK_TRUE(lc.config.update_allow_downgrade);
  CHECK_FALSE(load("").config.update_allow_downgrade);

  auto twice = load("[update]\npublic_key = " + a + " " + a + "\nallow_downgrade = maybe\n");
  LONGS_EQUAL(2, twice.diagnostics.size());
  CHECK_TRUE(contains(join(twice.diagnostics), "is listed twice"));
  LONGS_EQUAL(0, twice.config.update_public_keys.size());
  CHECK_FALSE(twice.config.update_allow_downgrade);
}

TEST(DecideSlots, BadSlotKeysKeepTheDefaults) {
  auto lc = load(
      "[boot]\non_failure = reboot, fallback-slot\n[slots]\nmode = abc\ntries = 0\n"
      "[update]\npublic_key = 1234\ncompatible = has space\n");
  LONGS_EQUAL(5, lc.diagnostics.size());
  CHECK_FALSE(lc.config.fallback_slot);
  CHECK_TRUE(lc.config.slot_mode == SlotMode::kNone);
  LONGS_EQUAL(3, lc.config.slot_tries);
  LONGS_EQUAL(0, lc.config.update_public_keys.size());
  CHECK_TRUE(contains(join(lc.diagnostics), "strata-bundle keygen"));
}

TEST(DecideSlots, CommandLineSwitchesSlotsOff) {
  auto lc = load("[slots]\nmode = partitions\n", "strata.slots.mode=none");
  CHECK_TRUE(lc.config.slot_mode == SlotMode::kNone);
}

// [slots] bootloader = uboot: U-Boot's strata.slot= decides, strata-init
// writes nothing (no second count), and says why a fallback happened.
TEST(DecideSlots, BootloaderChoosesAndNothingIsCounted) {
  Facts f = slot_facts();
  f.config.bootloader = Bootloader::kUBoot;
  f.slots.state.active = 0;
  f.slots.state.slot[1].status = SlotStatus::kTrial;
  f.slots.state.slot[1].tries = 3;
  f.config.boot_slot = 1;
  f.config.boot_trial_left = 2;
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_EQUAL(std::string("/dev/vda2"), p.root_device);
  CHECK_FALSE(p.slot_write.has_value());  // choose_slot() would have decremented
  CHECK_FALSE(p.degraded);
  CHECK_TRUE(contains(join(p.slot_reasons), "slot b on trial: 2 boot tries left (counted by the bootloader)"));
  CHECK_TRUE(contains(format_plan(p), "chosen by the bootloader"));

  // U-Boot fell back from b: a DEGRADED boot of a, with the reason.
  f.config.boot_slot = 0;
  f.config.boot_trial_left.reset();
  f.config.boot_fallback_from = 1;
  p = decide(f);
  LONGS_EQUAL(0, p.slot);
  CHECK_FALSE(p.slot_write.has_value());
  CHECK_TRUE(p.degraded);
  CHECK_TRUE(has_warning(p, "slot b used up its boot tries"));

  // Booted without the boot script: the record's active slot, no count, visibly.
  f.config.boot_slot.reset();
  f.config.boot_fallback_from.reset();
  p = decide(f);
  LONGS_EQUAL(0, p.slot);
  CHECK_FALSE(p.slot_write.has_value());
  CHECK_TRUE(has_warning(p, "no strata.slot= on the command line"));
}

// The CLI writes a group's boot image to the target's boot partition: the
// plan finds boot-a and boot-b by their GPT names, with bootloader = uboot only.
TEST(DecideSlots, BootloaderFindsEachSlotsBootPartition) {
  Facts f = slot_facts();
  f.devices.push_back(dev("/dev/vda5", "", "bootstate"));
  f.devices.push_back(dev("/dev/vda6", "vfat", "boot-a"));
  f.devices.push_back(dev("/dev/vda7", "vfat", "boot-b"));
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.boot_devices[0]);  // bootloader = none: one fixed kernel, no groups
  f.config.bootloader = Bootloader::kUBoot;
  f.config.boot_slot = 0;
  p = decide(f);
  CHECK_EQUAL(std::string("/dev/vda5"), p.bootstate_device);
  CHECK_EQUAL(std::string("/dev/vda6"), p.boot_devices[0]);
  CHECK_EQUAL(std::string("/dev/vda7"), p.boot_devices[1]);
  f.devices.pop_back();  // boot-b missing: "" (the CLI refuses a group update then)
  p = decide(f);
  CHECK_EQUAL(std::string(""), p.boot_devices[1]);
}

TEST(DecideSlots, BootloaderWordsFromTheCommandLine) {
  auto l = load("[slots]\nmode = partitions\nbootloader = uboot\n",
                "console=ttyAMA0 strata.slot=b strata.trial=2 strata.bootfallback=a strata.bootstate=none");
  CHECK_TRUE(l.diagnostics.empty());
  CHECK_TRUE(l.config.bootloader == Bootloader::kUBoot);
  LONGS_EQUAL(1, *l.config.boot_slot);
  LONGS_EQUAL(2, *l.config.boot_trial_left);
  LONGS_EQUAL(0, *l.config.boot_fallback_from);
  CHECK_TRUE(l.config.boot_state_missing);
  auto bad = load("", "strata.slot=c strata.trial=x");
  LONGS_EQUAL(2, bad.diagnostics.size());
  CHECK_FALSE(bad.config.boot_slot.has_value());
}
