// load_config: defaults, every key, diagnostics and command-line overrides.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "cmdline.h"
#include "config.h"
#include "helpers.h"

using namespace strata;
using strata::test::contains;
using strata::test::join;
using strata::test::load;

namespace {

// One key set from the file, expecting it to be taken.
LoadedConfig load_ok(const std::string& section, const std::string& line) {
  LoadedConfig lc = load("[" + section + "]\n" + line + "\n");
  CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), line.c_str());
  return lc;
}

// One key set from the file, expecting it to be refused with exactly one
// diagnostic, at line 2, that names the value and the reason.
LoadedConfig load_bad(const std::string& section, const std::string& line, const std::string& reason) {
  LoadedConfig lc = load("[" + section + "]\n" + line + "\n");
  LONGS_EQUAL_TEXT(1, lc.diagnostics.size(), (line + "\n" + join(lc.diagnostics)).c_str());
  CHECK_EQUAL_TEXT(std::string("test.ini:2"), lc.diagnostics[0].where, line.c_str());
  CHECK_TRUE_TEXT(contains(lc.diagnostics[0].message, reason),
                  (lc.diagnostics[0].message + " lacks " + reason).c_str());
  CHECK_TRUE_TEXT(contains(lc.diagnostics[0].message, "(the default) instead"), lc.diagnostics[0].message.c_str());
  return lc;
}

void check_defaults(const Config& c) {
  CHECK_EQUAL(std::string("/sbin/init"), c.init);
  CHECK(c.on_failure == FailurePolicy::kRescue);
  LONGS_EQUAL(10, c.reboot_delay_s);
  LONGS_EQUAL(10000, c.device_timeout_ms);
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), c.root_source);
  CHECK_EQUAL(std::string("auto"), c.root_fstype);
  CHECK_EQUAL(std::string(""), c.root_image);
  CHECK_EQUAL(std::string("auto"), c.root_image_fstype);
  CHECK(c.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("50%"), c.upper_size);
  UNSIGNED_LONGLONGS_EQUAL(0, c.upper_inodes);
  LONGS_EQUAL(0, c.readonly_binds.size());
  CHECK_TRUE(c.bind_nosuid);
  CHECK_TRUE(c.bind_nodev);
  CHECK_FALSE(c.bind_noexec);
  LONGS_EQUAL(0, c.break_at.size());
  CHECK_FALSE(c.debug);
}

std::string stages(const Config& c) {
  std::string out;
  for (const auto& s : c.break_at) out += "[" + s + "]";
  return out;
}

}  // namespace

TEST_GROUP(ConfigDefaults){};

TEST(ConfigDefaults, EmptyFileAndCommandLineGiveTheDefaults) {
  LoadedConfig lc = load("");
  check_defaults(lc.config);
  LONGS_EQUAL(0, lc.diagnostics.size());
  LONGS_EQUAL(0, lc.values.size());
}

TEST(ConfigDefaults, CommentsAndBlankLinesOnlyGiveTheDefaults) {
  LoadedConfig lc = load("; strata\n\n# nothing set\n[boot]\n\n[root]\n");
  check_defaults(lc.config);
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
}

TEST(ConfigDefaults, DescribeKeysListsEveryKeyWithItsDefault) {
  const std::string d = describe_keys();
  const char* lines[] = {"[boot] init = /sbin/init ",
                         "[boot] on_failure = rescue ",
                         "[boot] reboot_delay = 10 ",
                         "[boot] device_timeout_ms = 10000 ",
                         "[root] source = PARTLABEL=root-a ",
                         "[root] fstype = auto ",
                         "[root] image =  ",
                         "[root] image_fstype = auto ",
                         "[upper] mode = tmpfs ",
                         "[upper] size = 50% ",
                         "[upper] inodes = 0 ",
                         "[binds] readonly =  ",
                         "[binds] nosuid = yes ",
                         "[binds] nodev = yes ",
                         "[binds] noexec = no "};
  for (const char* l : lines) CHECK_TRUE_TEXT(contains(d, l), l);
}

