// split_cmdline and strata_words: the kernel command line.
#include <CppUTest/TestHarness.h>

#include <string>
#include <string_view>

#include "cmdline.h"
#include "helpers.h"

using namespace strata;
using strata::test::join;

namespace {

// "key=value" (or "key" for a bare flag) per word, to compare whole lists.
std::string words(std::string_view line) {
  std::string out;
  for (const auto& w : strata_words(line)) out += "[" + w.key + (w.has_value ? "=" + w.value : "") + "]";
  return out;
}

}  // namespace

TEST_GROUP(SplitCmdline){};

TEST(SplitCmdline, EmptyLineHasNoWords) {
  LONGS_EQUAL(0, split_cmdline("").size());
}

TEST(SplitCmdline, OnlyWhitespaceHasNoWords) {
  LONGS_EQUAL(0, split_cmdline(" \t\n\r  \n").size());
}

TEST(SplitCmdline, SpacesSeparate) {
  CHECK_EQUAL(std::string("[console=ttyS0][quiet][ro]"), join(split_cmdline("console=ttyS0 quiet ro")));
}

TEST(SplitCmdline, RunsOfWhitespaceAndEdgesCollapse) {
  CHECK_EQUAL(std::string("[a][b]"), join(split_cmdline("   a     b   ")));
}

TEST(SplitCmdline, TabsNewlinesAndCarriageReturnsSeparate) {
  CHECK_EQUAL(std::string("[a][b][c][d]"), join(split_cmdline("a\tb\nc\r\nd")));
}

TEST(SplitCmdline, TrailingNewlineOfProcCmdlineIsNotAWord) {
  CHECK_EQUAL(std::string("[root=/dev/vda1][rw]"), join(split_cmdline("root=/dev/vda1 rw\n")));
}

TEST(SplitCmdline, QuotesGroupAndAreRemoved) {
  CHECK_EQUAL(std::string("[x=a b][y]"), join(split_cmdline("x=\"a b\" y")));
  CHECK_EQUAL(std::string("[quoted word]"), join(split_cmdline("\"quoted word\"")));
}

TEST(SplitCmdline, QuotesInsideAWordJoinItsParts) {
  CHECK_EQUAL(std::string("[ab cd][e]"), join(split_cmdline("a\"b c\"d e")));
}

TEST(SplitCmdline, QuotedTabsAndNewlinesAreKept) {
  CHECK_EQUAL(std::string("[a\tb\nc]"), join(split_cmdline("\"a\tb\nc\"")));
}

TEST(SplitCmdline, EmptyQuotesAreAnEmptyWord) {
  auto w = split_cmdline("a \"\" b");
  LONGS_EQUAL(3, w.size());
  CHECK_EQUAL(std::string(""), w[1]);
}

TEST(SplitCmdline, UnterminatedQuoteRunsToTheEnd) {
  CHECK_EQUAL(std::string("[a][b c  d]"), join(split_cmdline("a \"b c  d")));
}

TEST(SplitCmdline, NulBytesAreDropped) {
  const std::string line("a\0b c", 5);
  CHECK_EQUAL(std::string("[ab][c]"), join(split_cmdline(line)));
}

TEST_GROUP(StrataWords){};

TEST(StrataWords, NonStrataWordsAreIgnored) {
  LONGS_EQUAL(0, strata_words("console=ttyAMA0 root=/dev/vda1 quiet panic=-1 init=/sbin/init").size());
}

TEST(StrataWords, KeyIsThePartAfterThePrefix) {
  auto w = strata_words("quiet strata.root.source=PARTLABEL=root-b ro");
  LONGS_EQUAL(1, w.size());
  CHECK_EQUAL(std::string("root.source"), w[0].key);
  CHECK_EQUAL(std::string("PARTLABEL=root-b"), w[0].value);
  CHECK_TRUE(w[0].has_value);
}

TEST(StrataWords, ValueKeepsEverythingAfterTheFirstEquals) {
  auto w = strata_words("strata.root.source=UUID=a=b=c");
  LONGS_EQUAL(1, w.size());
  CHECK_EQUAL(std::string("root.source"), w[0].key);
  CHECK_EQUAL(std::string("UUID=a=b=c"), w[0].value);
}

TEST(StrataWords, BareFlagHasNoValue) {
  auto w = strata_words("strata.debug");
  LONGS_EQUAL(1, w.size());
  CHECK_EQUAL(std::string("debug"), w[0].key);
  CHECK_EQUAL(std::string(""), w[0].value);
  CHECK_FALSE(w[0].has_value);
}

TEST(StrataWords, EmptyValueIsStillAValue) {
  auto w = strata_words("strata.root.image=");
  LONGS_EQUAL(1, w.size());
  CHECK_EQUAL(std::string("root.image"), w[0].key);
  CHECK_EQUAL(std::string(""), w[0].value);
  CHECK_TRUE(w[0].has_value);
}

TEST(StrataWords, QuotedValueKeepsItsSpaces) {
  auto w = strata_words("strata.binds.readonly=\"/etc/factory /var/lib/cal\" quiet");
  LONGS_EQUAL(1, w.size());
  CHECK_EQUAL(std::string("/etc/factory /var/lib/cal"), w[0].value);
}

TEST(StrataWords, OrderIsKeptAndRepeatsAreKept) {
  CHECK_EQUAL(std::string("[upper.mode=none][debug][break=mount,binds][upper.mode=tmpfs]"),
              words("console=ttyS0 strata.upper.mode=none quiet strata.debug strata.break=mount,binds "
                    "strata.upper.mode=tmpfs root=/dev/vda"));
}

TEST(StrataWords, PrefixMustStartTheWordAndMatchCase) {
  CHECK_EQUAL(std::string(""), words("xstrata.debug STRATA.debug Strata.debug strata_debug stratadebug"));
}

TEST(StrataWords, EmptyKeyIsIgnored) {
  CHECK_EQUAL(std::string("[debug]"), words("strata. strata.=1 strata.debug"));
}
