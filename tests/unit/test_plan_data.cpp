// decide(), required_devices() and format_plan() with a data partition: a
// persistent upper, persistent paths, [data] on_failure, strata.reset.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "plan.h"

using namespace strata;
using strata::test::contains;
using strata::test::dev;
using strata::test::join;
using strata::test::kOverlayOptions;

namespace {

// Root PARTLABEL=root-a on /dev/vda1 (squashfs); the data partition, if
// `data_type` is not null, on /dev/vda3 labelled "data" holding that type.
Facts facts(const char* data_type = "ext4") {
  Facts f;
  f.devices = {dev("/dev/vda", "", ""), dev("/dev/vda1", "squashfs", "root-a"), dev("/dev/vda2", "squashfs", "root-b")};
  if (data_type) f.devices.push_back(dev("/dev/vda3", data_type, "userdata", "data"));
  f.config.upper_mode = UpperMode::kPersistent;
  return f;
}

void check_warning(const BootPlan& p, const std::string& text) {
  bool found = false;
  for (const auto& w : p.warnings) found |= contains(w, text);
  CHECK_TRUE_TEXT(found, ("no warning contains '" + text + "': " + join(p.warnings)).c_str());
}

void check_no_warning(const BootPlan& p, const std::string& text) {
  for (const auto& w : p.warnings) CHECK_FALSE_TEXT(contains(w, text), ("unexpected warning: " + w).c_str());
}

// What every fallback from an unusable data partition has in common.
void check_data_not_used(const BootPlan& p) {
  CHECK_FALSE(p.use_data);
  CHECK_EQUAL(std::string(""), p.data_device);
  CHECK_EQUAL(std::string(""), p.data_fstype);
  LONGS_EQUAL(0, p.persist_paths.size());
  CHECK(p.configured_upper_mode == UpperMode::kPersistent);
  CHECK_TRUE(p.degraded);
}

void check_tmpfs_fallback(const BootPlan& p, const std::string& reason) {
  CHECK_EQUAL(std::string(""), p.fatal);
  check_data_not_used(p);
  CHECK(p.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("mode=0755,size=50%"), p.tmpfs_options);
  CHECK_EQUAL(std::string(kOverlayOptions), p.overlay_options);
  LONGS_EQUAL(1, p.warnings.size());
  check_warning(p, reason);
  check_warning(p, "booting with a tmpfs upper, changes are lost at reboot (data on_failure = tmpfs)");
}

void check_readonly_fallback(const BootPlan& p, const std::string& reason) {
  CHECK_EQUAL(std::string(""), p.fatal);
  check_data_not_used(p);
  CHECK(p.upper_mode == UpperMode::kNone);
  CHECK_EQUAL(std::string(""), p.tmpfs_options);
  CHECK_EQUAL(std::string(""), p.overlay_options);
  LONGS_EQUAL(1, p.warnings.size());
  check_warning(p, reason);
  check_warning(p, "booting the root image alone, read-only (data on_failure = readonly)");
}

void check_rescue(const BootPlan& p, const std::string& reason) {
  CHECK_TRUE_TEXT(contains(p.fatal, reason), p.fatal.c_str());
  CHECK_TRUE_TEXT(contains(p.fatal, "(data on_failure = rescue)"), p.fatal.c_str());
  CHECK_FALSE(p.use_data);
  CHECK_TRUE(p.degraded);
}

// Runs the three policies on `f` and checks each against `reason`.
void check_every_policy(Facts f, const std::string& reason) {
  f.config.on_data_failure = DataFailure::kTmpfs;
  check_tmpfs_fallback(decide(f), reason);
  f.config.on_data_failure = DataFailure::kReadonly;
  check_readonly_fallback(decide(f), reason);
  f.config.on_data_failure = DataFailure::kRescue;
  check_rescue(decide(f), reason);
}

}  // namespace

TEST_GROUP(DecideData){};

TEST(DecideData, PersistentUpperOnTheDataPartition) {
  BootPlan p = decide(facts());
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string("LABEL=data"), p.data_spec);
  CHECK_EQUAL(std::string("/dev/vda3"), p.data_device);
  CHECK_EQUAL(std::string("ext4"), p.data_fstype);
  CHECK(p.upper_mode == UpperMode::kPersistent);
  CHECK(p.configured_upper_mode == UpperMode::kPersistent);
  CHECK_EQUAL(std::string(""), p.tmpfs_options);  // no tmpfs in this boot
  CHECK_EQUAL(std::string(kOverlayOptions), p.overlay_options);
  CHECK_EQUAL(std::string(""), join(p.warnings));
  CHECK_FALSE(p.degraded);
  CHECK_FALSE(p.reset);
  // The lower is resolved as before.
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
}

