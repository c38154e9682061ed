// parse_devices_fixture: the INI description of probed block devices.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "devices_fixture.h"
#include "helpers.h"
#include "plan.h"

using namespace strata;
using strata::test::join;

TEST_GROUP(DevicesFixture){};

TEST(DevicesFixture, EveryKey) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture(
      "; two partitions of a virtio disk\n"
      "[/dev/vda1]\n"
      "TYPE = squashfs\n"
      "LABEL = rootfs\n"
      "UUID = 3f1c-9a2b\n"
      "PARTUUID = 1b2c3d4e-01\n"
      "PARTLABEL = root-a\n"
      "SIZE = 50331648\n"
      "\n"
      "[/dev/vda2]\n"
      "TYPE = ext4\n"
      "PARTLABEL = data\n",
      "devices.ini", problems);
  CHECK_EQUAL(std::string(""), join(problems));
  LONGS_EQUAL(2, d.size());
  CHECK_EQUAL(std::string("/dev/vda1"), d[0].path);
  CHECK_EQUAL(std::string("squashfs"), d[0].type);
  CHECK_EQUAL(std::string("rootfs"), d[0].label);
  CHECK_EQUAL(std::string("3f1c-9a2b"), d[0].uuid);
  CHECK_EQUAL(std::string("1b2c3d4e-01"), d[0].partuuid);
  CHECK_EQUAL(std::string("root-a"), d[0].partlabel);
  UNSIGNED_LONGLONGS_EQUAL(50331648ULL, d[0].size);
  CHECK_EQUAL(std::string("/dev/vda2"), d[1].path);
  CHECK_EQUAL(std::string("ext4"), d[1].type);
  CHECK_EQUAL(std::string("data"), d[1].partlabel);
  CHECK_EQUAL(std::string(""), d[1].label);
  CHECK_EQUAL(std::string(""), d[1].uuid);
  UNSIGNED_LONGLONGS_EQUAL(0, d[1].size);
}

TEST(DevicesFixture, EmptyTextHasNoDevices) {
  std::vector<Diagnostic> problems;
  LONGS_EQUAL(0, parse_devices_fixture("", "devices.ini", problems).size());
  LONGS_EQUAL(0, problems.size());
}

TEST(DevicesFixture, SectionThatIsNotADevPath) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture("[vda1]\nTYPE = ext4\n[/dev/vdb]\nTYPE = erofs\n", "devices.ini", problems);
  LONGS_EQUAL(1, d.size());
  CHECK_EQUAL(std::string("/dev/vdb"), d[0].path);
  CHECK_EQUAL(std::string("devices.ini: section [vda1] is not a /dev/ path; ignored\n"), join(problems));
}

TEST(DevicesFixture, KeyBeforeAnySection) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture("TYPE = ext4\n", "devices.ini", problems);
  LONGS_EQUAL(0, d.size());
  CHECK_EQUAL(std::string("devices.ini: section [] is not a /dev/ path; ignored\n"), join(problems));
}

TEST(DevicesFixture, UnknownKey) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture("[/dev/sda]\nTYPE = ext4\nFSTYPE = ext4\n", "devices.ini", problems);
  LONGS_EQUAL(1, d.size());
  CHECK_EQUAL(std::string("ext4"), d[0].type);
  CHECK_EQUAL(std::string("devices.ini: [/dev/sda] unknown key FSTYPE; ignored\n"), join(problems));
}

TEST(DevicesFixture, KeysAreCaseSensitive) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture("[/dev/sda]\ntype = ext4\n", "devices.ini", problems);
  LONGS_EQUAL(1, d.size());
  CHECK_EQUAL(std::string(""), d[0].type);
  LONGS_EQUAL(1, problems.size());
}

TEST(DevicesFixture, UnparsableLineHasItsLineNumber) {
  std::vector<Diagnostic> problems;
  auto d = parse_devices_fixture("[/dev/sda]\nTYPE = ext4\n\nnonsense\nLABEL = x\n", "devices.ini", problems);
  LONGS_EQUAL(1, d.size());
  CHECK_EQUAL(std::string("x"), d[0].label);
  CHECK_EQUAL(std::string("devices.ini:4: not 'key = value' or '[section]'; ignored\n"), join(problems));
}

TEST(DevicesFixture, ProblemsAreAppended) {
  std::vector<Diagnostic> problems = {{"earlier", "kept"}};
  parse_devices_fixture("[x]\nTYPE = ext4\n", "devices.ini", problems);
  LONGS_EQUAL(2, problems.size());
  CHECK_EQUAL(std::string("earlier"), problems[0].where);
}

TEST(DevicesFixture, FeedsDecide) {
  std::vector<Diagnostic> problems;
  Facts f;
  f.devices = parse_devices_fixture("[/dev/vda1]\nTYPE = erofs\nPARTLABEL = root-a\n", "devices.ini", problems);
  BootPlan p = decide(f);
  CHECK_EQUAL(std::string(""), p.fatal);
  CHECK_EQUAL(std::string("/dev/vda1"), p.root_device);
  CHECK_EQUAL(std::string("erofs"), p.root_fstype);
}
