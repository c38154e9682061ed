// parse_module_list: /lib/modules/strata.load as tools/modorder.py writes it.
#include <CppUTest/TestHarness.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "modules.h"

using namespace strata;
using strata::test::join;

namespace {

std::string entries(const std::vector<ModuleEntry>& v) {
  std::string out;
  for (const auto& e : v) out += "[" + std::to_string(e.level) + " " + e.path + "]";
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
  CHECK_EQUAL(std::string("[module list line 3: '/lib/modules/b.ko' is not '<level> <path>']"
                          "[module list line 4: '1' is not '<level> <path>']"
                          "[module list line 5: 'x /lib/modules/c.ko' is not '<level> <path>']"),
              join(errors));
}

TEST(ModuleList, NegativeLevelIsRefused) {
  std::vector<std::string> errors;
  auto m = parse_module_list("-1 /lib/modules/a.ko\n0 /lib/modules/b.ko\n", errors);
  CHECK_EQUAL(std::string("[0 /lib/modules/b.ko]"), entries(m));
  CHECK_EQUAL(std::string("[module list line 1: '-1 /lib/modules/a.ko' is not '<level> <path>']"), join(errors));
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