TEST(DecideData, F2fsDataPartition) {
  BootPlan p = decide(facts("f2fs"));
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string("f2fs"), p.data_fstype);
  CHECK_FALSE(p.degraded);
}

TEST(DecideData, EachKindOfDataSpec) {
  Facts f = facts();
  f.devices[3].uuid = "1234-abcd";
  f.devices[3].partuuid = "0011aabb-03";
  for (const char* spec : {"/dev/vda3", "LABEL=data", "UUID=1234-ABCD", "PARTUUID=0011aabb-03", "PARTLABEL=userdata"}) {
    f.config.data_source = spec;
    BootPlan p = decide(f);
    CHECK_TRUE_TEXT(p.use_data, spec);
    CHECK_EQUAL_TEXT(std::string("/dev/vda3"), p.data_device, spec);
    CHECK_EQUAL_TEXT(std::string(spec), p.data_spec, spec);
  }
}

TEST(DecideData, ConfiguredFstypeIsUsedOverTheProbe) {
  Facts f = facts("ext4");
  f.config.data_fstype = "f2fs";
  BootPlan p = decide(f);
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string("f2fs"), p.data_fstype);
  // A configured type also stands in for a device that probes as nothing.
  f = facts("");
  f.config.data_fstype = "ext4";
  p = decide(f);
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string("ext4"), p.data_fstype);
}

TEST(DecideData, PersistentSettingsAreCarriedOver) {
  Facts f = facts();
  f.config.on_lower_change = LowerChange::kPreserve;
  f.config.preserve = {"/etc/app", "/home/u/.config"};
  f.config.persist_paths = {"/var/lib/app"};
  f.config.persist_add_new = true;
  f.config.reset = true;
  f.config.reset_tier = ResetTier::kAll;
  f.config.crash_at = "reset-done";
  BootPlan p = decide(f);
  CHECK(p.on_lower_change == LowerChange::kPreserve);
  CHECK_EQUAL(std::string("[/etc/app][/home/u/.config]"), join(p.preserve));
  CHECK_EQUAL(std::string("[/var/lib/app]"), join(p.persist_paths));
  CHECK_TRUE(p.persist_add_new);
  CHECK_TRUE(p.reset);
  CHECK(p.reset_tier == ResetTier::kAll);
  CHECK_EQUAL(std::string("reset-done"), p.crash_at);
  CHECK_EQUAL(std::string(""), join(p.warnings));
}

TEST(DecideData, MissingDataPartitionUnderEachPolicy) {
  check_every_policy(facts(nullptr), "data partition LABEL=data not found");
}

TEST(DecideData, MissingDataPartitionNamesTheConfiguredSpec) {
  Facts f = facts(nullptr);
  f.config.data_source = "PARTLABEL=userdata";
  check_every_policy(f, "data partition PARTLABEL=userdata not found");
}

TEST(DecideData, DataPartitionOfTheWrongType) {
  check_every_policy(facts("vfat"), "the data partition /dev/vda3 (LABEL=data) holds vfat, not ext4 or f2fs");
  check_every_policy(facts("squashfs"), "holds squashfs, not ext4 or f2fs");
}

TEST(DecideData, DataPartitionWithNoFilesystem) {
  check_every_policy(facts(""), "no filesystem found on the data partition /dev/vda3 (LABEL=data)");
}

// An earlier attempt could not mount or probe it: the same fallbacks, with
// that reason, even though the device is there and of the right type.
TEST(DecideData, DataErrorFromAnEarlierAttempt) {
  Facts f = facts("ext4");
  f.data_error = "data partition /dev/vda3 (LABEL=data): the data filesystem cannot hold trusted.* xattrs";
  check_every_policy(f, f.data_error);
  f.config.on_data_failure = DataFailure::kTmpfs;
  check_no_warning(decide(f), "not found");
}

TEST(DecideData, FallbackKeepsTheConfiguredTmpfsSize) {
  Facts f = facts(nullptr);
  f.config.upper_size = "32m";
  f.config.upper_inodes = 5000;
  BootPlan p = decide(f);
  CHECK(p.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("mode=0755,size=32m,nr_inodes=5000"), p.tmpfs_options);
}

TEST(DecideData, RootProblemsStillComeFirst) {
  Facts f = facts(nullptr);
  f.config.on_data_failure = DataFailure::kRescue;
  f.config.root_source = "PARTLABEL=root-c";
  BootPlan p = decide(f);
  CHECK_TRUE_TEXT(contains(p.fatal, "root device PARTLABEL=root-c not found"), p.fatal.c_str());
  CHECK_FALSE(contains(p.fatal, "data"));
}

