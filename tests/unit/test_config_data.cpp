// load_config for the keys of the data partition, persistence and factory
// reset: [upper] mode/on_lower_change/preserve, [data], [persist], [reset],
// and the command-line words strata.reset and strata.crash_at.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "cmdline.h"
#include "config.h"
#include "helpers.h"

using namespace strata;
using strata::test::contains;
using strata::test::join;

namespace {

LoadedConfig load(const std::string& ini, const std::string& cmdline = "") {
  return strata::test::load(ini, cmdline, "data.ini");
}

// One line in `section`, expected to be taken without a diagnostic.
Config ok(const std::string& section, const std::string& line) {
  LoadedConfig lc = load("[" + section + "]\n" + line + "\n");
  CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), line.c_str());
  return lc.config;
}

// One line in `section`, expected to be refused at data.ini:2 with `reason`,
// the value named, and the default kept.
Config bad(const std::string& section, const std::string& line, const std::string& value, const std::string& reason,
           const std::string& kept) {
  LoadedConfig lc = load("[" + section + "]\n" + line + "\n");
  LONGS_EQUAL_TEXT(1, lc.diagnostics.size(), (line + "\n" + join(lc.diagnostics)).c_str());
  const Diagnostic& d = lc.diagnostics[0];
  CHECK_EQUAL_TEXT(std::string("data.ini:2"), d.where, line.c_str());
  CHECK_TRUE_TEXT(contains(d.message, "'" + value + "'"), d.message.c_str());
  CHECK_TRUE_TEXT(contains(d.message, reason), (d.message + " lacks " + reason).c_str());
  CHECK_TRUE_TEXT(contains(d.message, "using '" + kept + "' (the default) instead"), d.message.c_str());
  return lc.config;
}

// The command line alone.
LoadedConfig cmd(const std::string& cmdline, const std::string& ini = "") {
  return load(ini, cmdline);
}

}  // namespace

TEST_GROUP(ConfigDataDefaults){};

TEST(ConfigDataDefaults, EveryNewKeyHasItsDocumentedDefault) {
  const Config c = load("").config;
  CHECK(c.upper_mode == UpperMode::kTmpfs);
  CHECK(c.on_lower_change == LowerChange::kKeep);
  LONGS_EQUAL(0, c.preserve.size());
  CHECK_EQUAL(std::string("LABEL=data"), c.data_source);
  CHECK_EQUAL(std::string("auto"), c.data_fstype);
  CHECK(c.on_data_failure == DataFailure::kTmpfs);
  LONGS_EQUAL(0, c.persist_paths.size());
  CHECK_FALSE(c.persist_add_new);
  CHECK(c.reset_tier == ResetTier::kOverlay);
  CHECK_FALSE(c.reset);
  CHECK_EQUAL(std::string(""), c.crash_at);
}

TEST(ConfigDataDefaults, DescribeKeysListsTheNewKeys) {
  const std::string d = describe_keys();
  const char* lines[] = {"[upper] on_lower_change = keep ", "[upper] preserve =  ",       "[data] source = LABEL=data ",
                         "[data] fstype = auto ",           "[data] on_failure = tmpfs ", "[persist] paths =  ",
                         "[persist] new_files = keep ",     "[reset] tier = overlay "};
  for (const char* l : lines) CHECK_TRUE_TEXT(contains(d, l), l);
  CHECK_TRUE(contains(d, "persistent (on the data partition)"));
}

TEST(ConfigDataDefaults, ToStringOfTheNewEnums) {
  STRCMP_EQUAL("persistent", to_string(UpperMode::kPersistent));
  STRCMP_EQUAL("tmpfs", to_string(DataFailure::kTmpfs));
  STRCMP_EQUAL("readonly", to_string(DataFailure::kReadonly));
  STRCMP_EQUAL("rescue", to_string(DataFailure::kRescue));
  STRCMP_EQUAL("keep", to_string(LowerChange::kKeep));
  STRCMP_EQUAL("discard", to_string(LowerChange::kDiscard));
  STRCMP_EQUAL("preserve", to_string(LowerChange::kPreserve));
  STRCMP_EQUAL("overlay", to_string(ResetTier::kOverlay));
  STRCMP_EQUAL("all", to_string(ResetTier::kAll));
}

TEST_GROUP(ConfigUpperPersistent){};

