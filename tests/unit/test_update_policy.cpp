// Who may sign an update and which versions install: compare_versions() and
// check_update_policy(), every rule of README "Security".
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "bundle.h"
#include "helpers.h"
#include "slot_state.h"
#include "update_policy.h"
#include "version.h"

using namespace strata;
using strata::test::contains;

TEST_GROUP(Versions){};

TEST(Versions, OrderLikeDebian) {
  // Each is older than the next.
  const std::vector<std::string> ordered = {"0.9", "1.0~rc1", "1.0~rc2", "1.0", "1.0-1", "1.0-2", "1.0a",    "1.0.1",
                                            "1.2", "1.10",    "1.10+b",  "2",   "10.0",  "1:0.1", "1:0.1-1", "2:0"};
  for (size_t i = 0; i < ordered.size(); ++i) {
    LONGS_EQUAL_TEXT(0, compare_versions(ordered[i], ordered[i]), ordered[i].c_str());
    for (size_t j = i + 1; j < ordered.size(); ++j) {
      CHECK_TRUE_TEXT(compare_versions(ordered[i], ordered[j]) < 0, (ordered[i] + " < " + ordered[j]).c_str());
      CHECK_TRUE_TEXT(compare_versions(ordered[j], ordered[i]) > 0, (ordered[j] + " > " + ordered[i]).c_str());
    }
  }
}

TEST(Versions, NumbersOfAnyLengthAndLeadingZeros) {
  LONGS_EQUAL(0, compare_versions("1.01", "1.1"));
  CHECK_TRUE(compare_versions("1.99999999999999999999999", "1.100000000000000000000000") < 0);
  CHECK_TRUE(compare_versions("2026.12.01", "2026.9.30") > 0);
  CHECK_TRUE(compare_versions("", "0~") > 0);
}

namespace {

struct Keys {
  KeyPair a = generate_keypair(), b = generate_keypair(), c = generate_keypair();
};

BundleHeader bundle(const std::string& version, const std::vector<std::string>& secrets,
                    const std::vector<std::string>& keys = {}, const std::string& min_version = "") {
  Manifest m;
  m.version = version;
  m.size = 1;
  m.sha256 = std::string(64, '0');
  m.keys = keys;
  m.min_version = min_version;
  auto blk = make_bundle_header(m, secrets);
  CHECK_TRUE_TEXT(blk.ok(), blk.ok() ? "" : blk.error().message().c_str());
  auto h = parse_bundle_header(*blk);
  CHECK_TRUE(h.ok());
  return *h;
}

// a running v2.0 (good), b bad: what a device looks like before an update.
SlotState record(const std::string& running_version = "2.0") {
  SlotState s = initial_slot_state();
  s.slot[0].version = running_version;
  return s;
}

void allowed(const BundleHeader& h, const SlotState& r, const UpdatePolicy& p, int running = 0) {
  Status s = check_update_policy(h, r, running, 1 - running, p);
  CHECK_TRUE_TEXT(s.ok(), s.ok() ? "" : s.error().message().c_str());
}

void refused(const BundleHeader& h, const SlotState& r, const UpdatePolicy& p, const std::string& why,
             int running = 0) {
  Status s = check_update_policy(h, r, running, 1 - running, p);
  CHECK_FALSE_TEXT(s.ok(), ("allowed; expected: " + why).c_str());
  CHECK_TRUE_TEXT(contains(s.error().message(), why), (s.error().message() + "\n  lacks: " + why).c_str());
}

}  // namespace

TEST_GROUP(UpdatePolicy){};

TEST(UpdatePolicy, NoKeysAnywhereChecksNoSignature) {
  allowed(bundle("2.1", {}), record(), {});
}

TEST(UpdatePolicy, AnyConfiguredKeySigns) {
  Keys k;
  UpdatePolicy p{{k.a.public_hex, k.b.public_hex}, false};
  allowed(bundle("2.1", {k.a.secret_hex}), record(), p);
  allowed(bundle("2.1", {k.b.secret_hex}), record(), p);
  allowed(bundle("2.1", {k.c.secret_hex, k.b.secret_hex}), record(), p);  // one trusted signature is enough
  refused(bundle("2.1", {k.c.secret_hex}), record(), p, "signed by none of the 2 keys from [update] public_key");
  refused(bundle("2.1", {}), record(), p, "the bundle is not signed, and this device requires a signature");
}

TEST(UpdatePolicy, TheRecordsKeysReplaceTheConfigs) {
  Keys k;
  SlotState r = record();
  r.keys = {k.c.public_hex};
  UpdatePolicy p{{k.a.public_hex}, false};
  CHECK(trusted_keys(r, p.config_keys) == std::vector<std::string>{k.c.public_hex});
  allowed(bundle("2.1", {k.c.secret_hex}), r, p);
  refused(bundle("2.1", {k.a.secret_hex}), r, p, "signed by none of the 1 key set by an earlier update (keys=)");
}