TEST(DecideData, ConfigDiagnosticsAndDataWarningBothShow) {
  Facts f = facts(nullptr);
  f.diagnostics = {{"x.ini:3", "bad"}};
  BootPlan p = decide(f);
  LONGS_EQUAL(2, p.warnings.size());
  CHECK_EQUAL(std::string("config: x.ini:3: bad"), p.warnings[0]);
  CHECK_TRUE(contains(p.warnings[1], "LABEL=data not found"));
}

TEST_GROUP(DecidePersistPaths){};

TEST(DecidePersistPaths, WithATmpfsUpperTheyUseTheDataPartition) {
  Facts f = facts();
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.persist_paths = {"/var/lib/app", "/etc/ssh"};
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK(p.upper_mode == UpperMode::kTmpfs);
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string("/dev/vda3"), p.data_device);
  CHECK_EQUAL(std::string("[/var/lib/app][/etc/ssh]"), join(p.persist_paths));
  CHECK_EQUAL(std::string("mode=0755,size=50%"), p.tmpfs_options);
  CHECK_FALSE(p.degraded);
  CHECK_EQUAL(std::string(""), join(p.warnings));
}

TEST(DecidePersistPaths, DroppedWithAWarningWhenTheDataPartitionIsMissing) {
  Facts f = facts(nullptr);
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.persist_paths = {"/var/lib/app"};
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK(p.upper_mode == UpperMode::kTmpfs);  // the configured tmpfs, nothing to fall back from
  CHECK(p.configured_upper_mode == UpperMode::kTmpfs);
  CHECK_FALSE(p.use_data);
  LONGS_EQUAL(0, p.persist_paths.size());
  CHECK_TRUE(p.degraded);
  CHECK_EQUAL(std::string("[persistent paths are not persistent this boot: data partition LABEL=data not found]"),
              join(p.warnings));
}

TEST(DecidePersistPaths, DroppedWhenTheDataPartitionIsUnusable) {
  Facts f = facts("vfat");
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.persist_paths = {"/var/lib/app"};
  BootPlan p = decide(f);
  LONGS_EQUAL(0, p.persist_paths.size());
  CHECK_FALSE(p.use_data);
  check_warning(p,
                "persistent paths are not persistent this boot: the data partition /dev/vda3 (LABEL=data) holds vfat");
  f = facts("ext4");
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.persist_paths = {"/var/lib/app"};
  f.data_error = "mount failed: EIO";
  p = decide(f);
  LONGS_EQUAL(0, p.persist_paths.size());
  check_warning(p, "persistent paths are not persistent this boot: mount failed: EIO");
}

TEST(DecidePersistPaths, WithAPersistentUpperBothFallBack) {
  Facts f = facts(nullptr);
  f.config.persist_paths = {"/var/lib/app"};
  f.config.on_data_failure = DataFailure::kReadonly;
  BootPlan p = decide(f);
  CHECK(p.upper_mode == UpperMode::kNone);
  LONGS_EQUAL(0, p.persist_paths.size());
  LONGS_EQUAL(2, p.warnings.size());
  check_warning(p, "(data on_failure = readonly)");
  check_warning(p, "persistent paths are not persistent this boot");
}

TEST(DecidePersistPaths, NoDataWantedNoDataUsed) {
  Facts f = facts();
  f.config.upper_mode = UpperMode::kTmpfs;
  BootPlan p = decide(f);
  CHECK_FALSE(p.use_data);
  CHECK_EQUAL(std::string(""), p.data_device);
  // Nor does a missing data partition matter then.
  f = facts(nullptr);
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.on_data_failure = DataFailure::kRescue;
  p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_FALSE(p.degraded);
  CHECK_EQUAL(std::string(""), join(p.warnings));
}

TEST_GROUP(DecideReset){};

TEST(DecideReset, WithTheDataPartitionNoWarning) {
  Facts f = facts();
  f.config.reset = true;
  BootPlan p = decide(f);
  CHECK_TRUE(p.reset);
  CHECK(p.reset_tier == ResetTier::kOverlay);
  CHECK_TRUE(p.use_data);
  CHECK_EQUAL(std::string(""), join(p.warnings));
  CHECK_FALSE(p.degraded);
}

TEST(DecideReset, WithoutADataPartitionConfiguredWarns) {
  Facts f = facts();
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.reset = true;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_EQUAL(std::string("[strata.reset: no data partition in use, nothing persistent to reset]"), join(p.warnings));
}

TEST(DecideReset, WithTheDataPartitionMissingWarnsToo) {
  Facts f = facts(nullptr);
  f.config.reset = true;
  BootPlan p = decide(f);
  LONGS_EQUAL(2, p.warnings.size());
  check_warning(p, "LABEL=data not found");
  check_warning(p, "strata.reset: no data partition in use");
}

TEST(DecideReset, NoResetNoWarning) {
  Facts f = facts(nullptr);
  BootPlan p = decide(f);
  check_no_warning(p, "strata.reset");
}

