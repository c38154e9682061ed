// dm-verity: the parameters line (format, parse, every bad field), the
// device-mapper table, and decide() for [root] verity = off | on | required.
#include <CppUTest/TestHarness.h>

#include <string>

#include "helpers.h"
#include "plan.h"
#include "verity.h"

using namespace strata;
using strata::test::contains;
using strata::test::dev;

namespace {

const std::string kRoot = "1384ada904be43183871621387add43223ddba3a0e312ba078c5080b4ed36cac";
const std::string kSalt = "748279f792d90833a2e7d1eae71dcb4c612ffd48c22c02a9ec81fa137c1d6913";

VerityParams params() {
  VerityParams v;
  v.data_blocks = 244;
  v.hash_start = 244;
  v.root_hash = kRoot;
  v.salt = kSalt;
  return v;
}

std::string bad(const std::string& line) {
  auto r = parse_verity(line);
  CHECK_FALSE(r.ok());
  return r.ok() ? "" : r.error().message();
}

Facts slot_facts(VerityMode mode) {
  Facts f;
  f.devices = {dev("/dev/vda", "", ""), dev("/dev/vda1", "squashfs", "root-a"), dev("/dev/vda2", "squashfs", "root-b"),
               dev("/dev/vda3", "ext4", "userdata", "data")};
  f.config.slot_mode = SlotMode::kPartitions;
  f.config.fallback_slot = true;
  f.config.verity = mode;
  f.slots.health = StateHealth::kOk;
  f.slots.state = initial_slot_state();
  f.slots.state.slot[1].status = SlotStatus::kGood;
  f.slots.state.active = 1;
  return f;
}

}  // namespace

TEST_GROUP(VerityParams){};

TEST(VerityParams, FormatAndParseRoundTrip) {
  const std::string line = "sha256 4096 4096 244 244 " + kRoot + " " + kSalt;
  CHECK_EQUAL(line, format_verity(params()));
  auto r = parse_verity(line);
  CHECK_TRUE(r.ok());
  CHECK_TRUE(*r == params());
  CHECK_TRUE(format_verity(params()).size() <= kMaxVerityLength);
}

TEST(VerityParams, NoSaltIsADash) {
  VerityParams v = params();
  v.salt.clear();
  CHECK_TRUE(contains(format_verity(v), kRoot + " -"));
  auto r = parse_verity(format_verity(v));
  CHECK_TRUE(r.ok());
  CHECK_EQUAL(std::string(""), r->salt);
}

TEST(VerityParams, TheLongestLineFits) {
  VerityParams v = params();
  v.data_block_size = v.hash_block_size = 65536;
  v.data_blocks = v.hash_start = uint64_t{1} << 40;
  v.salt = std::string(256, 'f');
  CHECK_TRUE(parse_verity(format_verity(v)).ok());
  CHECK_TRUE(format_verity(v).size() <= kMaxVerityLength);
}

TEST(VerityParams, EveryBadFieldSaysWhich) {
  const std::string tail = " " + kRoot + " " + kSalt;
  CHECK_TRUE(contains(bad(""), "expected 7 fields"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 244 " + kRoot), "got 6"));
  CHECK_TRUE(contains(bad("sha1 4096 4096 244 244" + tail), "not sha256"));
  CHECK_TRUE(contains(bad("sha256 4095 4096 244 244" + tail), "data block size"));
  CHECK_TRUE(contains(bad("sha256 4096 256 244 244" + tail), "hash block size"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 0 244" + tail), "data block count"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 -1 244" + tail), "data block count"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 x" + tail), "hash start"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 243" + tail), "inside the data"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 244 " + kRoot.substr(1) + " -"), "root hash"));
  std::string upper = kRoot;
  upper[0] = 'A';
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 244 " + upper + " -"), "root hash"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 244 " + kRoot + " abc"), "salt"));
  CHECK_TRUE(contains(bad("sha256 4096 4096 244 244 " + kRoot + " " + std::string(258, 'a')), "salt"));
}

TEST(VerityParams, TableIsVersion1WithTheTreeAfterTheData) {
  CHECK_EQUAL("1 /dev/vda2 /dev/vda2 4096 4096 244 244 sha256 " + kRoot + " " + kSalt,
              verity_table_params("/dev/vda2", params(), VerityOnCorruption::kEio));
  CHECK_EQUAL("1 /dev/vda2 /dev/vda2 4096 4096 244 244 sha256 " + kRoot + " " + kSalt + " 1 restart_on_corruption",
              verity_table_params("/dev/vda2", params(), VerityOnCorruption::kRestart));
  LONGS_EQUAL(244 * 8, verity_sectors(params()));
}

TEST_GROUP(DecideVerity){};

TEST(DecideVerity, OffIgnoresTheRecordsRootHash) {
  Facts f = slot_facts(VerityMode::kOff);
  f.slot_verity[1] = params();
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_FALSE(p.verity.has_value());
  CHECK_FALSE(p.degraded);
  CHECK_FALSE(contains(format_plan(p), "verity"));
}