TEST(UpdatePolicy, AKeyChangeMustBeSignedByAKeyThatStays) {
  Keys k;
  UpdatePolicy p{{k.a.public_hex, k.b.public_hex}, false};
  // Remove a: signed by b, which stays.
  allowed(bundle("2.1", {k.b.secret_hex}, {k.b.public_hex}), record(), p);
  // Remove a, signed only by a: refused.
  refused(bundle("2.1", {k.a.secret_hex}, {k.b.public_hex}), record(), p, "signed only by keys it removes");
  // Rotate in c, signed by a which stays.
  allowed(bundle("2.1", {k.a.secret_hex}, {k.a.public_hex, k.c.public_hex}), record(), p);
  // Replace everything by c, signed by a (removed) and c (not trusted yet): refused.
  refused(bundle("2.1", {k.a.secret_hex, k.c.secret_hex}, {k.c.public_hex}), record(), p,
          "signed only by keys it removes");
  // Signed by a (trusted, removed) and b (trusted, stays): allowed.
  allowed(bundle("2.1", {k.a.secret_hex, k.b.secret_hex}, {k.b.public_hex, k.c.public_hex}), record(), p);
}

TEST(UpdatePolicy, OlderThanTheRunningVersionIsADowngrade) {
  refused(bundle("1.9", {}), record("2.0"), {}, "version '1.9' is older than '2.0', the version of slot a (running)");
  refused(bundle("2.0~rc1", {}), record("2.0"), {}, "a downgrade ([update] allow_downgrade = yes allows it)");
  allowed(bundle("2.0", {}), record("2.0"), {});  // the same version again: a reinstall
  allowed(bundle("1.9", {}), record("2.0"), {{}, true});
  allowed(bundle("0.1", {}), record(""), {});  // a running slot of unknown version
}

TEST(UpdatePolicy, OlderThanAGoodInstalledTargetIsADowngrade) {
  SlotState r = record("2.0");
  r.slot[1].status = SlotStatus::kGood;
  r.slot[1].version = "3.0";
  refused(bundle("2.5", {}), r, {}, "older than '3.0', the good version installed in slot b");
  allowed(bundle("2.5", {}), r, {{}, true});
  r.slot[1].status = SlotStatus::kBad;  // a failed or removed image counts for nothing
  allowed(bundle("2.5", {}), r, {});
}

TEST(UpdatePolicy, TheMinimumVersionHoldsEvenWithDowngradesAllowed) {
  SlotState r = record("2.0");
  r.min_version = "1.5";
  refused(bundle("1.4", {}), r, {{}, true}, "version '1.4' is older than '1.5', the minimum version this device");
  allowed(bundle("1.5", {}), r, {{}, true});
}

TEST(UpdatePolicy, FinishUpdateRaisesTheMinimumNeverLowersIt) {
  SlotState s = record();
  s = finish_update(begin_update(s, 1), 1, 3, {"ab", "3.0", "2.0", {}, std::nullopt});
  CHECK_EQUAL(std::string("2.0"), s.min_version);
  s = finish_update(begin_update(s, 0), 0, 3, {"ab", "3.1", "1.0", {}, std::nullopt});
  CHECK_EQUAL(std::string("2.0"), s.min_version);
  s = finish_update(begin_update(s, 1), 1, 3, {"ab", "3.2", "", {}, std::nullopt});
  CHECK_EQUAL(std::string("2.0"), s.min_version);
  s = finish_update(begin_update(s, 0), 0, 3, {"ab", "3.3", "2.0.1", {}, std::nullopt});
  CHECK_EQUAL(std::string("2.0.1"), s.min_version);
  // Every other transition keeps it, and the keys.
  s.keys = {std::string(64, 'a')};
  SlotState g = *mark_good(s, 0);
  CHECK_EQUAL(std::string("2.0.1"), g.min_version);
  CHECK(g.keys == s.keys);
  g = *rollback(*mark_good(finish_update(begin_update(g, 1), 1, 3, {"cd", "4", "", {}, std::nullopt}), 1), 1);
  CHECK_EQUAL(std::string("2.0.1"), g.min_version);
  CHECK(g.keys == s.keys);
  // keys= replaces them; none keeps them.
  g = finish_update(begin_update(g, 1), 1, 3, {"ef", "5", "", {std::string(64, 'b')}, std::nullopt});
  CHECK(g.keys == std::vector<std::string>{std::string(64, 'b')});
}
