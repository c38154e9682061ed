// DeviceSpec: parsing, matching probed devices, and describing them.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "device_spec.h"

using namespace strata;

namespace {

BlockDevice dev(std::string path, std::string type, std::string label, std::string uuid, std::string partuuid,
                std::string partlabel) {
  BlockDevice d;
  d.path = std::move(path);
  d.type = std::move(type);
  d.label = std::move(label);
  d.uuid = std::move(uuid);
  d.partuuid = std::move(partuuid);
  d.partlabel = std::move(partlabel);
  return d;
}

void check_parses(const char* text, DeviceSpec::Kind kind, const char* value) {
  auto s = parse_device_spec(text);
  CHECK_TRUE_TEXT(s.has_value(), text);
  LONGS_EQUAL_TEXT(kind, s->kind, text);
  STRCMP_EQUAL_TEXT(value, s->value.c_str(), text);
  STRCMP_EQUAL_TEXT(text, s->text().c_str(), "text() gives back the configured form");
}

void check_rejected(const std::string& text) {
  CHECK_FALSE_TEXT(parse_device_spec(text).has_value(), text.c_str());
}

const BlockDevice kVda1 =
    dev("/dev/vda1", "squashfs", "rootfs", "3f1c-9A2B", "1B2C3D4E-0001-4ABC-8DEF-0123456789AB", "root-a");

}  // namespace

TEST_GROUP(ParseDeviceSpec){};

TEST(ParseDeviceSpec, Label) {
  check_parses("LABEL=rootfs", DeviceSpec::kLabel, "rootfs");
}
TEST(ParseDeviceSpec, Uuid) {
  check_parses("UUID=3f1c-9a2b", DeviceSpec::kUuid, "3f1c-9a2b");
}
TEST(ParseDeviceSpec, PartUuid) {
  check_parses("PARTUUID=1b2c3d4e-0001-4abc-8def-0123456789ab", DeviceSpec::kPartUuid,
               "1b2c3d4e-0001-4abc-8def-0123456789ab");
}
TEST(ParseDeviceSpec, PartLabel) {
  check_parses("PARTLABEL=root-a", DeviceSpec::kPartLabel, "root-a");
}
TEST(ParseDeviceSpec, DevPath) {
  check_parses("/dev/mmcblk0p2", DeviceSpec::kPath, "/dev/mmcblk0p2");
}
TEST(ParseDeviceSpec, DevPathBelowASubdirectory) {
  check_parses("/dev/disk/by-partlabel/root-a", DeviceSpec::kPath, "/dev/disk/by-partlabel/root-a");
}
TEST(ParseDeviceSpec, ValueMayContainEquals) {
  check_parses("LABEL=a=b", DeviceSpec::kLabel, "a=b");
}

TEST(ParseDeviceSpec, EmptyValuesAreRejected) {
  check_rejected("LABEL=");
  check_rejected("UUID=");
  check_rejected("PARTUUID=");
  check_rejected("PARTLABEL=");
}

TEST(ParseDeviceSpec, DevWithoutADeviceIsRejected) {
  check_rejected("/dev/");
  check_rejected("/dev");
}

TEST(ParseDeviceSpec, GarbageIsRejected) {
  check_rejected("");
  check_rejected("vda1");
  check_rejected("dev/vda1");
  check_rejected("/devx/vda1");
  check_rejected("/sys/block/vda");
  check_rejected("label=rootfs");  // prefixes are upper case, as in fstab
  check_rejected("LABEL");
  check_rejected(" LABEL=rootfs");
  check_rejected("ID=1234");
}

TEST_GROUP(DeviceSpecMatches){};

TEST(DeviceSpecMatches, PathMatchesExactly) {
  CHECK_TRUE((DeviceSpec{DeviceSpec::kPath, "/dev/vda1"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPath, "/dev/vda"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPath, "/dev/vda12"}.matches(kVda1)));
}

TEST(DeviceSpecMatches, LabelIsCaseSensitive) {
  CHECK_TRUE((DeviceSpec{DeviceSpec::kLabel, "rootfs"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kLabel, "ROOTFS"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kLabel, "root"}.matches(kVda1)));
}

