// parse_module_list: /lib/modules/strata.load as tools/modorder.py writes it;
// which modules a boot loads when (module_plan.h).
#include <CppUTest/TestHarness.h>

#include <set>
#include <string>
#include <vector>

#include "helpers.h"
#include "modules.h"
#include "plan.h"

using namespace strata;
using strata::test::join;

namespace {

std::string entries(const std::vector<ModuleEntry>& v) {
  std::string out;
  for (const auto& e : v) out += "[" + std::to_string(e.level) + " " + e.path + "]";
  return out;
}

// The qemu-aarch64 board's list as tools/modorder.py writes it (a part of it).
const char* const kBoardList =
    "# level path for (written by tools/modorder.py)\n"
    "0 /lib/modules/sha256-arm64.ko sha2_ce\n"
    "0 /lib/modules/crc32c_generic.ko erofs,ext4\n"
    "0 /lib/modules/loop.ko loop\n"
    "0 /lib/modules/virtio_blk.ko virtio_blk\n"
    "0 /lib/modules/dax.ko dm_mod,dm_verity\n"
    "0 /lib/modules/virtio_mmio.ko virtio_mmio\n"
    "0 /lib/modules/mbcache.ko ext4\n"
    "0 /lib/modules/overlay.ko overlay\n"
    "0 /lib/modules/squashfs.ko squashfs\n"
    "1 /lib/modules/sha2-ce.ko sha2_ce\n"
    "1 /lib/modules/dm-mod.ko dm_mod,dm_verity\n"
    "1 /lib/modules/f2fs.ko f2fs\n"
    "1 /lib/modules/jbd2.ko ext4\n"
    "1 /lib/modules/libcrc32c.ko erofs\n"
    "2 /lib/modules/erofs.ko erofs\n"
    "2 /lib/modules/ext4.ko ext4\n"
    "3 /lib/modules/dm-verity.ko dm_mod,dm_verity\n";

std::vector<ModuleEntry> board_list() {
  std::vector<std::string> errors;
  auto list = parse_module_list(kBoardList, errors);
  CHECK_EQUAL(std::string(""), join(errors));
  return list;
}

std::string names(const std::vector<ModuleEntry>& v) {
  std::string out;
  for (const auto& e : v) out += (out.empty() ? "" : " ") + e.path.substr(e.path.rfind('/') + 1);
  return out;
}

}  // namespace

TEST_GROUP(ModuleList){};

TEST(ModuleList, AsModorderWritesIt) {
  std::vector<std::string> errors;
  auto m = parse_module_list(
      "# level path (written by tools/modorder.py)\n"
      "0 /lib/modules/virtio.ko\n"
      "0 /lib/modules/virtio_ring.ko\n"
      "1 /lib/modules/virtio_blk.ko\n"
      "1 /lib/modules/virtio_mmio.ko\n"
      "2 /lib/modules/overlay.ko\n",
      errors);
  CHECK_EQUAL(std::string(""), join(errors));
  CHECK_EQUAL(std::string("[0 /lib/modules/virtio.ko][0 /lib/modules/virtio_ring.ko][1 /lib/modules/virtio_blk.ko]"
                          "[1 /lib/modules/virtio_mmio.ko][2 /lib/modules/overlay.ko]"),
              entries(m));
}

TEST(ModuleList, EmptyListFromModorder) {
  std::vector<std::string> errors;
  LONGS_EQUAL(0, parse_module_list("# level path (written by tools/modorder.py)\n\n", errors).size());
  LONGS_EQUAL(0, errors.size());
  LONGS_EQUAL(0, parse_module_list("", errors).size());
  LONGS_EQUAL(0, errors.size());
}

TEST(ModuleList, CommentsAndBlankLinesAreSkipped) {
  std::vector<std::string> errors;
  auto m = parse_module_list("#\n\n# 9 /not/a/module.ko\n3 /lib/modules/a.ko\n\n", errors);
  CHECK_EQUAL(std::string("[3 /lib/modules/a.ko]"), entries(m));
  LONGS_EQUAL(0, errors.size());
}

TEST(ModuleList, TabsCarriageReturnsAndNoFinalNewline) {
  std::vector<std::string> errors;
  auto m = parse_module_list("0\t/lib/modules/a.ko\r\n  1   /lib/modules/b.ko", errors);
  CHECK_EQUAL(std::string("[0 /lib/modules/a.ko][1 /lib/modules/b.ko]"), entries(m));
  LONGS_EQUAL(0, errors.size());
}