TEST(ConfigDefaults, ToString) {
  STRCMP_EQUAL("tmpfs", to_string(UpperMode::kTmpfs));
  STRCMP_EQUAL("none", to_string(UpperMode::kNone));
  STRCMP_EQUAL("rescue", to_string(FailurePolicy::kRescue));
  STRCMP_EQUAL("reboot", to_string(FailurePolicy::kReboot));
}

TEST(ConfigDefaults, TheBoardExampleLoadsCleanly) {
  LoadedConfig lc = load(
      "; strata configuration of the qemu-aarch64 demo board.\n"
      "[boot]\ninit = /sbin/init\non_failure = rescue\ndevice_timeout_ms = 10000\n\n"
      "[root]\nsource = PARTLABEL=root-a\nfstype = auto\n\n"
      "[upper]\nmode = tmpfs\nsize = 64m\n\n"
      "[binds]\nreadonly = /etc/factory\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK_EQUAL(std::string("[/etc/factory]"), join(lc.config.readonly_binds));
  CHECK_EQUAL(std::string("64m"), lc.values["upper.size"]);
}

TEST_GROUP(ConfigBoot){};

TEST(ConfigBoot, Init) {
  CHECK_EQUAL(std::string("/usr/lib/systemd/systemd"), load_ok("boot", "init = /usr/lib/systemd/systemd").config.init);
  CHECK_EQUAL(std::string("/sbin/init"), load_bad("boot", "init = sbin/init", "not an absolute path").config.init);
  load_bad("boot", "init = /sbin/../bin/sh", "not an absolute path");
  load_bad("boot", "init = /sbin/..", "not an absolute path");
  load_bad("boot", "init =", "not an absolute path");
}

TEST(ConfigBoot, OnFailure) {
  CHECK(load_ok("boot", "on_failure = reboot").config.on_failure == FailurePolicy::kReboot);
  CHECK(load_ok("boot", "on_failure = rescue").config.on_failure == FailurePolicy::kRescue);
  LoadedConfig lc = load_bad("boot", "on_failure = Reboot", "not [fallback-slot,] rescue|reboot");
  CHECK(lc.config.on_failure == FailurePolicy::kRescue);
  load_bad("boot", "on_failure = panic", "not [fallback-slot,] rescue|reboot");
}

TEST(ConfigBoot, RebootDelay) {
  LONGS_EQUAL(0, load_ok("boot", "reboot_delay = 0").config.reboot_delay_s);
  LONGS_EQUAL(3600, load_ok("boot", "reboot_delay = 3600").config.reboot_delay_s);
  LONGS_EQUAL(10, load_bad("boot", "reboot_delay = 3601", "out of range 0..3600").config.reboot_delay_s);
  load_bad("boot", "reboot_delay = -1", "out of range 0..3600");
  load_bad("boot", "reboot_delay = 5s", "not a whole number");
  load_bad("boot", "reboot_delay = +5", "not a whole number");
  load_bad("boot", "reboot_delay = 1.5", "not a whole number");
  load_bad("boot", "reboot_delay =", "not a whole number");
  load_bad("boot", "reboot_delay = 99999999999999999999999", "not a whole number");
}

TEST(ConfigBoot, DeviceTimeout) {
  LONGS_EQUAL(0, load_ok("boot", "device_timeout_ms = 0").config.device_timeout_ms);
  LONGS_EQUAL(600000, load_ok("boot", "device_timeout_ms = 600000").config.device_timeout_ms);
  LONGS_EQUAL(10000, load_bad("boot", "device_timeout_ms = 600001", "out of range 0..600000").config.device_timeout_ms);
  load_bad("boot", "device_timeout_ms = 10s", "not a whole number");
}

TEST_GROUP(ConfigRoot){};

TEST(ConfigRoot, Source) {
  CHECK_EQUAL(std::string("LABEL=rootfs"), load_ok("root", "source = LABEL=rootfs").config.root_source);
  CHECK_EQUAL(std::string("UUID=3f1c-9a2b"), load_ok("root", "source = UUID=3f1c-9a2b").config.root_source);
  CHECK_EQUAL(std::string("PARTUUID=1b2c-01"), load_ok("root", "source = PARTUUID=1b2c-01").config.root_source);
  CHECK_EQUAL(std::string("PARTLABEL=root-b"), load_ok("root", "source = PARTLABEL=root-b").config.root_source);
  CHECK_EQUAL(std::string("/dev/mmcblk0p2"), load_ok("root", "source = /dev/mmcblk0p2").config.root_source);
  LoadedConfig lc = load_bad("root", "source = mmcblk0p2", "not LABEL=, UUID=, PARTUUID=, PARTLABEL= or a /dev/ path");
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), lc.config.root_source);
  load_bad("root", "source = LABEL=", "not LABEL=");
  load_bad("root", "source =", "not LABEL=");
}