TEST(DeviceSpecMatches, PartLabelIsCaseSensitive) {
  CHECK_TRUE((DeviceSpec{DeviceSpec::kPartLabel, "root-a"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartLabel, "ROOT-A"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartLabel, "root-b"}.matches(kVda1)));
}

TEST(DeviceSpecMatches, UuidIsCaseInsensitive) {
  CHECK_TRUE((DeviceSpec{DeviceSpec::kUuid, "3f1c-9A2B"}.matches(kVda1)));
  CHECK_TRUE((DeviceSpec{DeviceSpec::kUuid, "3F1C-9a2b"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kUuid, "3f1c-9a2"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kUuid, "3f1c-9a2bc"}.matches(kVda1)));
  // A UUID is not a PARTUUID.
  CHECK_FALSE((DeviceSpec{DeviceSpec::kUuid, "1b2c3d4e-0001-4abc-8def-0123456789ab"}.matches(kVda1)));
}

TEST(DeviceSpecMatches, PartUuidIsCaseInsensitive) {
  CHECK_TRUE((DeviceSpec{DeviceSpec::kPartUuid, "1b2c3d4e-0001-4abc-8def-0123456789ab"}.matches(kVda1)));
  CHECK_TRUE((DeviceSpec{DeviceSpec::kPartUuid, "1B2C3D4E-0001-4ABC-8DEF-0123456789AB"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartUuid, "1b2c3d4e-0001-4abc-8def-0123456789ac"}.matches(kVda1)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartUuid, "3f1c-9a2b"}.matches(kVda1)));
}

TEST(DeviceSpecMatches, EmptyFieldsNeverMatch) {
  const BlockDevice bare = dev("/dev/vdb", "", "", "", "", "");
  CHECK_FALSE((DeviceSpec{DeviceSpec::kLabel, ""}.matches(bare)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kUuid, ""}.matches(bare)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartUuid, ""}.matches(bare)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kPartLabel, ""}.matches(bare)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kLabel, "x"}.matches(bare)));
  CHECK_FALSE((DeviceSpec{DeviceSpec::kUuid, "x"}.matches(bare)));
}

TEST_GROUP(FindDevice){};

TEST(FindDevice, FindsTheMatchingDevice) {
  const std::vector<BlockDevice> devices = {dev("/dev/vda", "", "", "", "", ""), kVda1,
                                            dev("/dev/vda2", "ext4", "data", "", "", "data")};
  const BlockDevice* d = find_device(devices, *parse_device_spec("LABEL=data"));
  POINTERS_EQUAL(&devices[2], d);
  d = find_device(devices, *parse_device_spec("PARTLABEL=root-a"));
  POINTERS_EQUAL(&devices[1], d);
}

TEST(FindDevice, FirstMatchWins) {
  const std::vector<BlockDevice> devices = {dev("/dev/sda1", "ext4", "root", "", "", ""),
                                            dev("/dev/sdb1", "ext4", "root", "", "", "")};
  POINTERS_EQUAL(&devices[0], find_device(devices, *parse_device_spec("LABEL=root")));
}

TEST(FindDevice, NullWhenNothingMatches) {
  const std::vector<BlockDevice> devices = {kVda1};
  POINTERS_EQUAL(nullptr, find_device(devices, *parse_device_spec("PARTLABEL=root-b")));
  POINTERS_EQUAL(nullptr, find_device({}, *parse_device_spec("PARTLABEL=root-a")));
}

TEST_GROUP(DescribeDevices){};

TEST(DescribeDevices, NoDevicesSuggestsTheDriver) {
  STRCMP_EQUAL("  (no block devices at all: is the storage driver module loaded?)\n", describe_devices({}).c_str());
}

TEST(DescribeDevices, OneLinePerDeviceWithDashesForEmptyFields) {
  const std::vector<BlockDevice> devices = {kVda1, dev("/dev/vdb", "", "", "", "", "")};
  STRCMP_EQUAL(
      "  /dev/vda1 TYPE=squashfs LABEL=rootfs UUID=3f1c-9A2B PARTLABEL=root-a "
      "PARTUUID=1B2C3D4E-0001-4ABC-8DEF-0123456789AB\n"
      "  /dev/vdb TYPE=- LABEL=- UUID=- PARTLABEL=- PARTUUID=-\n",
      describe_devices(devices).c_str());
}