TEST(DecideVerity, OnWithARootHashBootsThroughVerity) {
  Facts f = slot_facts(VerityMode::kOn);
  f.slot_verity[1] = params();
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  LONGS_EQUAL(1, p.slot);
  CHECK_TRUE(p.verity.has_value());
  CHECK_TRUE(*p.verity == params());
  CHECK_EQUAL(std::string("strata-b"), p.verity_name);
  CHECK_EQUAL(std::string("/dev/vda2"), p.root_device);
  CHECK_FALSE(p.degraded);
  CHECK_TRUE(contains(format_plan(p), "through dm-verity: device-mapper strata-b"));
}

TEST(DecideVerity, OnWithoutARootHashBootsPlainWithAWarning) {
  Facts f = slot_facts(VerityMode::kOn);
  f.slot_verity[0] = params();  // the other slot's hash is no use for b
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_FALSE(p.verity.has_value());
  CHECK_TRUE(p.degraded);
  CHECK_TRUE(contains(format_plan(p),
                      "warning: slot b has no trusted root hash in the slot record; booting it "
                      "without dm-verity (root verity = on)"));
}

TEST(DecideVerity, RequiredWithoutARootHashBootsTheOtherSlot) {
  Facts f = slot_facts(VerityMode::kRequired);
  f.slot_verity[0] = params();
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  LONGS_EQUAL(0, p.slot);
  CHECK_TRUE(p.verity.has_value());
  CHECK_EQUAL(std::string("strata-a"), p.verity_name);
  bool said = false;
  for (const auto& r : p.slot_reasons) said |= contains(r, "slot b has no trusted root hash");
  CHECK_TRUE(said);
}

TEST(DecideVerity, RequiredWithoutFallbackSlotIsFatal) {
  Facts f = slot_facts(VerityMode::kRequired);
  f.config.fallback_slot = false;
  f.slot_verity[0] = params();
  BootPlan p = decide(f);
  CHECK_TRUE(
      contains(p.fatal, "slot b has no trusted root hash in the slot record; root verity = required: not booted"));
}

TEST(DecideVerity, RequiredWithNoSlotHashedIsFatal) {
  Facts f = slot_facts(VerityMode::kRequired);
  BootPlan p = decide(f);
  CHECK_TRUE(contains(p.fatal, "no trusted root hash"));
  CHECK_TRUE(contains(format_plan(p), "FATAL:"));
}

TEST(DecideVerity, RequiredTrialSlotWithoutHashIsMarkedBadAndTheOtherBoots) {
  Facts f = slot_facts(VerityMode::kRequired);
  f.slots.state = finish_update(f.slots.state, 0, 3, "ab", "2");  // a on trial, no hash
  f.slot_verity[1] = params();
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_TRUE(p.slot_write.has_value());
  CHECK_TRUE(p.slot_write->slot[0].status == SlotStatus::kBad);
}

TEST(DecideVerity, WithoutSlotsOnWarnsAndRequiredIsFatal) {
  Facts f;
  f.devices = {dev("/dev/vda1", "squashfs", "root-a")};
  f.config.verity = VerityMode::kOn;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_FALSE(p.verity.has_value());
  CHECK_TRUE(contains(format_plan(p), "the root image has no trusted root hash ([root] verity_params is empty)"));
  f.config.verity = VerityMode::kRequired;
  p = decide(f);
  CHECK_TRUE(contains(p.fatal, "root verity = required: not booted"));
}

TEST(DecideVerity, WithoutSlotsTheConfiguredParamsAreUsed) {
  Facts f;
  f.devices = {dev("/dev/vda1", "squashfs", "root-a")};
  f.config.verity = VerityMode::kRequired;
  f.config.root_verity = params();
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_TRUE(p.verity.has_value());
  CHECK_EQUAL(std::string("strata-root"), p.verity_name);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
}

TEST(DecideVerity, ParamsKey) {
  const std::string line = format_verity(params());
  auto l = strata::test::load("[root]\nverity_params = " + line + "\n");
  CHECK_TRUE(l.diagnostics.empty());
  CHECK_TRUE(l.config.root_verity.has_value());
  CHECK_TRUE(*l.config.root_verity == params());
  l = strata::test::load("[root]\nverity_params = sha256 4096\n");
  CHECK_FALSE(l.config.root_verity.has_value());
  CHECK_EQUAL(1, static_cast<int>(l.diagnostics.size()));
  CHECK_TRUE(contains(l.diagnostics[0].message, "expected 7 fields"));
}

TEST(DecideVerity, ConfigKey) {
  CHECK_TRUE(strata::test::load("[root]\nverity = required\n").config.verity == VerityMode::kRequired);
  CHECK_TRUE(strata::test::load("[root]\nverity = on\n").config.verity == VerityMode::kOn);
  auto l = strata::test::load("[root]\nverity = maybe\n");
  CHECK_TRUE(l.config.verity == VerityMode::kOff);
  CHECK_EQUAL(1, static_cast<int>(l.diagnostics.size()));
}