TEST(ConfigRoot, Fstype) {
  CHECK_EQUAL(std::string("squashfs"), load_ok("root", "fstype = squashfs").config.root_fstype);
  CHECK_EQUAL(std::string("erofs"), load_ok("root", "fstype = erofs").config.root_fstype);
  CHECK_EQUAL(std::string("ext4"), load_ok("root", "fstype = ext4").config.root_fstype);
  CHECK_EQUAL(std::string("auto"), load_ok("root", "fstype = auto").config.root_fstype);
  CHECK_EQUAL(std::string("auto"),
              load_bad("root", "fstype = vfat", "not one of: auto, squashfs, erofs, ext4").config.root_fstype);
  load_bad("root", "fstype = SquashFS", "not one of");
  load_bad("root", "fstype = btrfs", "not one of");
}

TEST(ConfigRoot, Image) {
  CHECK_EQUAL(std::string("/images/root.squashfs"), load_ok("root", "image = /images/root.squashfs").config.root_image);
  CHECK_EQUAL(std::string(""), load_ok("root", "image =").config.root_image);
  CHECK_EQUAL(std::string(""),
              load_bad("root", "image = images/root.img", "not an absolute path inside the source filesystem")
                  .config.root_image);
  load_bad("root", "image = /images/../../etc/shadow", "not an absolute path");
}

