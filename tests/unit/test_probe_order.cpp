// probe_order(): which block devices PID 1 reads with libblkid, and in what
// order, from what sysfs says (partition or not, GPT name) and the names in
// the config; named_devices(): every name a config gives.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "config.h"
#include "device_spec.h"
#include "helpers.h"
#include "plan.h"
#include "probe_order.h"

using namespace strata;

namespace {

SysfsDevice part(const char* path, const char* partname) {
  SysfsDevice d;
  d.path = path;
  d.partition = true;
  d.partname = partname;
  d.size = 48 << 20;
  return d;
}

SysfsDevice disk(const char* path) {
  SysfsDevice d;
  d.path = path;
  d.size = 400 << 20;
  return d;
}

std::vector<DeviceSpec> specs(std::initializer_list<const char*> texts) {
  std::vector<DeviceSpec> out;
  for (const char* t : texts) out.push_back(*parse_device_spec(t));
  return out;
}

// The probe order as paths, "[/dev/vda1][/dev/vda3]".
std::string order(const std::vector<SysfsDevice>& devices, const std::vector<DeviceSpec>& named) {
  std::vector<std::string> paths;
  for (size_t i : probe_order(devices, named)) paths.push_back(devices[i].path);
  return test::join(paths);
}

// tools/mkdisk's layout of the qemu boards (U-Boot layout): the whole disk and 7 partitions.
const std::vector<SysfsDevice> kBoardDisk = {disk("/dev/vda"),
                                             part("/dev/vda1", "root-a"),
                                             part("/dev/vda2", "root-b"),
                                             part("/dev/vda3", "data"),
                                             part("/dev/vda4", "boot"),
                                             part("/dev/vda5", "bootstate"),
                                             part("/dev/vda6", "boot-a"),
                                             part("/dev/vda7", "boot-b")};

}  // namespace

TEST_GROUP(ProbeOrder){};

TEST(ProbeOrder, APartLabelRootProbesOnlyThatPartition) {
  // The benchmark's job: 8 block devices, one of them can be PARTLABEL=root-a.
  STRCMP_EQUAL("[/dev/vda1]", order(kBoardDisk, specs({"PARTLABEL=root-a"})).c_str());
  LONGS_EQUAL(static_cast<int>(ProbeNeed::kCannot),
              static_cast<int>(probe_need(kBoardDisk[2], specs({"PARTLABEL=root-a"}))));
}

TEST(ProbeOrder, SureMatchesFirstThenAPartitionNamedLikeTheLabelThenOtherPartitionsThenWholeDisks) {
  // The demo board: A/B partitions and LABEL=data, which only a superblock can tell.
  STRCMP_EQUAL("[/dev/vda1][/dev/vda2][/dev/vda3][/dev/vda4][/dev/vda5][/dev/vda6][/dev/vda7][/dev/vda]",
               order(kBoardDisk, specs({"PARTLABEL=root-a", "PARTLABEL=root-b", "LABEL=data"})).c_str());
  // Scan order is kept within a group; the label's namesake moves ahead of its group.
  const std::vector<SysfsDevice> devices = {disk("/dev/vdb"), part("/dev/vda2", "spare"), part("/dev/vda1", "userdata"),
                                            part("/dev/vda3", "root-a")};
  STRCMP_EQUAL("[/dev/vda3][/dev/vda1][/dev/vda2][/dev/vdb]",
               order(devices, specs({"PARTLABEL=root-a", "UUID=userdata"})).c_str());
}

TEST(ProbeOrder, AWholeDiskCannotBeAPartitionName) {
  const std::vector<DeviceSpec> named = specs({"PARTLABEL=root-a", "PARTUUID=5a1e0000-0000-4000-8000-000000000001"});
  CHECK(probe_need(disk("/dev/vda"), named) == ProbeNeed::kCannot);
  // PARTUUID is not in sysfs: any partition may carry it.
  CHECK(probe_need(part("/dev/vda4", "boot"), named) == ProbeNeed::kMaybe);
  STRCMP_EQUAL("[/dev/vda1][/dev/vda2][/dev/vda3][/dev/vda4][/dev/vda5][/dev/vda6][/dev/vda7]",
               order(kBoardDisk, named).c_str());
}