TEST_GROUP(RequiredDevicesData){};

TEST(RequiredDevicesData, RootOnlyWithoutPersistence) {
  Config c;
  c.upper_mode = UpperMode::kTmpfs;
  auto r = required_devices(c);
  LONGS_EQUAL(1, r.size());
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), r[0].text());
  c.upper_mode = UpperMode::kNone;
  LONGS_EQUAL(1, required_devices(c).size());
}

TEST(RequiredDevicesData, PersistentUpperAddsTheDataPartition) {
  Config c;
  c.upper_mode = UpperMode::kPersistent;
  c.data_source = "PARTUUID=0011aabb-03";
  auto r = required_devices(c);
  LONGS_EQUAL(2, r.size());
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), r[0].text());
  LONGS_EQUAL(DeviceSpec::kPartUuid, r[1].kind);
  CHECK_EQUAL(std::string("PARTUUID=0011aabb-03"), r[1].text());
}

TEST(RequiredDevicesData, PersistentPathsAddTheDataPartition) {
  Config c;
  c.persist_paths = {"/var/lib/app"};
  auto r = required_devices(c);
  LONGS_EQUAL(2, r.size());
  CHECK_EQUAL(std::string("LABEL=data"), r[1].text());
}

TEST(RequiredDevicesData, UnparsableDataSourceIsNotWaitedFor) {
  Config c;
  c.upper_mode = UpperMode::kPersistent;
  c.data_source = "nonsense";
  auto r = required_devices(c);
  LONGS_EQUAL(1, r.size());
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), r[0].text());
}

TEST_GROUP(FormatPlanData){};

TEST(FormatPlanData, PersistentUpperWithResetPreserveAndPersistentPaths) {
  Facts f = facts();
  f.config.reset = true;
  f.config.reset_tier = ResetTier::kAll;
  f.config.on_lower_change = LowerChange::kPreserve;
  f.config.preserve = {"/etc/app", "/home/u"};
  f.config.persist_paths = {"/var/lib/app"};
  f.config.persist_add_new = true;
  const std::string o = format_plan(decide(f));
  CHECK_TRUE_TEXT(contains(o, "data: /dev/vda3 (LABEL=data) ext4, read-write, at /run/strata/data\n"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "reset: all (strata.reset), before mounting\n"), o.c_str());
  CHECK_TRUE_TEXT(contains(o,
                           "upper: persistent, /run/strata/data/strata/upper bound at /run/strata/upper; if the "
                           "lower changed: preserve /etc/app /home/u\n"),
                  o.c_str());
  CHECK_TRUE_TEXT(contains(o,
                           "bind read-write: /var/lib/app from /run/strata/data/strata/persist/var/lib/app (new "
                           "files from the image added)\n"),
                  o.c_str());
  CHECK_TRUE_TEXT(contains(o, "root: overlay (lowerdir=/run/strata/lower,upperdir=/run/strata/upper/data"), o.c_str());
  CHECK_FALSE_TEXT(contains(o, "upper: tmpfs"), o.c_str());
  CHECK_FALSE_TEXT(contains(o, "degraded"), o.c_str());
}

TEST(FormatPlanData, FallbackShowsTheTmpfsUpperAndTheWarning) {
  const std::string o = format_plan(decide(facts(nullptr)));
  CHECK_FALSE_TEXT(contains(o, "data: "), o.c_str());
  CHECK_FALSE_TEXT(contains(o, "upper: persistent"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "upper: tmpfs (mode=0755,size=50%)"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "warning: data partition LABEL=data not found; booting with a tmpfs upper"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "degraded: yes\n"), o.c_str());
}

TEST(FormatPlanData, KeptPersistentPathsWithoutAdd) {
  Facts f = facts();
  f.config.upper_mode = UpperMode::kTmpfs;
  f.config.persist_paths = {"/etc/ssh"};
  const std::string o = format_plan(decide(f));
  CHECK_TRUE_TEXT(contains(o, "bind read-write: /etc/ssh from /run/strata/data/strata/persist/etc/ssh\n"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "data: /dev/vda3"), o.c_str());
  CHECK_FALSE_TEXT(contains(o, "reset:"), o.c_str());
}

TEST(FormatPlanData, APersistentPathWithDotDotIsKeyedByItsLexicalName) {
  // Resolved inside the new root at boot; the tree never climbs out of persist/.
  Facts f = facts();
  f.config.persist_paths = {"/etc/../../srv/up"};
  const std::string o = format_plan(decide(f));
  CHECK_TRUE_TEXT(contains(o, "bind read-write: /etc/../../srv/up from /run/strata/data/strata/persist/srv/up\n"),
                  o.c_str());
}