TEST(ConfigRoot, ImageCanBeClearedAgain) {
  LoadedConfig lc = load("[root]\nimage = /a.img\nimage =\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL(std::string(""), lc.config.root_image);
}

TEST(ConfigRoot, ImageFstype) {
  CHECK_EQUAL(std::string("erofs"), load_ok("root", "image_fstype = erofs").config.root_image_fstype);
  CHECK_EQUAL(std::string("ext4"), load_ok("root", "image_fstype = ext4").config.root_image_fstype);
  CHECK_EQUAL(std::string("auto"), load_bad("root", "image_fstype = iso9660", "not one of").config.root_image_fstype);
}

TEST_GROUP(ConfigUpper){};

TEST(ConfigUpper, Mode) {
  CHECK(load_ok("upper", "mode = none").config.upper_mode == UpperMode::kNone);
  CHECK(load_ok("upper", "mode = tmpfs").config.upper_mode == UpperMode::kTmpfs);
  LoadedConfig lc = load_bad("upper", "mode = overlay", "not one of: tmpfs, ");
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
  CHECK_TRUE_TEXT(contains(lc.diagnostics[0].message, "none; using 'tmpfs' (the default) instead"),
                  lc.diagnostics[0].message.c_str());
}

TEST(ConfigUpper, SizeAcceptsBytesSuffixesAndPercentages) {
  const char* good[] = {"1048576", "512k", "512K", "64m", "64M", "1g", "1G", "1%", "100%", "0"};
  for (const char* v : good) {
    CHECK_EQUAL_TEXT(std::string(v), load_ok("upper", std::string("size = ") + v).config.upper_size, v);
  }
}

TEST(ConfigUpper, SizeRejectsOtherText) {
  const char* bad[] = {"0%", "101%", "m", "%", "64mb", "64t", "-1", "1.5g", "50 %", "lots"};
  for (const char* v : bad) {
    LoadedConfig lc = load_bad("upper", std::string("size = ") + v, "not a size (N, Nk, Nm, Ng or 1..100%)");
    CHECK_EQUAL_TEXT(std::string("50%"), lc.config.upper_size, v);
  }
  load_bad("upper", "size =", "not a size");
}

TEST(ConfigUpper, HugePercentageIsRefusedNotThrown) {
  // More digits than a long holds: a diagnostic, never an exception out of PID 1.
  CHECK_EQUAL(std::string("50%"), load_bad("upper", "size = 99999999999999999999999%", "not a size").config.upper_size);
  CHECK_EQUAL(std::string("00000000000000000000000000050%"),
              load_ok("upper", "size = 00000000000000000000000000050%").config.upper_size);
}

TEST(ConfigUpper, Inodes) {
  UNSIGNED_LONGLONGS_EQUAL(0, load_ok("upper", "inodes = 0").config.upper_inodes);
  UNSIGNED_LONGLONGS_EQUAL(200000, load_ok("upper", "inodes = 200000").config.upper_inodes);
  UNSIGNED_LONGLONGS_EQUAL(1099511627776ULL, load_ok("upper", "inodes = 1099511627776").config.upper_inodes);
  UNSIGNED_LONGLONGS_EQUAL(
      0, load_bad("upper", "inodes = 1099511627777", "out of range 0..1099511627776").config.upper_inodes);
  load_bad("upper", "inodes = -1", "out of range");
  load_bad("upper", "inodes = many", "not a whole number");
}

TEST_GROUP(ConfigBinds){};

TEST(ConfigBinds, ReadonlyListSeparatedBySpacesOrCommas) {
  CHECK_EQUAL(std::string("[/etc/factory][/var/lib/cal][/opt/x]"),
              join(load_ok("binds", "readonly = /etc/factory, /var/lib/cal,/opt/x").config.readonly_binds));
  CHECK_EQUAL(std::string("[/a][/b]"), join(load_ok("binds", "readonly = /a\t/b").config.readonly_binds));
}

TEST(ConfigBinds, TrailingSlashesAreDropped) {
  CHECK_EQUAL(std::string("[/etc/factory][/opt]"),
              join(load_ok("binds", "readonly = /etc/factory/ /opt//").config.readonly_binds));
}

TEST(ConfigBinds, EmptyListIsValid) {
  LONGS_EQUAL(0, load_ok("binds", "readonly =").config.readonly_binds.size());
}

TEST(ConfigBinds, OneBadPathRefusesTheWholeList) {
  LoadedConfig lc = load("[binds]\nreadonly = /etc/factory\nreadonly = /etc/a etc/b\n");
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("test.ini:3"), lc.diagnostics[0].where);
  CHECK_EQUAL(std::string("[binds] readonly = '/etc/a etc/b': 'etc/b' is not an absolute path below /; using "
                          "'/etc/factory' instead"),
              lc.diagnostics[0].message);
  CHECK_EQUAL(std::string("[/etc/factory]"), join(lc.config.readonly_binds));
}

TEST(ConfigBinds, RootItselfCannotBeBound) {
  load_bad("binds", "readonly = /etc /", "'/' is not an absolute path below /");
}

TEST(ConfigBinds, RootSpelledOtherwiseCannotBeBound) {
  // Each of these is the root directory: binding it would hide the overlay.
  load_bad("binds", "readonly = //", "'//' is not an absolute path below /");
  load_bad("binds", "readonly = /etc ///", "'///' is not an absolute path below /");
  load_bad("binds", "readonly = /.", "'/.' is not an absolute path below /");
  load_bad("binds", "readonly = /./", "'/./' is not an absolute path below /");
}

TEST(ConfigBinds, TrailingDotIsTheDirectoryItself) {
  CHECK_EQUAL(std::string("[/etc/factory][/opt]"),
              join(load_ok("binds", "readonly = /etc/factory/. /opt/./").config.readonly_binds));
}

TEST(ConfigBinds, DotDotIsKeptForTheWalkInTheNewRoot) {
  // Resolved at boot inside the new root (".." after a symlink climbs from its target).
  CHECK_EQUAL(std::string("[/etc/../root][/../opt]"),
              join(load_ok("binds", "readonly = /etc/../root /../opt").config.readonly_binds));
}

TEST(ConfigBinds, DotDotThatNamesTheRootIsRefused) {
  load_bad("binds", "readonly = /etc/..", "'/etc/..' is not an absolute path below /");
  load_bad("binds", "readonly = /..", "'/..' is not an absolute path below /");
  load_bad("binds", "readonly = /a/b/../../.", "'/a/b/../../.' is not an absolute path below /");
}

