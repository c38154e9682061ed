// decide(), required_devices() and format_plan(): the boot decision.
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

// The default config, PARTLABEL=root-a on /dev/vda1 holding `type`.
Facts facts_with_root(const std::string& type) {
  Facts f;
  f.devices = {dev("/dev/vda", "", ""), dev("/dev/vda1", type, "root-a"), dev("/dev/vda2", "ext4", "data", "data")};
  return f;
}

void check_fatal_contains(const BootPlan& p, const std::string& text) {
  CHECK_TRUE_TEXT(contains(p.fatal, text), ("fatal '" + p.fatal + "' lacks '" + text + "'").c_str());
}

void check_no_fatal(const BootPlan& p) {
  CHECK_EQUAL(std::string(""), p.fatal);
}

}  // namespace

TEST_GROUP(Decide){};

TEST(Decide, SquashfsDeviceWithTheDefaults) {
  BootPlan p = decide(facts_with_root("squashfs"));
  check_no_fatal(p);
  CHECK_EQUAL(std::string("PARTLABEL=root-a"), p.root_spec);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
  CHECK_EQUAL(std::string("squashfs"), p.root_fstype);
  CHECK_EQUAL(std::string(""), p.image);
  CHECK_EQUAL(std::string(""), p.image_fstype);
  CHECK(p.upper_mode == UpperMode::kTmpfs);
  CHECK_EQUAL(std::string("mode=0755,size=50%"), p.tmpfs_options);
  CHECK_EQUAL(std::string(kOverlayOptions), p.overlay_options);
  LONGS_EQUAL(0, p.binds.size());
  CHECK_EQUAL(std::string("/sbin/init"), p.init);
  CHECK(p.on_failure == FailurePolicy::kRescue);
  LONGS_EQUAL(10, p.reboot_delay_s);
  LONGS_EQUAL(0, p.break_at.size());
  CHECK_FALSE(p.debug);
  CHECK_EQUAL(std::string(""), join(p.warnings));
  CHECK_FALSE(p.degraded);
}

TEST(Decide, ErofsDevice) {
  BootPlan p = decide(facts_with_root("erofs"));
  check_no_fatal(p);
  CHECK_EQUAL(std::string("erofs"), p.root_fstype);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
}

TEST(Decide, Ext4Device) {
  BootPlan p = decide(facts_with_root("ext4"));
  check_no_fatal(p);
  CHECK_EQUAL(std::string("ext4"), p.root_fstype);
}

TEST(Decide, ResolvesEachKindOfSpec) {
  Facts f;
  BlockDevice d = dev("/dev/mmcblk0p2", "erofs", "system", "sys");
  d.uuid = "ab12-cd34";
  d.partuuid = "0011aabb-02";
  f.devices = {dev("/dev/mmcblk0p1", "vfat", "boot", "BOOT"), d};
  for (const char* spec :
       {"/dev/mmcblk0p2", "LABEL=sys", "UUID=AB12-CD34", "PARTUUID=0011AABB-02", "PARTLABEL=system"}) {
    f.config.root_source = spec;
    BootPlan p = decide(f);
    CHECK_EQUAL_TEXT(std::string(""), p.fatal, spec);
    CHECK_EQUAL_TEXT(std::string("/dev/mmcblk0p2"), p.root_device, spec);
    CHECK_EQUAL_TEXT(std::string(spec), p.root_spec, spec);
  }
}

TEST(Decide, ConfiguredFstypeAgreeingWithTheProbeGivesNoWarning) {
  Facts f = facts_with_root("erofs");
  f.config.root_fstype = "erofs";
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("erofs"), p.root_fstype);
  LONGS_EQUAL(0, p.warnings.size());
  CHECK_FALSE(p.degraded);
}

TEST(Decide, ConfiguredFstypeBeatsTheProbeWithAWarning) {
  Facts f = facts_with_root("squashfs");
  f.config.root_fstype = "erofs";
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("erofs"), p.root_fstype);
  CHECK_EQUAL(std::string("[root fstype is configured as erofs but /dev/vda1 probes as squashfs; mounting as erofs]"),
              join(p.warnings));
  CHECK_FALSE(p.degraded);
}