TEST(ConfigUpperPersistent, ModePersistent) {
  CHECK(ok("upper", "mode = persistent").upper_mode == UpperMode::kPersistent);
  CHECK(ok("upper", "mode = tmpfs").upper_mode == UpperMode::kTmpfs);
  Config c = bad("upper", "mode = Persistent", "Persistent", "not one of: tmpfs, persistent, none", "tmpfs");
  CHECK(c.upper_mode == UpperMode::kTmpfs);
}

TEST(ConfigUpperPersistent, OnLowerChange) {
  CHECK(ok("upper", "on_lower_change = keep").on_lower_change == LowerChange::kKeep);
  CHECK(ok("upper", "on_lower_change = discard").on_lower_change == LowerChange::kDiscard);
  CHECK(ok("upper", "on_lower_change = preserve").on_lower_change == LowerChange::kPreserve);
  Config c = bad("upper", "on_lower_change = wipe", "wipe", "not one of: keep, discard, preserve", "keep");
  CHECK(c.on_lower_change == LowerChange::kKeep);
}

TEST(ConfigUpperPersistent, PreserveListIsNormalised) {
  Config c = ok("upper", "preserve = /etc/app/, /home/user/.config  /var/lib/db/.");
  CHECK_EQUAL(std::string("[/etc/app][/home/user/.config][/var/lib/db]"), join(c.preserve));
}

TEST(ConfigUpperPersistent, PreserveWithABadPathKeepsNothing) {
  Config c = bad("upper", "preserve = /etc/app relative/path", "/etc/app relative/path",
                 "'relative/path' is not an absolute path below /", "");
  LONGS_EQUAL(0, c.preserve.size());
  c = bad("upper", "preserve = /etc/app/../..", "/etc/app/../..", "not an absolute path below /", "");
  LONGS_EQUAL(0, c.preserve.size());
  c = bad("upper", "preserve = /", "/", "not an absolute path below /", "");
  LONGS_EQUAL(0, c.preserve.size());
}

TEST(ConfigUpperPersistent, PreserveBadValueAfterAGoodOneKeepsTheGoodOne) {
  LoadedConfig lc = load("[upper]\npreserve = /etc/a\npreserve = x\n");
  CHECK_EQUAL(std::string("[/etc/a]"), join(lc.config.preserve));
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("data.ini:3"), lc.diagnostics[0].where);
  CHECK_TRUE_TEXT(contains(lc.diagnostics[0].message, "using '/etc/a' instead"), lc.diagnostics[0].message.c_str());
}

TEST_GROUP(ConfigData){};

TEST(ConfigData, SourceTakesEveryKindOfSpec) {
  for (const char* spec :
       {"LABEL=userdata", "UUID=3f1c-9a2b", "PARTUUID=0011aabb-03", "PARTLABEL=data", "/dev/mmcblk0p3"}) {
    Config c = ok("data", std::string("source = ") + spec);
    CHECK_EQUAL_TEXT(std::string(spec), c.data_source, spec);
  }
}

TEST(ConfigData, SourceRefusesOtherText) {
  Config c =
      bad("data", "source = data", "data", "not LABEL=, UUID=, PARTUUID=, PARTLABEL= or a /dev/ path", "LABEL=data");
  CHECK_EQUAL(std::string("LABEL=data"), c.data_source);
  c = bad("data", "source = LABLE=x", "LABLE=x", "not LABEL=", "LABEL=data");
  CHECK_EQUAL(std::string("LABEL=data"), c.data_source);
}

TEST(ConfigData, Fstype) {
  CHECK_EQUAL(std::string("ext4"), ok("data", "fstype = ext4").data_fstype);
  CHECK_EQUAL(std::string("f2fs"), ok("data", "fstype = f2fs").data_fstype);
  CHECK_EQUAL(std::string("auto"), ok("data", "fstype = auto").data_fstype);
  // Lower-layer types and others are not data filesystems.
  for (const char* t : {"squashfs", "vfat", "btrfs", "EXT4", ""}) {
    Config c = bad("data", std::string("fstype = ") + t, t, "not one of: auto, ext4, f2fs", "auto");
    CHECK_EQUAL_TEXT(std::string("auto"), c.data_fstype, t);
  }
}