TEST(ConfigBinds, Booleans) {
  const char* yes[] = {"yes", "true", "on", "1"};
  const char* no[] = {"no", "false", "off", "0"};
  for (const char* v : yes) {
    LoadedConfig lc = load(std::string("[binds]\nnosuid = no\nnodev = no\nnoexec = ") + v + "\n");
    CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), v);
    CHECK_TRUE_TEXT(lc.config.bind_noexec, v);
    lc = load(std::string("[binds]\nnosuid = ") + v + "\nnodev = " + v + "\n");
    CHECK_TRUE_TEXT(lc.config.bind_nosuid && lc.config.bind_nodev, v);
  }
  for (const char* v : no) {
    LoadedConfig lc = load(std::string("[binds]\nnoexec = yes\nnosuid = ") + v + "\nnodev = " + v + "\nnoexec = " + v);
    CHECK_EQUAL_TEXT(std::string(""), join(lc.diagnostics), v);
    CHECK_FALSE_TEXT(lc.config.bind_nosuid || lc.config.bind_nodev || lc.config.bind_noexec, v);
  }
}

TEST(ConfigBinds, BadBooleansKeepTheDefault) {
  CHECK_TRUE(load_bad("binds", "nosuid = maybe", "not a boolean (yes/no, true/false, on/off, 1/0)").config.bind_nosuid);
  CHECK_TRUE(load_bad("binds", "nodev = YES", "not a boolean").config.bind_nodev);
  CHECK_FALSE(load_bad("binds", "noexec = 2", "not a boolean").config.bind_noexec);
}

TEST_GROUP(ConfigDiagnostics){};

TEST(ConfigDiagnostics, FullMessageWithTheDefault) {
  LoadedConfig lc = load("[boot]\nreboot_delay = soon\n");
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("test.ini:2"), lc.diagnostics[0].where);
  CHECK_EQUAL(std::string("[boot] reboot_delay = 'soon': not a whole number; using '10' (the default) instead"),
              lc.diagnostics[0].message);
  CHECK_EQUAL(std::string("10"), lc.values["boot.reboot_delay"]);
}

TEST(ConfigDiagnostics, LineNumbersCountCommentsAndBlankLines) {
  LoadedConfig lc = load(
      "; strata.ini\n"        // 1
      "\n"                    // 2
      "[boot]\n"              // 3
      "# a comment\n"         // 4
      "init = /sbin/init\n"   // 5
      "\n"                    // 6
      "reboot_delay = abc\n"  // 7
      "[upper]\n"             // 8
      "   \n"                 // 9
      "size = ram\n");        // 10
  CHECK_EQUAL(std::string("test.ini:7: [boot] reboot_delay = 'abc': not a whole number; using '10' (the default) "
                          "instead\n"
                          "test.ini:10: [upper] size = 'ram': not a size (N, Nk, Nm, Ng or 1..100%); using '50%' (the "
                          "default) instead\n"),
              join(lc.diagnostics));
}

TEST(ConfigDiagnostics, LastLineWithoutNewline) {
  LoadedConfig lc = load("[upper]\n\nmode = ram");
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("test.ini:3"), lc.diagnostics[0].where);
}

TEST(ConfigDiagnostics, CrLfLineEndings) {
  LoadedConfig lc = load("[upper]\r\nsize = 64m\r\n\r\nmode = ram\r\n");
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("test.ini:4"), lc.diagnostics[0].where);
  CHECK_TRUE(contains(lc.diagnostics[0].message, "'ram'"));
}

TEST(ConfigDiagnostics, UnparsableLineIsReportedAndTheRestStillApplies) {
  LoadedConfig lc = load(
      "; comment\n"             // 1
      "[boot]\n"                // 2
      "\n"                      // 3
      "this is not valid\n"     // 4
      "init = /bin/custom\n");  // 5
  CHECK_EQUAL(std::string("test.ini:4: line is not 'key = value' or '[section]'; ignored\n"), join(lc.diagnostics));
  CHECK_EQUAL(std::string("/bin/custom"), lc.config.init);
}