TEST(ModuleList, BadLinesAreReportedWithTheirLineNumbers) {
  std::vector<std::string> errors;
  auto m = parse_module_list(
      "# header\n"              // 1
      "0 /lib/modules/a.ko\n"   // 2
      "/lib/modules/b.ko\n"     // 3
      "1\n"                     // 4
      "x /lib/modules/c.ko\n"   // 5
      "1 /lib/modules/d.ko\n",  // 6
      errors);
  CHECK_EQUAL(std::string("[0 /lib/modules/a.ko][1 /lib/modules/d.ko]"), entries(m));
  CHECK_EQUAL(std::string("[module list line 3: '/lib/modules/b.ko' is not '<level> <path> [<for>]']"
                          "[module list line 4: '1' is not '<level> <path> [<for>]']"
                          "[module list line 5: 'x /lib/modules/c.ko' is not '<level> <path> [<for>]']"),
              join(errors));
}

TEST(ModuleList, NegativeLevelIsRefused) {
  std::vector<std::string> errors;
  auto m = parse_module_list("-1 /lib/modules/a.ko\n0 /lib/modules/b.ko\n", errors);
  CHECK_EQUAL(std::string("[0 /lib/modules/b.ko]"), entries(m));
  CHECK_EQUAL(std::string("[module list line 1: '-1 /lib/modules/a.ko' is not '<level> <path> [<for>]']"),
              join(errors));
}

TEST(ModuleList, LevelTooBigForAnIntIsRefused) {
  std::vector<std::string> errors;
  auto m = parse_module_list("99999999999 /lib/modules/a.ko\n", errors);
  LONGS_EQUAL(0, m.size());
  LONGS_EQUAL(1, errors.size());
}

TEST(ModuleList, ErrorsAreAppended) {
  std::vector<std::string> errors = {"earlier"};
  parse_module_list("bad\n", errors);
  LONGS_EQUAL(2, errors.size());
  CHECK_EQUAL(std::string("earlier"), errors[0]);
}

TEST(ModuleList, TheBoardModulesThatPullAModuleIn) {
  auto list = board_list();
  LONGS_EQUAL(17, list.size());
  CHECK_EQUAL(std::string("[erofs][ext4]"), join(list[1].needed_by));
  CHECK_EQUAL(std::string("[sha2_ce]"), join(list[0].needed_by));
  std::vector<std::string> errors;
  auto trailing = parse_module_list("0 /lib/modules/a.ko ,ext4,,f2fs,\r\n", errors);
  CHECK_EQUAL(std::string("[ext4][f2fs]"), join(trailing[0].needed_by));
}

TEST_GROUP(ModulePlan){};

TEST(ModulePlan, WhatEachBoardModuleIsFor) {
  CHECK_EQUAL(std::string("squashfs"), module_need("squashfs"));
  CHECK_EQUAL(std::string("erofs"), module_need("erofs"));
  CHECK_EQUAL(std::string("ext4"), module_need("ext4"));
  CHECK_EQUAL(std::string("f2fs"), module_need("f2fs"));
  CHECK_EQUAL(std::string("overlay"), module_need("overlay"));
  CHECK_EQUAL(std::string("loop"), module_need("loop"));
  CHECK_EQUAL(std::string("dm-verity"), module_need("dm_mod"));
  CHECK_EQUAL(std::string("dm-verity"), module_need("dm-verity"));
  CHECK_EQUAL(std::string("dm-verity"), module_need("sha2_ce"));
  CHECK_EQUAL(std::string("dm-verity"), module_need("sha256_arm"));
  // Storage, and anything not known: before the probe.
  CHECK_EQUAL(std::string(""), module_need("virtio_blk"));
  CHECK_EQUAL(std::string(""), module_need("virtio_pci"));
  CHECK_EQUAL(std::string(""), module_need("mmc_block"));
  CHECK_EQUAL(std::string(""), module_need("something_new"));
}

TEST(ModulePlan, StorageModulesComeFirstAndAloneBeforeTheProbe) {
  CHECK_EQUAL(std::string("virtio_blk.ko virtio_mmio.ko"), names(select_modules(board_list(), {})));
}

TEST(ModulePlan, ASquashfsPartitionWithATmpfsUpperNeedsTwoModules) {
  CHECK_EQUAL(std::string("overlay.ko squashfs.ko"), names(select_modules(board_list(), {"overlay", "squashfs"})));
}

