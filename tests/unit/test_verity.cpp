// dm-verity: the parameters line (format, parse, every bad field), the
// device-mapper table, and decide() for [root] verity = off | on | required.
#include <CppUTest/TestHarness.h>

#include <string>

#include "bundle.h"
#include "helpers.h"
#include "plan.h"
#include "slot_state.h"
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
  f.slots.state.slot[1].verity = params();
  BootPlan p = decide(f);
  LONGS_EQUAL(1, p.slot);
  CHECK_FALSE(p.verity.has_value());
  CHECK_FALSE(p.degraded);
  CHECK_FALSE(contains(format_plan(p), "verity"));
}

TEST(DecideVerity, OnWithARootHashBootsThroughVerity) {
  Facts f = slot_facts(VerityMode::kOn);
  f.slots.state.slot[1].verity = params();
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
  f.slots.state.slot[0].verity = params();  // the other slot's hash is no use for b
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
  f.slots.state.slot[0].verity = params();
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
  f.slots.state.slot[0].verity = params();
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
  f.slots.state = finish_update(f.slots.state, 0, 3, {"ab", "2", "", {}, std::nullopt});  // a on trial, no hash
  f.slots.state.slot[1].verity = params();
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

TEST_GROUP(VerityRecord){};

TEST(VerityRecord, AnUpdateRecordsTheManifestsParametersForItsSlot) {
  SlotState s = finish_update(begin_update(initial_slot_state(), 1), 1, 3, {kRoot, "2", "", {}, params()});
  CHECK_TRUE(s.slot[1].verity.has_value());
  CHECK_FALSE(s.slot[0].verity.has_value());
  const std::string bytes = serialize_slot_state(s);
  CHECK_TRUE(contains(bytes, "\nverity b " + format_verity(params()) + "\ncrc32 "));
  auto back = parse_slot_state(bytes);
  CHECK_TRUE_TEXT(back.ok(), back.ok() ? "" : back.error().message().c_str());
  CHECK_TRUE(*back == s);
  // Kept by the CLI's changes, cleared when the slot is written again.
  auto good = mark_good(s, 1);
  CHECK_TRUE(good.ok());
  CHECK_TRUE(good->slot[1].verity == params());
  CHECK_FALSE(begin_update(*good, 1).slot[1].verity.has_value());
  // An update without verity= leaves its slot without parameters.
  CHECK_FALSE(finish_update(*good, 1, 3, {kRoot, "3", "", {}, std::nullopt}).slot[1].verity.has_value());
}

TEST(VerityRecord, ARecordWithoutParametersIsFormat2AsBefore) {
  const std::string bytes = serialize_slot_state(initial_slot_state());
  CHECK_FALSE(contains(bytes, "verity"));
  CHECK_TRUE(contains(bytes, "\nkeys -\ncrc32 "));
}

TEST(VerityRecord, BothSlotsWithTheLongestParametersFit) {
  VerityParams v = params();
  v.data_block_size = v.hash_block_size = 65536;
  v.data_blocks = v.hash_start = uint64_t{1} << 40;
  v.salt = std::string(256, 'f');
  SlotState s = initial_slot_state();
  s.slot[0].verity = v;
  s.slot[1].verity = v;
  s.slot[1].status = SlotStatus::kGood;
  s.keys.assign(kMaxRecordKeys, std::string(64, 'c'));
  s.min_version = std::string(kMaxVersionLength, 'V');
  s.slot[0].image_id = std::string(kMaxImageIdLength, 'e');
  s.slot[0].version = std::string(kMaxVersionLength, 'V');
  auto back = parse_slot_state(serialize_slot_state(s));
  CHECK_TRUE_TEXT(back.ok(), back.ok() ? "" : back.error().message().c_str());
  CHECK_TRUE(*back == s);
}

namespace {

std::string bad_record(const std::string& verity_lines) {
  // Serialize a state with parameters for both slots, then swap in the lines under test and fix the CRC.
  SlotState s = initial_slot_state();
  s.slot[0].verity = params();
  s.slot[1].verity = params();
  std::string text = serialize_slot_state(s);
  const std::string good_lines = "verity a " + format_verity(params()) + "\nverity b " + format_verity(params()) + "\n";
  const size_t at = text.find(good_lines);
  CHECK_TRUE(at != std::string::npos);
  std::string body = text.substr(0, at) + verity_lines;
  auto r = parse_slot_state(strata::test::slot_record(body));
  CHECK_FALSE(r.ok());
  return r.ok() ? "" : r.error().message();
}

}  // namespace

TEST(VerityRecord, BadVerityLinesAreRefusedWithTheirLine) {
  const std::string p = format_verity(params());
  CHECK_TRUE(contains(bad_record("verity b " + p + "\nverity a " + p + "\n"),
                      "line 9: verity lines must be for slot a then slot b"));
  CHECK_TRUE(contains(bad_record("verity a " + p + "\nverity a " + p + "\n"), "line 9"));
  CHECK_TRUE(contains(bad_record("verity c " + p + "\n"), "line 8: expected 'verity a|b PARAMETERS'"));
  CHECK_TRUE(contains(bad_record("verity a sha1 4096\n"), "line 8: verity: expected 7 fields"));
  CHECK_TRUE(contains(bad_record("verity A " + p + "\n"), "line 8: expected 'verity a|b"));
}

TEST_GROUP(VerityManifest){};

namespace {

Manifest manifest_with_verity() {
  Manifest m;
  m.version = "2";
  m.size = (244 + 3) * 4096;
  m.sha256 = std::string(64, 'a');
  m.verity = params();
  return m;
}

}  // namespace

TEST(VerityManifest, RoundTripsInsideTheSignedText) {
  KeyPair kp = generate_keypair();
  auto block = make_bundle_header(manifest_with_verity(), kp.secret_hex);
  CHECK_TRUE_TEXT(block.ok(), block.ok() ? "" : block.error().message().c_str());
  auto h = parse_bundle_header(*block);
  CHECK_TRUE_TEXT(h.ok(), h.ok() ? "" : h.error().message().c_str());
  CHECK_TRUE(h->manifest.verity == params());
  CHECK_TRUE(contains(h->signed_text, "\nverity=" + format_verity(params()) + "\n"));
  CHECK_TRUE(verify_bundle_signature(*h, kp.public_hex).ok());
  // A changed root hash is a changed signed text: the signature no longer holds.
  std::string tampered = *block;
  const size_t at = tampered.find(kRoot);
  CHECK_TRUE(at != std::string::npos);
  tampered[at] = tampered[at] == '0' ? '1' : '0';
  auto t = parse_bundle_header(tampered);
  CHECK_TRUE(t.ok());
  CHECK_FALSE(verify_bundle_signature(*t, kp.public_hex).ok());
}

TEST(VerityManifest, ABundleWithoutVerityHasNone) {
  Manifest m = manifest_with_verity();
  m.verity.reset();
  auto block = make_bundle_header(m, "");
  CHECK_TRUE(block.ok());
  CHECK_FALSE(contains(*block, "verity"));
  auto h = parse_bundle_header(*block);
  CHECK_TRUE(h.ok());
  CHECK_FALSE(h->manifest.verity.has_value());
}

TEST(VerityManifest, TheTreeMustLieInsideTheImage) {
  Manifest m = manifest_with_verity();
  m.size = 244 * 4096;  // the data only: the tree at block 244 is past the end
  auto block = make_bundle_header(m, "");
  CHECK_FALSE(block.ok());
  CHECK_TRUE(contains(block.error().message(), "the hash tree (block 244) starts past the image's 999424 bytes"));
  m.size = 100 * 4096;
  block = make_bundle_header(m, "");
  CHECK_FALSE(block.ok());
  CHECK_TRUE(contains(block.error().message(), "244 data blocks do not fit"));
}

TEST(VerityManifest, ABadVerityLineIsRefusedWithItsLine) {
  auto block = make_bundle_header(manifest_with_verity(), "");
  CHECK_TRUE(block.ok());
  std::string text = *block;
  const size_t at = text.find("verity=sha256");
  CHECK_TRUE(at != std::string::npos);
  text.replace(at, 13, "verity=sha512");
  auto h = parse_bundle_header(text);
  CHECK_FALSE(h.ok());
  CHECK_TRUE(contains(h.error().message(), "line 5: verity: algorithm 'sha512' is not sha256"));
}