TEST(ConfigData, OnFailure) {
  CHECK(ok("data", "on_failure = tmpfs").on_data_failure == DataFailure::kTmpfs);
  CHECK(ok("data", "on_failure = readonly").on_data_failure == DataFailure::kReadonly);
  CHECK(ok("data", "on_failure = rescue").on_data_failure == DataFailure::kRescue);
  Config c = bad("data", "on_failure = format", "format", "not one of: tmpfs, readonly, rescue", "tmpfs");
  CHECK(c.on_data_failure == DataFailure::kTmpfs);
  // [boot] on_failure is a different key with different values.
  c = bad("data", "on_failure = reboot", "reboot", "not one of: tmpfs, readonly, rescue", "tmpfs");
  CHECK(c.on_data_failure == DataFailure::kTmpfs);
}

TEST_GROUP(ConfigPersist){};

TEST(ConfigPersist, Paths) {
  Config c = ok("persist", "paths = /var/lib/app,/etc/ssh/ /home");
  CHECK_EQUAL(std::string("[/var/lib/app][/etc/ssh][/home]"), join(c.persist_paths));
  c = bad("persist", "paths = /var/lib/app var", "/var/lib/app var", "'var' is not an absolute path below /", "");
  LONGS_EQUAL(0, c.persist_paths.size());
}

TEST(ConfigPersist, EmptyPathsAreValid) {
  Config c = ok("persist", "paths =");
  LONGS_EQUAL(0, c.persist_paths.size());
}

TEST(ConfigPersist, NewFiles) {
  CHECK_FALSE(ok("persist", "new_files = keep").persist_add_new);
  CHECK_TRUE(ok("persist", "new_files = add").persist_add_new);
  Config c = bad("persist", "new_files = yes", "yes", "not one of: keep, add", "keep");
  CHECK_FALSE(c.persist_add_new);
  LoadedConfig lc = load("[persist]\nnew_files = add\nnew_files = merge\n");
  CHECK_TRUE(lc.config.persist_add_new);  // the earlier valid value stays
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_TRUE_TEXT(contains(lc.diagnostics[0].message, "using 'add' instead"), lc.diagnostics[0].message.c_str());
}

TEST_GROUP(ConfigReset){};

TEST(ConfigReset, Tier) {
  CHECK(ok("reset", "tier = overlay").reset_tier == ResetTier::kOverlay);
  CHECK(ok("reset", "tier = all").reset_tier == ResetTier::kAll);
  Config c = bad("reset", "tier = everything", "everything", "not one of: overlay, all", "overlay");
  CHECK(c.reset_tier == ResetTier::kOverlay);
}

TEST(ConfigReset, TierInTheFileAloneDoesNotReset) {
  LoadedConfig lc = load("[reset]\ntier = all\n");
  CHECK_FALSE(lc.config.reset);
  CHECK(lc.config.reset_tier == ResetTier::kAll);
}

TEST_GROUP(ConfigResetCmdline){};

TEST(ConfigResetCmdline, BareAndOneUseTheConfiguredTier) {
  for (const char* w : {"strata.reset", "strata.reset=1", "strata.reset=yes"}) {
    LoadedConfig lc = cmd(w);
    CHECK_TRUE_TEXT(lc.config.reset, w);
    CHECK_TEXT(lc.config.reset_tier == ResetTier::kOverlay, w);
    CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), w);
    lc = cmd(w, "[reset]\ntier = all\n");
    CHECK_TRUE_TEXT(lc.config.reset, w);
    CHECK_TEXT(lc.config.reset_tier == ResetTier::kAll, w);
  }
}

TEST(ConfigResetCmdline, OverlayAndAllNameTheTier) {
  LoadedConfig lc = cmd("strata.reset=all");
  CHECK_TRUE(lc.config.reset);
  CHECK(lc.config.reset_tier == ResetTier::kAll);
  lc = cmd("strata.reset=overlay", "[reset]\ntier = all\n");
  CHECK_TRUE(lc.config.reset);
  CHECK(lc.config.reset_tier == ResetTier::kOverlay);
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
}

TEST(ConfigResetCmdline, ZeroMeansNoReset) {
  for (const char* w : {"strata.reset=0", "strata.reset=no"}) {
    LoadedConfig lc = cmd(w);
    CHECK_FALSE_TEXT(lc.config.reset, w);
    CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), w);
  }
}