TEST(ProbeOrder, APartitionWithoutAKernelNameMayStillBeThePartLabel) {
  // No PARTNAME (an MBR table, or a nameless GPT entry): only libblkid can tell.
  CHECK(probe_need(part("/dev/mmcblk0p2", ""), specs({"PARTLABEL=root-a"})) == ProbeNeed::kMaybe);
  CHECK(probe_need(part("/dev/mmcblk0p2", "other"), specs({"PARTLABEL=root-a"})) == ProbeNeed::kCannot);
}

TEST(ProbeOrder, ADevicePathMatchesOnlyThatDevice) {
  const std::vector<SysfsDevice> devices = {disk("/dev/vda"), disk("/dev/vdb"), part("/dev/vdb1", "")};
  STRCMP_EQUAL("[/dev/vdb1]", order(devices, specs({"/dev/vdb1"})).c_str());
  STRCMP_EQUAL("[/dev/vdb]", order(devices, specs({"/dev/vdb"})).c_str());
}

TEST(ProbeOrder, NothingNamedProbesEverythingInScanOrder) {
  STRCMP_EQUAL("[/dev/vda][/dev/vda1][/dev/vda2][/dev/vda3][/dev/vda4][/dev/vda5][/dev/vda6][/dev/vda7]",
               order(kBoardDisk, {}).c_str());
}

TEST(ProbeOrder, AllNamedFoundOnlyWhenEveryNameMatchesAProbedDevice) {
  BlockDevice a;
  a.path = "/dev/vda1";
  a.partlabel = "root-a";
  BlockDevice data;
  data.path = "/dev/vda3";
  data.partlabel = "data";
  data.label = "data";
  const auto named = specs({"PARTLABEL=root-a", "LABEL=data"});
  CHECK_FALSE(all_named_found(named, {a}));
  CHECK_TRUE(all_named_found(named, {a, data}));
  CHECK_TRUE(all_named_found({}, {}));
}

TEST(ProbeOrder, AnUnprobedDeviceKeepsWhatSysfsSaysAndWhy) {
  BlockDevice b = unprobed_device(part("/dev/vda4", "boot"), kCannotMatch);
  STRCMP_EQUAL("/dev/vda4", b.path.c_str());
  STRCMP_EQUAL("boot", b.partlabel.c_str());
  STRCMP_EQUAL("", b.type.c_str());
  UNSIGNED_LONGLONGS_EQUAL(48ull << 20, b.size);
  STRCMP_EQUAL("  /dev/vda4 PARTLABEL=boot (not probed: nothing the config names can be on it)\n",
               describe_devices({b}).c_str());
  STRCMP_EQUAL("", unreadable_note({b}).c_str());
}

TEST_GROUP(NamedDevices){};

TEST(NamedDevices, RequiredThenWhatUBootModeUsesWhenPresent) {
  Config c;
  c.slot_mode = SlotMode::kPartitions;
  c.upper_mode = UpperMode::kTmpfs;
  std::vector<std::string> texts;
  for (const auto& s : named_devices(c)) texts.push_back(s.text());
  // Slots keep their record on the data partition.
  STRCMP_EQUAL("[PARTLABEL=root-a][PARTLABEL=root-b][LABEL=data]", test::join(texts).c_str());
  c.bootloader = Bootloader::kUBoot;
  texts.clear();
  for (const auto& s : named_devices(c)) texts.push_back(s.text());
  STRCMP_EQUAL(
      "[PARTLABEL=root-a][PARTLABEL=root-b][LABEL=data][PARTLABEL=bootstate][PARTLABEL=boot-a][PARTLABEL=boot-b]",
      test::join(texts).c_str());
  LONGS_EQUAL(3, static_cast<long>(required_devices(c).size()));
}