TEST(ModulePlan, EachNeedBringsItsDependenciesInLevelOrder) {
  CHECK_EQUAL(std::string("crc32c_generic.ko libcrc32c.ko erofs.ko"), names(select_modules(board_list(), {"erofs"})));
  CHECK_EQUAL(std::string("crc32c_generic.ko mbcache.ko jbd2.ko ext4.ko"),
              names(select_modules(board_list(), {"ext4"})));
  CHECK_EQUAL(std::string("sha256-arm64.ko dax.ko sha2-ce.ko dm-mod.ko dm-verity.ko"),
              names(select_modules(board_list(), {"dm-verity"})));
  CHECK_EQUAL(std::string("loop.ko"), names(select_modules(board_list(), {"loop"})));
}

TEST(ModulePlan, WhatIsLoadedAlreadyIsSkipped) {
  auto list = board_list();
  const auto ext4 = select_modules(list, {"ext4"});
  std::set<std::string> loaded;
  for (const auto& m : ext4) loaded.insert(m.path);
  // crc32c_generic came with ext4.
  CHECK_EQUAL(std::string("libcrc32c.ko erofs.ko"), names(select_modules(list, {"erofs"}, loaded)));
}

TEST(ModulePlan, AListWithoutForFieldsLoadsEverythingBeforeTheProbe) {
  std::vector<std::string> errors;
  auto old = parse_module_list("0 /lib/modules/a.ko\n1 /lib/modules/b.ko\n", errors);
  CHECK_EQUAL(std::string("a.ko b.ko"), names(select_modules(old, {})));
  CHECK_EQUAL(std::string(""), names(select_modules(old, {"ext4"})));
}

TEST(ModulePlan, NeedsOfAPlan) {
  BootPlan p;
  p.upper_mode = UpperMode::kTmpfs;
  p.root_fstype = "squashfs";
  CHECK_EQUAL(std::string("overlay, squashfs"), format_needs(plan_module_needs(p)));
  p.upper_mode = UpperMode::kNone;
  CHECK_EQUAL(std::string("squashfs"), format_needs(plan_module_needs(p)));
  // A persistent upper on an f2fs data partition.
  p.upper_mode = UpperMode::kPersistent;
  p.use_data = true;
  p.data_fstype = "f2fs";
  CHECK_EQUAL(std::string("f2fs, overlay, squashfs"), format_needs(plan_module_needs(p)));
  // An erofs image on an ext4 partition, type probed: loop and every lower type.
  BootPlan img;
  img.root_fstype = "ext4";
  img.image = "/root.img";
  CHECK_EQUAL(std::string("erofs, ext4, loop, overlay, squashfs"), format_needs(plan_module_needs(img)));
  img.image_fstype = "erofs";
  CHECK_EQUAL(std::string("erofs, ext4, loop, overlay"), format_needs(plan_module_needs(img)));
  // File slots: the image is on the data partition (ext4), mounted for the record.
  BootPlan files;
  files.image = "/strata/slots/a.img";
  files.image_on_data = true;
  files.root_fstype = "ext4";
  files.data_fstype = "ext4";
  files.use_data = true;
  files.image_fstype = "squashfs";
  CHECK_EQUAL(std::string("ext4, loop, overlay, squashfs"), format_needs(plan_module_needs(files)));
  // Verity.
  p.verity = VerityParams{};
  CHECK_TRUE(plan_module_needs(p).count("dm-verity"));
  // A plan that cannot boot needs nothing.
  p.fatal = "no root";
  CHECK_EQUAL(std::string("none"), format_needs(plan_module_needs(p)));
}

TEST(ModulePlan, TheRunningSystemsModulesFromTheConfigJoinThePlans) {
  Facts f;
  f.devices = {test::dev("/dev/vda", "", ""), test::dev("/dev/vda1", "squashfs", "root-a")};
  CHECK_EQUAL(std::string("overlay, squashfs"), format_needs(decide(f).modules));
  f.config = test::load("[boot]\nmodules = loop, dm_verity virtio_net\n").config;
  // A storage module (virtio_net) loads before the probe anyway: nothing to add.
  CHECK_EQUAL(std::string("dm-verity, loop, overlay, squashfs"), format_needs(decide(f).modules));
  auto bad = test::load("[boot]\nmodules = loop ../evil\n");
  CHECK_EQUAL(1u, bad.diagnostics.size());
  CHECK_TEXT(test::contains(bad.diagnostics[0].message, "'../evil' is not a module name"),
             bad.diagnostics[0].message.c_str());
}
