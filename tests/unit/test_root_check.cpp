// check_root over fake trees: what the host tool says of a root a user brings
// before it is packed, for each way the boot would fail or degrade.
#include <CppUTest/TestHarness.h>

#include <set>
#include <string>

#include "helpers.h"
#include "root_check.h"

using namespace strata;
using strata::test::contains;
using strata::test::FakeTree;
using strata::test::load;

namespace {

// A Debian-like tree: merged /usr, /sbin/init an absolute link to systemd.
FakeTree debian_like() {
  FakeTree t;
  t.entries = {
      {"/dev", "/"},
      {"/proc", "/"},
      {"/sys", "/"},
      {"/run", "/"},
      {"/usr", "/"},
      {"/usr/sbin", "/"},
      {"/usr/lib", "/"},
      {"/usr/lib/systemd", "/"},
      {"/sbin", "@usr/sbin"},
      {"/lib", "@usr/lib"},
      {"/usr/sbin/init", "@/lib/systemd/systemd"},
      {"/usr/lib/systemd/systemd", "f"},
      {"/etc", "/"},
      {"/etc/factory", "/"},
      {"/var", "/"},
      {"/var/lib", "/"},
      {"/etc/app", "@/var/lib/app"},
  };
  return t;
}

struct Checked {
  std::vector<RootFinding> findings;
  std::string text;  // every finding, one per line: "E path: message" or "N path: message"
};

Checked check(FakeTree& t, const std::string& ini, std::set<std::string> not_executable = {}) {
  RootTree tree{[&t](const std::string& p) { return t.resolve(p); },
                [not_executable](const std::string& p) { return !not_executable.count(p); }};
  Checked c;
  c.findings = check_root(load(ini).config, tree);
  for (const auto& f : c.findings)
    c.text += std::string(f.severity == RootFinding::kError ? "E " : "N ") + f.path + ": " + f.message + "\n";
  return c;
}

}  // namespace

TEST_GROUP(RootCheck){};

TEST(RootCheck, DebianTreeWithItsLinksBoots) {
  FakeTree t = debian_like();
  auto c = check(t, "[persist]\npaths = /var/lib/app\n");
  CHECK_FALSE_TEXT(has_errors(c.findings), c.text.c_str());
  // The init is found through both links, and the note says where it is.
  CHECK_TEXT(contains(c.text, "N /sbin/init: the init is /usr/lib/systemd/systemd"), c.text.c_str());
}

TEST(RootCheck, MissingInitIsAnError) {
  FakeTree t = debian_like();
  t.entries.erase("/usr/lib/systemd/systemd");
  auto c = check(t, "");
  CHECK(has_errors(c.findings));
  CHECK_TEXT(contains(c.text, "E /sbin/init: the init ([boot] init) is a link that points nowhere"), c.text.c_str());
  CHECK_TEXT(contains(c.text, "would fall back to /sbin/init, /etc/init, /bin/init or /bin/sh"), c.text.c_str());
}

TEST(RootCheck, ConfiguredInitIsTheOneChecked) {
  FakeTree t = debian_like();
  auto c = check(t, "[boot]\ninit = /opt/app/init\n");
  CHECK_TEXT(contains(c.text, "E /opt/app/init: the init ([boot] init) does not exist"), c.text.c_str());
}

TEST(RootCheck, InitThatIsNotExecutableOrADirectory) {
  FakeTree t = debian_like();
  auto c = check(t, "", {"/usr/lib/systemd/systemd"});
  CHECK_TEXT(contains(c.text, "E /sbin/init: the init ([boot] init) is not executable"), c.text.c_str());
  auto d = check(t, "[boot]\ninit = /etc\n");
  CHECK_TEXT(contains(d.text, "E /etc: the init ([boot] init) is a directory"), d.text.c_str());
}

TEST(RootCheck, MountPointsMissingLinkedOrFiles) {
  FakeTree t = debian_like();
  t.entries.erase("/proc");
  t.entries["/run"] = "@/var/run";
  t.entries["/var/run"] = "/";
  t.entries["/sys"] = "f";
  auto c = check(t, "");
  CHECK_TEXT(contains(c.text, "E /proc: mount point /proc is missing"), c.text.c_str());
  CHECK_TEXT(contains(c.text, "E /run: mount point /run is a symbolic link (/run); it must be a plain directory"),
             c.text.c_str());
  CHECK_TEXT(contains(c.text, "E /sys: mount point /sys is not a directory"), c.text.c_str());
  CHECK_FALSE_TEXT(contains(c.text, "/dev:"), c.text.c_str());
}

TEST(RootCheck, BindPathsTheBootWouldSkip) {
  FakeTree t = debian_like();
  t.entries["/etc/dangling"] = "@/nowhere";
  t.entries["/etc/loop"] = "@loop";
  t.entries["/etc/passwd"] = "f";
  auto c = check(t, "[binds]\nreadonly = /etc/dangling /etc/factory /etc/passwd\n[persist]\npaths = /etc/loop\n");
  CHECK_TEXT(contains(c.text, "E /etc/dangling: read-only bind /etc/dangling: dangling symlink"), c.text.c_str());
  CHECK_TEXT(contains(c.text,
                      "E /etc/passwd: read-only bind /etc/passwd: resolves to /etc/passwd, which is not a "
                      "directory"),
             c.text.c_str());
  CHECK_TEXT(contains(c.text, "E /etc/loop: persistent path /etc/loop: too many symlinks"), c.text.c_str());
  CHECK_TEXT(contains(c.text, "would skip it (DEGRADED boot)"), c.text.c_str());
  CHECK_FALSE_TEXT(contains(c.text, "/etc/factory"), c.text.c_str());
}

TEST(RootCheck, AbsoluteLinkToABindIsANoteWithWhereItIsBound) {
  FakeTree t = debian_like();
  t.entries["/var/lib/app"] = "/";
  auto c = check(t, "[persist]\npaths = /etc/app /var/lib/missing\n");
  CHECK_FALSE_TEXT(has_errors(c.findings), c.text.c_str());
  CHECK_TEXT(contains(c.text,
                      "N /etc/app: persistent path /etc/app is bound at /var/lib/app (through /etc/app, "
                      "resolved inside the root as at boot)"),
             c.text.c_str());
  // A persistent path plainly missing is created at boot: nothing to say.
  CHECK_FALSE_TEXT(contains(c.text, "missing"), c.text.c_str());
}

TEST(RootCheck, AReadOnlyBindTheImageLacksIsAnError) {
  FakeTree t = debian_like();
  auto c = check(t, "[binds]\nreadonly = /opt/calibration\n");
  CHECK_TEXT(contains(c.text,
                      "E /opt/calibration: read-only bind /opt/calibration: /opt/calibration is not a "
                      "directory in the root image; strata-init would skip it"),
             c.text.c_str());
}