TEST(Decide, ConfiguredFstypeUsedWhenTheProbeFindsNothing) {
  Facts f = facts_with_root("");
  f.config.root_fstype = "ext4";
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("ext4"), p.root_fstype);
  LONGS_EQUAL(0, p.warnings.size());
}

TEST(Decide, AutoWithNothingProbedIsFatal) {
  BootPlan p = decide(facts_with_root(""));
  CHECK_EQUAL(std::string("no filesystem found on /dev/vda1 (PARTLABEL=root-a)"), p.fatal);
}

TEST(Decide, UnsupportedTypeWithoutImageIsFatal) {
  BootPlan p = decide(facts_with_root("vfat"));
  check_fatal_contains(p, "/dev/vda1 (PARTLABEL=root-a) holds vfat");
  check_fatal_contains(p, "squashfs, erofs, ext4");
  check_fatal_contains(p, "[root] image");
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
}

TEST(Decide, MissingDeviceIsFatalAndListsTheDevices) {
  Facts f = facts_with_root("squashfs");
  f.config.root_source = "PARTLABEL=root-b";
  BootPlan p = decide(f);
  CHECK_EQUAL(
      std::string("root device PARTLABEL=root-b not found; block devices seen:\n") + describe_devices(f.devices),
      p.fatal);
  check_fatal_contains(p, "  /dev/vda1 TYPE=squashfs LABEL=- UUID=- PARTLABEL=root-a PARTUUID=-\n");
  CHECK_FALSE(contains(p.fatal, "waiting"));
  CHECK_EQUAL(std::string(""), p.root_device);
}

TEST(Decide, MissingDeviceAfterTheWaitSaysHowLong) {
  Facts f;
  f.device_wait_timed_out = true;
  f.device_wait_ms = 10000;
  BootPlan p = decide(f);
  check_fatal_contains(p, "root device PARTLABEL=root-a not found after waiting 10000 ms; block devices seen:\n");
  check_fatal_contains(p, "no block devices at all");
}

TEST(Decide, UnparsableSourceIsNotFound) {
  // load_config never lets this through; decide() must not trust that.
  Facts f = facts_with_root("squashfs");
  f.config.root_source = "garbage";
  BootPlan p = decide(f);
  check_fatal_contains(p, "root device garbage not found");
}

TEST(Decide, ImageFileWithAutoTypeIsProbedLater) {
  Facts f = facts_with_root("vfat");
  f.config.root_image = "/images/root.squashfs";
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
  CHECK_EQUAL(std::string("vfat"), p.root_fstype);
  CHECK_EQUAL(std::string("/images/root.squashfs"), p.image);
  CHECK_EQUAL(std::string(""), p.image_fstype);
  LONGS_EQUAL(0, p.warnings.size());
}

TEST(Decide, ImageFileWithAConfiguredType) {
  Facts f = facts_with_root("ext4");
  f.config.root_image = "/slot-a/root.erofs";
  f.config.root_image_fstype = "erofs";
  f.config.root_fstype = "squashfs";  // describes a source without an image; ignored here
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("ext4"), p.root_fstype);
  CHECK_EQUAL(std::string("erofs"), p.image_fstype);
  LONGS_EQUAL(0, p.warnings.size());
}

TEST(Decide, ImageFileOnAnUnformattedSourceIsFatal) {
  Facts f = facts_with_root("");
  f.config.root_image = "/root.img";
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string("no filesystem found on /dev/vda1 (PARTLABEL=root-a)"), p.fatal);
}

TEST(Decide, UpperNoneHasNoTmpfsOrOverlayOptions) {
  Facts f = facts_with_root("squashfs");
  f.config.upper_mode = UpperMode::kNone;
  f.config.upper_inodes = 1000;
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK(p.upper_mode == UpperMode::kNone);
  CHECK_EQUAL(std::string(""), p.tmpfs_options);
  CHECK_EQUAL(std::string(""), p.overlay_options);
}

TEST(Decide, TmpfsSizeAndInodes) {
  Facts f = facts_with_root("squashfs");
  f.config.upper_size = "64m";
  f.config.upper_inodes = 20000;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string("mode=0755,size=64m,nr_inodes=20000"), p.tmpfs_options);
  CHECK_EQUAL(std::string(kOverlayOptions), p.overlay_options);
}

