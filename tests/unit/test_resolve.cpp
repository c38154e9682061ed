// resolve_in_root over a fake tree: every case a configured bind, persistent
// or preserve path can meet in an image, without root or a filesystem.
#include <CppUTest/TestHarness.h>

#include <cerrno>
#include <map>
#include <string>

#include "helpers.h"
#include "resolve.h"

using namespace strata;
using strata::test::FakeTree;
using strata::test::join;

namespace {

FakeTree image() {
  FakeTree t;
  t.entries = {
      {"/etc", "/"},
      {"/etc/factory", "/"},
      {"/etc/passwd", "f"},
      {"/var", "/"},
      {"/var/lib", "/"},
      {"/var/lib/app", "/"},
      {"/etc/app", "@../var/lib/app"},          // relative, stays inside
      {"/etc/abs", "@/var/lib/app"},            // absolute: the root's /var, not the host's
      {"/etc/up", "@../../../../var/lib/app"},  // climbs past the root: clamped
      {"/etc/escape", "@/../../etc/factory"},   // absolute with .. above the root
      {"/etc/dangling", "@/nowhere/at/all"},
      {"/etc/loop1", "@loop2"},
      {"/etc/loop2", "@loop1"},
      {"/etc/self", "@self"},
      {"/etc/tofile", "@passwd"},
      {"/etc/chain1", "@chain2"},
      {"/etc/chain2", "@/etc/chain3"},
      {"/etc/chain3", "@factory"},
      {"/etc/empty", "@"},
      {"/etc/rootlink", "@/"},
      {"/etc/secret", "!"},
      {"/lib", "@usr/lib"},  // a merged /usr: a directory link on the way
      {"/usr", "/"},
      {"/usr/lib", "/"},
      {"/usr/lib/fw", "/"},
  };
  return t;
}

void check_ok(const Resolution& r, const std::string& path) {
  LONGS_EQUAL_TEXT(0, r.err, (r.path + ": " + describe_resolution(r)).c_str());
  CHECK_EQUAL(path, r.path);
  CHECK_EQUAL(std::string(""), describe_resolution(r));
}

}  // namespace

TEST_GROUP(ResolveInRoot){};

TEST(ResolveInRoot, APlainDirectoryIsItself) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/factory");
  check_ok(r, "/etc/factory");
  LONGS_EQUAL(0, r.links.size());
  CHECK(r.kind == PathEntry::kDirectory);
  CHECK_EQUAL(std::string("[/etc][/etc/factory]"), join(t.asked));
}

TEST(ResolveInRoot, ARelativeSymlinkIsFollowedToItsTarget) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/app");
  check_ok(r, "/var/lib/app");
  CHECK_EQUAL(std::string("[/etc/app]"), join(r.links));
}

TEST(ResolveInRoot, AnAbsoluteSymlinkStartsAtTheRootNotTheHost) {
  FakeTree t = image();
  check_ok(t.resolve("/etc/abs"), "/var/lib/app");
  // Every lookup stayed a path inside the root.
  for (const auto& p : t.asked) CHECK_TRUE_TEXT(p[0] == '/', p.c_str());
}

TEST(ResolveInRoot, DotDotInALinkStopsAtTheRoot) {
  FakeTree t = image();
  check_ok(t.resolve("/etc/up"), "/var/lib/app");
  check_ok(t.resolve("/etc/escape"), "/etc/factory");
}

TEST(ResolveInRoot, DotDotInTheConfiguredPathStopsAtTheRoot) {
  FakeTree t = image();
  check_ok(t.resolve("/../../etc/factory"), "/etc/factory");
  check_ok(t.resolve("/etc/../etc/./factory/"), "/etc/factory");
  check_ok(t.resolve("//etc//factory"), "/etc/factory");
}

TEST(ResolveInRoot, DotDotAfterASymlinkIsTheTargetsParent) {
  // As the kernel has it: .. after a link climbs from where the link led.
  FakeTree t = image();
  check_ok(t.resolve("/etc/app/../app"), "/var/lib/app");
  check_ok(t.resolve("/etc/app/.."), "/var/lib");
}

TEST(ResolveInRoot, ADanglingSymlinkIsENOENTWithWhereItPointed) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/dangling");
  LONGS_EQUAL(ENOENT, r.err);
  CHECK(r.dangling());
  CHECK_FALSE(r.missing_plainly());
  CHECK_EQUAL(std::string("/nowhere/at/all"), r.path);
  CHECK_EQUAL(std::string("dangling symlink: /nowhere/at/all does not exist (through the symlink /etc/dangling)"),
              describe_resolution(r));
}

TEST(ResolveInRoot, AnEmptyLinkTargetIsDangling) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/empty");
  LONGS_EQUAL(ENOENT, r.err);
  CHECK(r.dangling());
}

TEST(ResolveInRoot, AMissingPathWithoutLinksCanBeCreatedWhereItIsNamed) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/new/./deeper/state");
  LONGS_EQUAL(ENOENT, r.err);
  CHECK(r.missing_plainly());
  CHECK_FALSE(r.last_missing);
  CHECK_EQUAL(std::string("/etc/new/deeper/state"), r.path);
  CHECK_EQUAL(std::string("/etc/new/deeper/state does not exist"), describe_resolution(r));
  CHECK(t.resolve("/etc/new").last_missing);
}

