// The device-mapper module's checks that need no kernel. Its work on a real
// kernel (a verity device over a slot, reads through it, a flipped byte that
// fails them with EIO and status C) is tested under QEMU (tests/e2e/test_verity.py):
// the host kernel these tests run on has no device-mapper, and a test that
// passes without checking would hide that.
#include <CppUTest/TestHarness.h>

#include <string>

#include "device_mapper.h"

TEST_GROUP(DmVerity){};

TEST(DmVerity, BadNamesAreRefusedBeforeAnyIoctl) {
  auto s = strata::dm_remove("a/b");
  CHECK(!s.ok());
  STRCMP_CONTAINS("has a '/'", s.error().message().c_str());
  auto d = strata::dm_create(std::string(200, 'x'), "verity", 8, "");
  CHECK(!d.ok());
}