TEST(Decide, BindsComeFromThePristineLower) {
  Facts f = facts_with_root("squashfs");
  f.config.readonly_binds = {"/etc/factory", "/var/lib/calibration"};
  f.config.bind_nosuid = false;
  f.config.bind_nodev = true;
  f.config.bind_noexec = true;
  BootPlan p = decide(f);
  LONGS_EQUAL(2, p.binds.size());
  CHECK_EQUAL(std::string("/etc/factory"), p.binds[0].path);
  CHECK_EQUAL(std::string("/run/strata/lower/etc/factory"), p.binds[0].source);
  CHECK_EQUAL(std::string("/var/lib/calibration"), p.binds[1].path);
  CHECK_EQUAL(std::string("/run/strata/lower/var/lib/calibration"), p.binds[1].source);
  for (const auto& b : p.binds) {
    CHECK_FALSE(b.nosuid);
    CHECK_TRUE(b.nodev);
    CHECK_TRUE(b.noexec);
  }
}

TEST(Decide, BootSettingsAreCarriedOver) {
  Facts f = facts_with_root("squashfs");
  f.config.init = "/lib/systemd/systemd";
  f.config.on_failure = FailurePolicy::kReboot;
  f.config.reboot_delay_s = 3;
  f.config.break_at = {"mount", "switch"};
  f.config.debug = true;
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string("/lib/systemd/systemd"), p.init);
  CHECK(p.on_failure == FailurePolicy::kReboot);
  LONGS_EQUAL(3, p.reboot_delay_s);
  LONGS_EQUAL(2, p.break_at.size());
  CHECK_TRUE(p.break_at.count("mount") == 1 && p.break_at.count("switch") == 1);
  CHECK_TRUE(p.debug);
}

TEST(Decide, ConfigDiagnosticsDegradeThePlan) {
  Facts f = facts_with_root("squashfs");
  f.diagnostics = {{"test.ini:7", "bad thing; using 'x' instead"}, {"kernel command line (strata.x)", "ignored"}};
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_TRUE(p.degraded);
  CHECK_EQUAL(std::string("[config: test.ini:7: bad thing; using 'x' instead][config: kernel command line (strata.x): "
                          "ignored]"),
              join(p.warnings));
}

TEST(Decide, FatalPlanKeepsTheWarningsAndFailurePolicy) {
  Facts f;
  f.config.on_failure = FailurePolicy::kReboot;
  f.diagnostics = {{"test.ini:2", "something"}};
  BootPlan p = decide(f);
  CHECK_FALSE(p.fatal.empty());
  CHECK_TRUE(p.degraded);
  LONGS_EQUAL(1, p.warnings.size());
  CHECK(p.on_failure == FailurePolicy::kReboot);
}

TEST(Decide, EndToEndFromTheConfigText) {
  Facts f = facts_with_root("erofs");
  LoadedConfig lc =
      load_config("[root]\nsource = LABEL=data\n[upper]\nmode = none\n[boot]\nreboot_delay = x\n", "s.ini", {});
  f.config = lc.config;
  f.diagnostics = lc.diagnostics;
  BootPlan p = decide(f);
  check_no_fatal(p);
  CHECK_EQUAL(std::string("/dev/vda2"), p.root_device);
  CHECK_EQUAL(std::string("ext4"), p.root_fstype);
  CHECK(p.upper_mode == UpperMode::kNone);
  CHECK_TRUE(p.degraded);
  LONGS_EQUAL(1, p.warnings.size());
  CHECK_TRUE(contains(p.warnings[0], "config: s.ini:6: [boot] reboot_delay = 'x'"));
}

TEST_GROUP(RequiredDevices){};

TEST(RequiredDevices, TheRootSource) {
  Config c;
  auto r = required_devices(c);
  LONGS_EQUAL(1, r.size());
  LONGS_EQUAL(DeviceSpec::kPartLabel, r[0].kind);
  CHECK_EQUAL(std::string("root-a"), r[0].value);

  c.root_source = "/dev/mmcblk0p3";
  r = required_devices(c);
  LONGS_EQUAL(1, r.size());
  LONGS_EQUAL(DeviceSpec::kPath, r[0].kind);
  CHECK_EQUAL(std::string("/dev/mmcblk0p3"), r[0].value);
}

