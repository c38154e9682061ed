// Configured paths that are symlinks, dangling links, loops or spelled with
// "..": sys::resolve_in_root on a real tree (openat2 and the fstatat walk
// alike), the real Executor binding them from a squashfs image that holds
// such links (read-only binds and persistent paths), and preserve paths
// resolved through links in an upper. Nothing may be mounted, created or
// moved outside the new root, and none of it may fail the boot.
#include <CppUTest/TestHarness.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "data_image.h"
#include "data_layout.h"
#include "execute.h"
#include "harness.h"
#include "paths.h"
#include "persist.h"
#include "resolve_path.h"
#include "status.h"
#include "sys.h"

using namespace systest;
using strata::BootPlan;
using strata::Executor;
using strata::sys::ResolveWith;
namespace data = strata::data;
namespace paths = strata::paths;

namespace {

void mkdirs(const std::string& dir) {
  if (auto s = strata::sys::mkdir_p(dir); !s) fail(__FILE__, __LINE__, s.error().message());
}

void put(const std::string& path, const std::string& text) {
  mkdirs(strata::sys::parent_of(path));
  write_text(path, text);
}

void link(const std::string& target, const std::string& at) {
  mkdirs(strata::sys::parent_of(at));
  if (::symlink(target.c_str(), at.c_str()) != 0) fail(__FILE__, __LINE__, "symlink " + at);
}

// An image tree with every kind of link a configured path can meet. /sys/kernel
// exists on the host and nowhere in the image: a link to it must dangle.
void make_linked_tree(const std::string& t) {
  put(t + "/etc/hostname", "img\n");
  put(t + "/srv/factory/cal", "cal\n");
  put(t + "/srv/plain/x", "plain\n");
  put(t + "/srv/climbed/x", "climbed\n");
  put(t + "/srv/dotdot/x", "dotdot\n");
  put(t + "/opt/app/config", "app\n");
  put(t + "/usr/lib/fw/blob", "fw\n");
  link("../srv/factory", t + "/etc/rel");
  link("/srv/plain", t + "/etc/abs");
  link("../../../../../../../srv/climbed", t + "/etc/climb");
  link("/nowhere", t + "/etc/dangling");
  link("/sys/kernel", t + "/etc/hostonly");
  link("loop", t + "/etc/loop");
  link("hostname", t + "/etc/tofile");
  link("usr/lib", t + "/lib");
  link("../../opt/app", t + "/var/lib/applink");
  link("/nowhere/state", t + "/var/lib/gone");
}

std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& text) {
  for (const auto& s : v)
    if (s.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_GROUP(ResolvePath){};

TEST(ResolvePath, OpenatTwoAndTheFstatatWalkAgreeOnARealTree) {
  run_isolated([](Ctx& c) {
    const std::string root = c.scratch + "/root";
    make_linked_tree(root);
    struct Case {
      const char* path;
      int err;
      const char* at;
    };
    const Case cases[] = {
        {"/etc/rel", 0, "/srv/factory"},
        {"/etc/abs", 0, "/srv/plain"},
        {"/etc/climb", 0, "/srv/climbed"},
        {"/../../etc/rel/../plain", 0, "/srv/plain"},
        {"/lib/fw", 0, "/usr/lib/fw"},
        {"/etc/dangling", ENOENT, "/nowhere"},
        {"/etc/hostonly", ENOENT, "/sys"},  // the host's /sys/kernel is not the root's
        {"/etc/loop", ELOOP, "/etc/loop"},
        {"/etc/tofile/x", ENOTDIR, "/etc/hostname"},
        {"/srv/new/state", ENOENT, "/srv/new/state"},
    };
    for (ResolveWith with : {ResolveWith::kBest, ResolveWith::kFstatat}) {
      for (const Case& k : cases) {
        auto r = strata::sys::resolve_in_root(root, k.path, with);
        SYS_OK(r);
        const std::string what = std::string(k.path) + (with == ResolveWith::kBest ? " (openat2)" : " (fstatat)") +
                                 ": " + r->path + ": " + strata::describe_resolution(*r);
        SYS_CHECK_MSG(r->err == k.err, what);
        SYS_CHECK_MSG(r->path.rfind(k.at, 0) == 0, what);
      }
    }
    SYS_CHECK(!strata::sys::resolve_in_root(c.scratch + "/none", "/etc").ok());
  });
}

TEST_GROUP(ExecutorPaths){};

TEST(ExecutorPaths, LinksAreBoundAtTheirTargetsInsideTheNewRootAndTheRestIsSkipped) {
  run_isolated(
      [](Ctx& c) {
        ::umask(022);
        const std::string tree = c.scratch + "/tree", image = c.scratch + "/root.squashfs";
        make_linked_tree(tree);
        SYS_EQ(0, sh("mksquashfs " + quote(tree) + " " + quote(image) + " -noappend -all-root -no-progress -quiet"));
        DataDisk disk = scratch_data_disk(c);
        SYS_CHECK(::umount(disk.mnt.c_str()) == 0);  // the executor mounts it
        auto root = attach_or_fail(image);

        BootPlan plan = tmpfs_plan(root.path, "squashfs");
        plan.use_data = true;
        plan.data_spec = "test:data";
        plan.data_device = disk.loop.path;
        plan.data_fstype = "ext4";
        for (const char* p : {"/etc/rel", "/etc/abs", "/etc/climb", "/etc/../srv/dotdot", "/lib/fw", "/etc/dangling",
                              "/etc/hostonly", "/etc/loop", "/etc/tofile", "/etc/rel/../plain", "/srv/missing"})
          plan.binds.push_back({p, std::string(paths::kLower) + p, true, true, false});
        plan.persist_paths = {"/var/lib/applink", "/var/lib/gone", "/srv/newstate", "/etc/../../srv/up", "/etc/loop"};

        const std::string start = mountinfo_text();
        const size_t start_count = mountinfo().size();
        const bool host_sys_kernel_mounted = mount_at("/sys/kernel").has_value();
        Executor ex(c.scratch);
        SYS_OK(ex.mount_layers(plan));
        std::vector<std::string> warnings;
        SYS_OK(ex.bind_paths(plan, warnings));  // never a failed boot
        const std::string nr = c.scratch + paths::kNewRoot;

        // Read-only binds: at the link's target, inside the new root.
        for (const char* at : {"/srv/factory", "/srv/plain", "/srv/climbed", "/srv/dotdot", "/usr/lib/fw"}) {
          auto m = mount_at(nr + at);
          SYS_CHECK_MSG(m.has_value() && m->has_option("ro"), std::string(at) + "\n" + mountinfo_text());
          SYS_EQ(EROFS, try_create(nr + at + "/new"));
        }
        SYS_EQ(std::string("cal\n"), read_text(nr + "/etc/rel/cal"));
        SYS_EQ(EROFS, try_create(nr + "/etc/rel/new"));
        SYS_CHECK_MSG(has(ex.actions(), "read-only bind /etc/rel: bound at /srv/factory"), lines(ex.actions()));
        SYS_CHECK_MSG(has(ex.actions(), "read-only bind /etc/climb: bound at /srv/climbed"), lines(ex.actions()));

        // Persistent paths: the link's target, keyed by the configured name.
        const std::string persist = c.scratch + data::kPersist;
        SYS_EQ(std::string("app\n"), read_text(nr + "/opt/app/config"));
        write_text(nr + "/var/lib/applink/state", "kept\n");
        SYS_EQ(std::string("kept\n"), read_text(persist + "/var/lib/applink/state"));
        SYS_EQ(std::string("app\n"), read_text(persist + "/var/lib/applink/config"));
        SYS_CHECK(mount_at(nr + "/opt/app").has_value());
        SYS_CHECK(strata::sys::is_dir(nr + "/srv/newstate") && mount_at(nr + "/srv/newstate").has_value());
        SYS_CHECK(strata::sys::is_dir(persist + "/srv/newstate"));
        SYS_CHECK(mount_at(nr + "/srv/up").has_value());
        SYS_CHECK_MSG(strata::sys::is_dir(persist + "/srv/up"), "the '..' path keyed by its lexical name");

        // What could not be resolved inside the new root: skipped, with the reason.
        const char* skipped[] = {
            "read-only bind /etc/dangling skipped: dangling symlink: /nowhere does not exist",
            "read-only bind /etc/hostonly skipped: dangling symlink: /sys/kernel does not exist",
            "read-only bind /etc/loop skipped: too many symlinks",
            "read-only bind /etc/tofile skipped: resolves to /etc/hostname, which is not a directory",
            "read-only bind /etc/rel/../plain skipped: resolves to /srv/plain, which is already bound",
            "read-only bind /srv/missing skipped: not a directory in the root image",
            "persistent path /var/lib/gone skipped: dangling symlink: /nowhere/state does not exist",
            "persistent path /etc/loop skipped: too many symlinks",
        };
        for (const char* text : skipped) SYS_CHECK_MSG(has(warnings, text), text + ("\n" + lines(warnings)));
        SYS_EQ(sizeof skipped / sizeof skipped[0], warnings.size());
        // The status lists what was bound, where, and what was skipped, why.
        strata::BootReport report;
        report.plan = &plan;
        report.binds = ex.binds();
        auto status = nlohmann::json::parse(strata::status_json(report));
        std::string made, persistent, skipped_json;
        for (const auto& b : status["binds"])
          made += b["path"].get<std::string>() + "@" + b["at"].get<std::string>() + " ";
        for (const auto& p : status["persistent"]) persistent += p.get<std::string>() + " ";
        for (const auto& b : status["skipped"]) skipped_json += b["path"].get<std::string>() + " ";
        SYS_EQ(std::string(
                   "/etc/rel@/srv/factory /etc/abs@/srv/plain /etc/climb@/srv/climbed /etc/../srv/dotdot@/srv/dotdot "
                   "/lib/fw@/usr/lib/fw "),
               made);
        SYS_EQ(std::string("/var/lib/applink /srv/newstate /etc/../../srv/up "), persistent);
        SYS_EQ(
            std::string("/var/lib/gone /etc/loop /etc/dangling /etc/hostonly /etc/loop /etc/tofile /etc/rel/../plain "
                        "/srv/missing "),
            skipped_json);
        SYS_EQ(std::string("dangling symlink: /nowhere does not exist (through the symlink /etc/dangling)"),
               status["skipped"][2]["why"].get<std::string>());
        // Nothing outside the new root: no mount at the host's /sys/kernel, no
        // tree for a skipped path, and exactly the mounts asked for.
        SYS_EQ(host_sys_kernel_mounted, mount_at("/sys/kernel").has_value());
        SYS_CHECK(!path_exists(nr + "/sys") && !path_exists(nr + "/nowhere"));
        SYS_CHECK(!path_exists(persist + "/var/lib/gone") && !path_exists(persist + "/etc/loop"));
        // data, lower, upper tmpfs, overlay, 5 read-only binds, 3 persistent binds
        SYS_EQ(start_count + 12, mountinfo().size());

        ex.undo();
        SYS_EQ(start, mountinfo_text());
      },
      60);
}

TEST_GROUP(PreservePaths){};

TEST(PreservePaths, LinksAreFollowedAsTheNewRootShowsThemAndLoopsAreSkipped) {
  run_isolated([](Ctx& c) {
    ::umask(022);
    DataDisk disk = scratch_data_disk(c);
    const std::string lower = c.scratch + paths::kLower;
    // The new image: /etc/svc is its link to the service's state.
    link("../var/lib/svc", lower + "/etc/svc");
    mkdirs(lower + "/var/lib/svc");
    strata::DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    const std::string up = dp.upper() + "/data";
    put(up + "/var/lib/svc/db", "user db\n");  // written through the image's link
    link("/var/own", up + "/etc/own");         // the user's own link, and its target
    put(up + "/var/own/f", "own\n");
    link("loop", up + "/etc/loop");
    link("../../../../../../../tmp", up + "/etc/esc");  // climbs past the root: the upper's /tmp
    put(up + "/tmp/x/f", "clamped\n");
    put(up + "/etc/other", "not preserved\n");
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("old-id", strata::LowerChange::kKeep, {}, log));
    SYS_OK(dp.apply_lower_change("new-id", strata::LowerChange::kPreserve,
                                 {"/etc/svc", "/etc/own", "/etc/loop", "/etc/esc/x", "/etc/gone"}, log));
    SYS_EQ(std::string("user db\n"), read_text(up + "/var/lib/svc/db"));
    SYS_EQ(std::string("own\n"), read_text(up + "/var/own/f"));
    char target[64] = {};
    SYS_CHECK(::readlink((up + "/etc/own").c_str(), target, sizeof target - 1) > 0);
    SYS_EQ(std::string("/var/own"), std::string(target));
    SYS_EQ(std::string("clamped\n"), read_text(up + "/tmp/x/f"));
    SYS_CHECK(!path_exists(up + "/etc/other"));
    SYS_CHECK(!path_exists(up + "/etc/loop"));
    SYS_EQ(1u, dp.warnings.size());
    SYS_CHECK_MSG(has(dp.warnings, "preserve path /etc/loop skipped: too many symlinks"), lines(dp.warnings));
  });
}

TEST(PreservePaths, AnOpaqueDirectoryOrAWhiteoutHidesTheImagesLink) {
  // As the overlay will show it: the image's /etc/svc link is not there when
  // the upper's /opt is opaque or the upper whited /etc/svc out.
  run_isolated([](Ctx& c) {
    ::umask(022);
    DataDisk disk = scratch_data_disk(c);
    const std::string lower = c.scratch + paths::kLower;
    link("../var/lib/svc", lower + "/opt/svc");
    link("../var/lib/svc", lower + "/etc/svc");
    mkdirs(lower + "/var/lib/svc");
    strata::DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    const std::string up = dp.upper() + "/data";
    put(up + "/var/lib/svc/db", "user db\n");
    mkdirs(up + "/opt");
    SYS_CHECK(::setxattr((up + "/opt").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
    mkdirs(up + "/etc");
    SYS_CHECK(::mknod((up + "/etc/svc").c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0);
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("old-id", strata::LowerChange::kKeep, {}, log));
    SYS_OK(dp.apply_lower_change("new-id", strata::LowerChange::kPreserve, {"/opt/svc", "/etc/svc"}, log));
    SYS_CHECK_MSG(!path_exists(up + "/var/lib/svc/db"), lines(log));  // nothing led there
    struct stat st {};
    SYS_CHECK(::lstat((up + "/etc/svc").c_str(), &st) == 0 && S_ISCHR(st.st_mode));  // the whiteout is kept
    SYS_EQ(0u, dp.warnings.size());
  });
}