TEST(ConfigDiagnostics, UnclosedSectionIsUnparsable) {
  LoadedConfig lc = load("[boot]\ninit = /bin/a\n[upper\nmode = none\n");
  const std::string d = join(lc.diagnostics);
  LONGS_EQUAL_TEXT(2, lc.diagnostics.size(), d.c_str());
  CHECK_TRUE_TEXT(contains(d, "test.ini:3: line is not 'key = value' or '[section]'; ignored\n"), d.c_str());
  // The key after it is still in [boot], where it is unknown.
  CHECK_TRUE_TEXT(contains(d, "test.ini:4: unknown key [boot] mode; ignored\n"), d.c_str());
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("/bin/a"), lc.config.init);
}

TEST(ConfigDiagnostics, PreviouslySetValueIsKeptAndNamed) {
  LoadedConfig lc = load("[upper]\nsize = 64m\nsize = lots\n");
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("test.ini:3"), lc.diagnostics[0].where);
  CHECK_EQUAL(std::string("[upper] size = 'lots': not a size (N, Nk, Nm, Ng or 1..100%); using '64m' instead"),
              lc.diagnostics[0].message);
  CHECK_FALSE(contains(lc.diagnostics[0].message, "(the default)"));
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK_EQUAL(std::string("64m"), lc.values["upper.size"]);
}

TEST(ConfigDiagnostics, LaterValidValueWins) {
  LoadedConfig lc = load("[upper]\nsize = 64m\nsize = 128m\n");
  LONGS_EQUAL(0, lc.diagnostics.size());
  CHECK_EQUAL(std::string("128m"), lc.config.upper_size);
}

TEST(ConfigDiagnostics, UnknownKeyInAKnownSection) {
  LoadedConfig lc = load("[boot]\ninitt = /sbin/init\n");
  CHECK_EQUAL(std::string("test.ini:2: unknown key [boot] initt; ignored\n"), join(lc.diagnostics));
  check_defaults(lc.config);
}

TEST(ConfigDiagnostics, UnknownSection) {
  LoadedConfig lc = load("[overlay]\nmode = none\n");
  CHECK_EQUAL(std::string("test.ini:2: unknown key [overlay] mode; ignored\n"), join(lc.diagnostics));
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
}

TEST(ConfigDiagnostics, KeyBeforeAnySection) {
  LoadedConfig lc = load("init = /bin/sh\n[boot]\n");
  CHECK_EQUAL(std::string("test.ini:1: unknown key [] init; ignored\n"), join(lc.diagnostics));
  CHECK_EQUAL(std::string("/sbin/init"), lc.config.init);
}

TEST(ConfigDiagnostics, SectionAndKeyNamesAreCaseSensitive) {
  LoadedConfig lc = load("[Boot]\ninit = /bin/sh\n[boot]\nInit = /bin/sh\n");
  LONGS_EQUAL(2, lc.diagnostics.size());
  CHECK_EQUAL(std::string("/sbin/init"), lc.config.init);
}