TEST(RequiredDevices, NothingForAnUnparsableSource) {
  Config c;
  c.root_source = "mmcblk0p3";
  LONGS_EQUAL(0, required_devices(c).size());
}

TEST_GROUP(FormatPlan){};

TEST(FormatPlan, OverlayOnASquashfsDevice) {
  Facts f = facts_with_root("squashfs");
  f.config.readonly_binds = {"/etc/factory"};
  const std::string o = format_plan(decide(f));
  const char* lines[] = {
      "lower: /dev/vda1 (PARTLABEL=root-a) squashfs, read-only, at /run/strata/lower\n",
      "upper: tmpfs (mode=0755,size=50%) at /run/strata/upper\n",
      ("root: overlay (lowerdir=/run/strata/lower,upperdir=/run/strata/upper/data,workdir=/run/strata/upper/work,"
       "index=off,metacopy=off,redirect_dir=nofollow,xino=off) at /newroot\n"),
      "bind read-only: /etc/factory from /run/strata/lower/etc/factory nosuid nodev\n",
      "init: /sbin/init\n",
      "on failure: rescue\n",
  };
  for (const char* l : lines) CHECK_TRUE_TEXT(contains(o, l), (std::string(l) + "not in:\n" + o).c_str());
  CHECK_FALSE(contains(o, "FATAL"));
  CHECK_FALSE(contains(o, "image file"));
  CHECK_FALSE(contains(o, "degraded"));
  CHECK_FALSE(contains(o, "warning"));
  CHECK_FALSE(contains(o, "debug"));
  CHECK_FALSE(contains(o, "break"));
}

TEST(FormatPlan, ImageFileUpperNoneAndExtras) {
  Facts f = facts_with_root("ext4");
  f.config.root_image = "/root.erofs";
  f.config.upper_mode = UpperMode::kNone;
  f.config.break_at = {"mount", "binds"};
  f.config.debug = true;
  f.config.readonly_binds = {"/opt"};
  f.config.bind_nosuid = false;
  f.config.bind_nodev = false;
  f.config.bind_noexec = true;
  f.diagnostics = {{"test.ini:3", "odd"}};
  const std::string o = format_plan(decide(f));
  const char* lines[] = {
      "lower: /dev/vda1 (PARTLABEL=root-a) ext4, read-only, at /run/strata/lower\n",
      ("  image file: /root.erofs on the source, mounted at /run/strata/source, attached read-only to a loop device, "
       "type probed\n"),
      "upper: none; root: the lower alone, read-only, at /newroot\n",
      "bind read-only: /opt from /run/strata/lower/opt noexec\n",
      "break before: binds mount\n",
      "debug: on\n",
      "warning: config: test.ini:3: odd\n",
      "degraded: yes\n",
  };
  for (const char* l : lines) CHECK_TRUE_TEXT(contains(o, l), (std::string(l) + "not in:\n" + o).c_str());
  CHECK_FALSE(contains(o, "overlay"));
}

TEST(FormatPlan, ImageTypeWhenConfigured) {
  Facts f = facts_with_root("ext4");
  f.config.root_image = "/root.erofs";
  f.config.root_image_fstype = "erofs";
  const std::string o = format_plan(decide(f));
  CHECK_TRUE_TEXT(contains(o, "attached read-only to a loop device, erofs\n"), o.c_str());
}

TEST(FormatPlan, Fatal) {
  Facts f;
  f.config.on_failure = FailurePolicy::kReboot;
  f.config.reboot_delay_s = 30;
  const std::string o = format_plan(decide(f));
  CHECK_TRUE_TEXT(contains(o, "FATAL: root device PARTLABEL=root-a not found; block devices seen:\n"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "on failure: reboot after 30 s\n"), o.c_str());
  CHECK_FALSE(contains(o, "lower:"));
  CHECK_FALSE(contains(o, "init:"));
}

TEST(FormatPlan, FatalWithRescue) {
  const std::string o = format_plan(decide(facts_with_root("vfat")));
  CHECK_TRUE_TEXT(contains(o, "FATAL: /dev/vda1 (PARTLABEL=root-a) holds vfat"), o.c_str());
  CHECK_TRUE_TEXT(contains(o, "on failure: rescue\n"), o.c_str());
  CHECK_FALSE(contains(o, "after"));
}