TEST(ConfigResetCmdline, GarbageIsReportedAndDoesNotReset) {
  LoadedConfig lc = cmd("strata.reset=everything");
  CHECK_FALSE(lc.config.reset);
  CHECK_EQUAL(std::string("kernel command line (strata.reset): 'everything' is not 1, overlay, all or 0; no reset\n"),
              join(lc.diagnostics));
  lc = cmd("strata.reset=");
  CHECK_FALSE(lc.config.reset);
  LONGS_EQUAL(1, lc.diagnostics.size());
}

// Later words override earlier ones, as for every other word: a reset
// asked for and then taken back does not happen.
TEST(ConfigResetCmdline, ALaterZeroCancelsAnEarlierReset) {
  LoadedConfig lc = cmd("strata.reset=all strata.reset=0");
  CHECK_FALSE(lc.config.reset);
  lc = cmd("strata.reset strata.reset=no");
  CHECK_FALSE(lc.config.reset);
  lc = cmd("strata.reset=0 strata.reset=1");
  CHECK_TRUE(lc.config.reset);
}

// A factory reset destroys data: a garbled word that says "no reset" must
// not leave an earlier word's reset in force.
TEST(ConfigResetCmdline, ALaterGarbledWordLeavesNoReset) {
  LoadedConfig lc = cmd("strata.reset=1 strata.reset=al");
  CHECK_FALSE(lc.config.reset);
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_TRUE(contains(lc.diagnostics[0].message, "'al' is not 1, overlay, all or 0; no reset"));
}

TEST(ConfigResetCmdline, SectionKeyFormSetsTheTierOnly) {
  LoadedConfig lc = cmd("strata.reset.tier=all");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK(lc.config.reset_tier == ResetTier::kAll);
  CHECK_FALSE(lc.config.reset);
}

TEST(ConfigResetCmdline, CrashAt) {
  for (const char* point : {"reset-upper-moved", "reset-persist-moved", "reset-done"}) {
    LoadedConfig lc = cmd(std::string("quiet strata.crash_at=") + point);
    CHECK_EQUAL_TEXT(std::string(point), lc.config.crash_at, point);
    CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), point);
    CHECK_FALSE(lc.config.reset);  // fault injection alone asks for nothing
  }
  CHECK_EQUAL(std::string("reset-done"),
              cmd("strata.crash_at=reset-upper-moved strata.crash_at=reset-done").config.crash_at);
  CHECK_EQUAL(std::string(""), cmd("strata.crash_at").config.crash_at);
}

TEST(ConfigResetCmdline, DataKeysFromTheCommandLine) {
  LoadedConfig lc =
      cmd("strata.upper.mode=persistent strata.data.source=PARTLABEL=userdata strata.data.fstype=f2fs "
          "strata.data.on_failure=readonly strata.persist.paths=\"/var/lib/a /etc/b\" strata.persist.new_files=add "
          "strata.upper.on_lower_change=preserve strata.upper.preserve=/home/u/.config",
          "[upper]\nmode = tmpfs\n[data]\nsource = LABEL=data\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK(lc.config.upper_mode == UpperMode::kPersistent);
  CHECK_EQUAL(std::string("PARTLABEL=userdata"), lc.config.data_source);
  CHECK_EQUAL(std::string("f2fs"), lc.config.data_fstype);
  CHECK(lc.config.on_data_failure == DataFailure::kReadonly);
  CHECK_EQUAL(std::string("[/var/lib/a][/etc/b]"), join(lc.config.persist_paths));
  CHECK_TRUE(lc.config.persist_add_new);
  CHECK(lc.config.on_lower_change == LowerChange::kPreserve);
  CHECK_EQUAL(std::string("[/home/u/.config]"), join(lc.config.preserve));
  CHECK_EQUAL(std::string("PARTLABEL=userdata"), lc.values["data.source"]);
  CHECK_EQUAL(std::string("persistent"), lc.values["upper.mode"]);
}

TEST(ConfigResetCmdline, BadDataKeyOnTheCommandLineKeepsTheFilesValue) {
  LoadedConfig lc = cmd("strata.data.fstype=xfs", "[data]\nfstype = ext4\n");
  CHECK_EQUAL(std::string("ext4"), lc.config.data_fstype);
  CHECK_EQUAL(std::string("kernel command line (strata.data.fstype): [data] fstype = 'xfs': not one of: auto, ext4, "
                          "f2fs; using 'ext4' instead\n"),
              join(lc.diagnostics));
}