TEST(ConfigDiagnostics, InlineCommentsAndWhitespaceAreStripped) {
  LoadedConfig lc = load("[upper]\n   size   =   64m   ; plenty\nmode:none\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK(lc.config.upper_mode == UpperMode::kNone);
}

TEST(ConfigDiagnostics, FileNameIsUsedAsGiven) {
  LoadedConfig lc = load_config("[boot]\ninit = x\n", "/etc/strata/strata.ini", {});
  LONGS_EQUAL(1, lc.diagnostics.size());
  CHECK_EQUAL(std::string("/etc/strata/strata.ini:2"), lc.diagnostics[0].where);
}

TEST(ConfigDiagnostics, NulBytesDoNotEndTheFile) {
  const char raw[] = "[upper]\nsize = 64m\0\nmode = none\n";
  LoadedConfig lc = load(std::string(raw, sizeof(raw) - 1));
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK(lc.config.upper_mode == UpperMode::kNone);
}

TEST(ConfigDiagnostics, LongLineIsReportedAtItsOwnLineNumber) {
  // inih reads lines through a fixed buffer; a longer line is refused whole,
  // at its own line number, and the later lines keep theirs.
  LoadedConfig lc = load("[binds]\nreadonly = /" + std::string(300, 'a') + "\nnoexec = perhaps\n");
  CHECK_EQUAL(std::string("test.ini:3: [binds] noexec = 'perhaps': not a boolean (yes/no, true/false, on/off, 1/0); "
                          "using 'no' (the default) instead\n"
                          "test.ini:2: line longer than 198 characters; ignored\n"),
              join(lc.diagnostics));
  LONGS_EQUAL(0, lc.config.readonly_binds.size());  // not a list cut short
}

TEST(ConfigDiagnostics, TailOfALongCommentIsNotAKey) {
  LoadedConfig lc = load("[upper]\n; " + std::string(200, '-') + " mode = none\nsize = 64m\n");
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK_EQUAL(std::string("test.ini:2: line longer than 198 characters; ignored\n"), join(lc.diagnostics));
}

TEST(ConfigDiagnostics, LongestLineThatFits) {
  // 198 characters and the newline fill inih's 200-byte buffer with its NUL.
  const std::string path = "/" + std::string(198 - 11 - 1, 'p');
  const std::string line = "readonly = " + path;
  LONGS_EQUAL(198, line.size());
  LoadedConfig lc = load("[binds]\n" + line + "\n");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL("[" + path + "]", join(lc.config.readonly_binds));
  lc = load("[binds]\n" + line + "p\n");
  CHECK_EQUAL(std::string("test.ini:2: line longer than 198 characters; ignored\n"), join(lc.diagnostics));
  lc = load("[binds]\n" + line + "p");  // the last line, without a newline, may use that byte
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL("[" + path + "p]", join(lc.config.readonly_binds));
}

TEST_GROUP(ConfigCmdline){};

TEST(ConfigCmdline, OverridesTheFile) {
  LoadedConfig lc = load("[upper]\nmode = tmpfs\nsize = 64m\n[boot]\non_failure = rescue\n",
                         "console=ttyS0 strata.upper.mode=none strata.boot.on_failure=reboot quiet");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK(lc.config.upper_mode == UpperMode::kNone);
  CHECK(lc.config.on_failure == FailurePolicy::kReboot);
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
  CHECK_EQUAL(std::string("none"), lc.values["upper.mode"]);
  CHECK_EQUAL(std::string("reboot"), lc.values["boot.on_failure"]);
}

TEST(ConfigCmdline, LaterWordsOverrideEarlierOnes) {
  LoadedConfig lc = load("", "strata.root.source=LABEL=a strata.root.source=PARTLABEL=root-b");
  CHECK_EQUAL(std::string("PARTLABEL=root-b"), lc.config.root_source);
}

TEST(ConfigCmdline, ValueWithEqualsAndQuotes) {
  LoadedConfig lc = load("", "strata.root.source=UUID=3f1c-9a2b strata.binds.readonly=\"/etc/a /etc/b\"");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_EQUAL(std::string("UUID=3f1c-9a2b"), lc.config.root_source);
  CHECK_EQUAL(std::string("[/etc/a][/etc/b]"), join(lc.config.readonly_binds));
}

TEST(ConfigCmdline, BadValueKeepsTheFilesValue) {
  LoadedConfig lc = load("[upper]\nsize = 64m\n", "strata.upper.size=huge");
  CHECK_EQUAL(std::string("kernel command line (strata.upper.size): [upper] size = 'huge': not a size (N, Nk, Nm, Ng "
                          "or 1..100%); using '64m' instead\n"),
              join(lc.diagnostics));
  CHECK_EQUAL(std::string("64m"), lc.config.upper_size);
}

TEST(ConfigCmdline, BadValueKeepsTheDefault) {
  LoadedConfig lc = load("", "strata.boot.reboot_delay=-5");
  CHECK_EQUAL(std::string("kernel command line (strata.boot.reboot_delay): [boot] reboot_delay = '-5': out of range "
                          "0..3600; using '10' (the default) instead\n"),
              join(lc.diagnostics));
}

TEST(ConfigCmdline, UnknownKey) {
  LoadedConfig lc = load("", "strata.upper.colour=red");
  CHECK_EQUAL(std::string("kernel command line (strata.upper.colour): unknown key [upper] colour; ignored\n"),
              join(lc.diagnostics));
}

TEST(ConfigCmdline, WordWithoutAValue) {
  LoadedConfig lc = load("", "strata.upper.mode");
  CHECK_EQUAL(std::string("kernel command line (strata.upper.mode): not strata.<section>.<key>=<value>; ignored\n"),
              join(lc.diagnostics));
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
}

TEST(ConfigCmdline, WordWithoutASectionDot) {
  LoadedConfig lc = load("", "strata.mode=none");
  CHECK_EQUAL(std::string("kernel command line (strata.mode): not strata.<section>.<key>=<value>; ignored\n"),
              join(lc.diagnostics));
  CHECK(lc.config.upper_mode == UpperMode::kTmpfs);
}

TEST(ConfigCmdline, DebugFlag) {
  CHECK_TRUE(load("", "strata.debug").config.debug);
  CHECK_TRUE(load("", "strata.debug=1").config.debug);
  CHECK_TRUE(load("", "strata.debug=yes").config.debug);
  CHECK_FALSE(load("", "strata.debug=0").config.debug);
  CHECK_FALSE(load("", "strata.debug strata.debug=off").config.debug);
  CHECK_EQUAL(std::string(""), join(load("", "strata.debug").diagnostics));
}

TEST(ConfigCmdline, DebugWithABadValue) {
  LoadedConfig lc = load("", "strata.debug=verbose");
  CHECK_FALSE(lc.config.debug);
  CHECK_EQUAL(std::string("kernel command line (strata.debug): 'verbose' is not a boolean; debug stays off\n"),
              join(lc.diagnostics));
}

TEST(ConfigCmdline, BadDebugValueAfterAGoodOneSaysDebugStaysOn) {
  LoadedConfig lc = load("", "strata.debug strata.debug=verbose");
  CHECK_TRUE(lc.config.debug);
  CHECK_EQUAL(std::string("kernel command line (strata.debug): 'verbose' is not a boolean; debug stays on\n"),
              join(lc.diagnostics));
}

TEST(ConfigCmdline, IndentedLinesAreKeysNotContinuations) {
  LoadedConfig lc = load("[upper]\n    mode = none\n\tsize = 10m\n  [binds]\n  readonly = /etc/a\n", "");
  CHECK_EQUAL(std::string(""), join(lc.diagnostics));
  CHECK_TRUE(lc.config.upper_mode == UpperMode::kNone);
  CHECK_EQUAL(std::string("10m"), lc.config.upper_size);
  CHECK_EQUAL(1u, lc.config.readonly_binds.size());
}

TEST(ConfigCmdline, BareBreakStopsBeforeSwitch) {
  LoadedConfig lc = load("", "strata.break");
  CHECK_EQUAL(std::string("[switch]"), stages(lc.config));
  LONGS_EQUAL(0, lc.diagnostics.size());
}

TEST(ConfigCmdline, BreakAtEveryKnownStage) {
  for (const char* st : kStages) {
    LoadedConfig lc = load("", std::string("strata.break=") + st);
    CHECK_EQUAL_TEXT(std::string("[") + st + "]", stages(lc.config), st);
    LONGS_EQUAL_TEXT(0, lc.diagnostics.size(), st);
  }
}

TEST(ConfigCmdline, BreakCommaSeparatedAndRepeated) {
  LoadedConfig lc = load("", "strata.break=modules,mount strata.break=binds");
  CHECK_EQUAL(std::string("[binds][modules][mount]"), stages(lc.config));
  LONGS_EQUAL(0, lc.diagnostics.size());
}

TEST(ConfigCmdline, BreakAtAnUnknownStage) {
  LoadedConfig lc = load("", "strata.break=mount,pivot");
  CHECK_EQUAL(std::string("[mount]"), stages(lc.config));
  CHECK_EQUAL(std::string("kernel command line (strata.break): unknown stage 'pivot' (modules, devices, mount, binds, "
                          "switch); no break there\n"),
              join(lc.diagnostics));
}

TEST(ConfigCmdline, DebugAndBreakAreNotFileKeys) {
  LoadedConfig lc = load("[boot]\ndebug = yes\nbreak = mount\n");
  LONGS_EQUAL(2, lc.diagnostics.size());
  CHECK_FALSE(lc.config.debug);
  LONGS_EQUAL(0, lc.config.break_at.size());
}