TEST(ResolveInRoot, DotDotAfterAMissingComponentIsNotCreatable) {
  // /etc/new/../app would be /etc/app, a link: making it with mkdir would follow it.
  FakeTree t = image();
  Resolution r = t.resolve("/etc/new/../app/x");
  LONGS_EQUAL(ENOENT, r.err);
  CHECK_FALSE(r.missing_plainly());
  CHECK_EQUAL(std::string("/etc/new"), r.path);
}

TEST(ResolveInRoot, AMissingPathBehindALinkIsNotCreatable) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/app/new");
  LONGS_EQUAL(ENOENT, r.err);
  CHECK_FALSE(r.missing_plainly());
  CHECK(r.dangling());
  CHECK_EQUAL(std::string("/var/lib/app/new"), r.path);
}

TEST(ResolveInRoot, ALoopIsELOOP) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/loop1");
  LONGS_EQUAL(ELOOP, r.err);
  LONGS_EQUAL(kMaxSymlinks + 1, r.links.size());
  CHECK(strata::test::contains(describe_resolution(r), "too many symlinks"));
  LONGS_EQUAL(ELOOP, t.resolve("/etc/self/x").err);
}

TEST(ResolveInRoot, FortySymlinksAreFineAndFortyOneAreNot) {
  FakeTree t;
  t.entries["/d"] = "/";
  for (int i = 0; i < kMaxSymlinks + 1; i++)
    t.entries["/l" + std::to_string(i)] = i == 0 ? "@d" : "@l" + std::to_string(i - 1);
  check_ok(t.resolve("/l" + std::to_string(kMaxSymlinks - 1)), "/d");
  LONGS_EQUAL(ELOOP, t.resolve("/l" + std::to_string(kMaxSymlinks)).err);
}

TEST(ResolveInRoot, AChainOfLinksIsFollowedAndEachRecorded) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/chain1");
  check_ok(r, "/etc/factory");
  CHECK_EQUAL(std::string("[/etc/chain1][/etc/chain2][/etc/chain3]"), join(r.links));
}

TEST(ResolveInRoot, AFileWhereADirectoryIsNeededIsENOTDIR) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/passwd/x");
  LONGS_EQUAL(ENOTDIR, r.err);
  CHECK_EQUAL(std::string("/etc/passwd"), r.path);
  LONGS_EQUAL(ENOTDIR, t.resolve("/etc/passwd/..").err);
  LONGS_EQUAL(ENOTDIR, t.resolve("/etc/tofile/x").err);
}

TEST(ResolveInRoot, AFileAtTheEndResolvesButIsNoBindDirectory) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/tofile");
  LONGS_EQUAL(0, r.err);
  CHECK_EQUAL(std::string("/etc/passwd"), r.path);
  CHECK(r.kind == PathEntry::kOther);
  CHECK_EQUAL(std::string("resolves to /etc/passwd, which is not a directory (through the symlink /etc/tofile)"),
              describe_resolution(r));
}

TEST(ResolveInRoot, ALinkToTheRootResolvesToTheRootAndIsRefused) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/rootlink");
  LONGS_EQUAL(0, r.err);
  CHECK_EQUAL(std::string("/"), r.path);
  CHECK_EQUAL(std::string("resolves to the root itself"), describe_resolution(r));
  CHECK_EQUAL(std::string("/"), t.resolve("/etc/..").path);
}

TEST(ResolveInRoot, ADirectoryLinkOnTheWayIsFollowed) {
  FakeTree t = image();
  check_ok(t.resolve("/lib/fw"), "/usr/lib/fw");
}

TEST(ResolveInRoot, ALookupErrorStopsTheWalkWithIt) {
  FakeTree t = image();
  Resolution r = t.resolve("/etc/secret/x");
  LONGS_EQUAL(EACCES, r.err);
  CHECK_EQUAL(std::string("/etc/secret"), r.path);
  CHECK(strata::test::contains(describe_resolution(r), "cannot look up /etc/secret"));
}

TEST(ResolveInRoot, NothingAboveTheRootIsEverLookedUp) {
  FakeTree t = image();
  for (const char* p : {"/etc/up", "/etc/escape", "/../../../x", "/etc/abs/../../../../..", "/etc/loop1"}) t.resolve(p);
  for (const auto& p : t.asked) {
    CHECK_TRUE_TEXT(p.find("..") == std::string::npos, p.c_str());
    CHECK_TRUE_TEXT(p.find("/.") == std::string::npos, p.c_str());
  }
}

TEST_GROUP(NormalizeLexically){};

TEST(NormalizeLexically, DotsAndSlashesGoAndDotDotStopsAtTheRoot) {
  CHECK_EQUAL(std::string("/etc/app"), normalize_lexically("/etc/app"));
  CHECK_EQUAL(std::string("/etc/app"), normalize_lexically("//etc/./app/"));
  CHECK_EQUAL(std::string("/var/app"), normalize_lexically("/etc/../var/app"));
  CHECK_EQUAL(std::string("/x"), normalize_lexically("/../../x"));
  CHECK_EQUAL(std::string("/"), normalize_lexically("/etc/.."));
}
