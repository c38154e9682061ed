// The real Executor with a persistent upper: squashfs lower on a loop
// device, ext4 data partition on another, through several "boots" of the
// same partition: persistence, persistent paths, a factory reset requested
// by file and on the command line, and a new image under the old upper.
#include <CppUTest/TestHarness.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <functional>

#include "data_image.h"
#include "data_layout.h"
#include "execute.h"
#include "harness.h"
#include "paths.h"
#include "persist.h"
#include "sys.h"

using namespace systest;
using strata::BootPlan;
using strata::Executor;
namespace data = strata::data;
namespace paths = strata::paths;

namespace {

BootPlan persistent_plan(const std::string& root_dev, const std::string& root_fstype, const std::string& data_dev) {
  BootPlan p = tmpfs_plan(root_dev, root_fstype);
  p.upper_mode = p.configured_upper_mode = strata::UpperMode::kPersistent;
  p.tmpfs_options.clear();
  p.use_data = true;
  p.data_spec = "test:data";
  p.data_device = data_dev;
  p.data_fstype = "ext4";
  p.persist_paths = {"/opt/app"};
  p.binds = {{"/etc/sub", std::string(paths::kLower) + "/etc/sub", true, true, false}};
  return p;
}

struct Boot {
  std::vector<std::string> actions, warnings, points;
};

bool has(const std::vector<std::string>& v, const std::string& text) {
  for (const auto& s : v)
    if (s.find(text) != std::string::npos) return true;
  return false;
}

std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

// One boot as far as strata takes it: mount_layers + bind_paths, then
// `in_root` looks around while it is all mounted, then undo(), which must
// leave the mount table as it was.
Boot boot(const Ctx& c, const BootPlan& plan, const std::function<void(const Boot&)>& in_root) {
  const std::string start = mountinfo_text();
  Boot b;
  Executor ex(c.scratch);
  ex.crash_point = [&](const std::string& p) { b.points.push_back(p); };
  auto s = ex.mount_layers(plan);
  if (!s.ok()) fail(__FILE__, __LINE__, "mount_layers: " + s.error().message() + "\n" + ex.data_error());
  s = ex.bind_paths(plan, b.warnings);
  if (!s.ok()) fail(__FILE__, __LINE__, "bind_paths: " + s.error().message());
  b.actions = ex.actions();
  SYS_CHECK(ex.data_error().empty());
  in_root(b);
  ex.undo();
  SYS_EQ(start, mountinfo_text());
  SYS_CHECK(!mount_at(c.scratch + data::kMount).has_value());
  return b;
}

}  // namespace

TEST_GROUP(ExecutorPersistent){};

TEST(ExecutorPersistent, FilesPersistAcrossBootsUntilAReset) {
  const auto& f = fixtures();
  run_isolated(
      [&](Ctx& c) {
        ::umask(022);
        const std::string image = c.scratch + "/data.img";
        if (auto e = make_ext4_image(image, 32); !e.empty()) fail(__FILE__, __LINE__, e);
        auto data_loop = attach_loop_rw(image);
        SYS_OK(data_loop);
        auto root = attach_or_fail(f.squashfs);
        const std::string newroot = c.scratch + paths::kNewRoot, mnt = c.scratch + data::kMount;
        const std::string upper_data = c.scratch + data::kUpper + "/data";
        const std::string persist = c.scratch + data::kPersist + "/opt/app";
        BootPlan plan = persistent_plan(root.path, "squashfs", data_loop->path);

        // 1: a fresh data partition. Writes land on it.
        Boot b1 = boot(c, plan, [&](const Boot& b) {
          SYS_EQ(std::string(""), lines(b.warnings));
          auto dm = mount_at(mnt);
          SYS_CHECK(dm.has_value());
          SYS_EQ(std::string("ext4"), dm->fstype);
          SYS_EQ(data_loop->path, dm->source);
          auto um = mount_at(c.scratch + paths::kUpperFs);
          SYS_CHECK(um.has_value());
          SYS_EQ(std::string("/strata/upper"), um->root);  // a bind of the data partition's upper
          auto ov = mount_at(newroot);
          SYS_CHECK(ov.has_value());
          SYS_EQ(std::string("overlay"), ov->fstype);
          SYS_CHECK_MSG(ov->super_options.find("upperdir=" + c.scratch + paths::kUpperDir) != std::string::npos,
                        ov->super_options);

          write_text(newroot + "/etc/newfile", "persisted\n");
          write_text(newroot + "/etc/marker", "changed\n");
          SYS_EQ(std::string("persisted\n"), read_text(upper_data + "/etc/newfile"));
          SYS_EQ(std::string("changed\n"), read_text(upper_data + "/etc/marker"));
          // The persistent path is seeded from the image and bound read-write.
          SYS_EQ(std::string("app\n"), read_text(newroot + "/opt/app/config"));
          write_text(newroot + "/opt/app/state", "state\n");
          SYS_EQ(std::string("state\n"), read_text(persist + "/state"));
          SYS_CHECK(!path_exists(upper_data + "/opt/app/state"));
          // The read-only bind is there as ever.
          SYS_EQ(EROFS, try_create(newroot + "/etc/sub/x"));
          const std::string id = read_text(c.scratch + data::kLowerId);
          SYS_CHECK_MSG(id.rfind("sb:", 0) == 0 && id.size() == 3 + 64 + 1, id);
        });
        SYS_CHECK_MSG(has(b1.actions, "persistent /opt/app: seeded from the image"), lines(b1.actions));
        SYS_EQ(0u, b1.points.size());

        // 2: everything is still there.
        Boot b2 = boot(c, plan, [&](const Boot&) {
          SYS_EQ(std::string("persisted\n"), read_text(newroot + "/etc/newfile"));
          SYS_EQ(std::string("changed\n"), read_text(newroot + "/etc/marker"));
          SYS_EQ(std::string("state\n"), read_text(newroot + "/opt/app/state"));
        });
        SYS_EQ(std::string(""), lines(b2.actions));  // same image, seeded already: nothing to do

        // 3: `strata factory-reset` wrote a request on the running system.
        SYS_CHECK(::mount(data_loop->path.c_str(), mnt.c_str(), "ext4", 0, nullptr) == 0);
        SYS_OK(strata::DataPartition(c.scratch).request_reset(strata::ResetTier::kOverlay));
        SYS_CHECK(::umount(mnt.c_str()) == 0);
        Boot b3 = boot(c, plan, [&](const Boot&) {
          SYS_CHECK(!path_exists(newroot + "/etc/newfile"));
          SYS_EQ(std::string("lower\n"), read_text(newroot + "/etc/marker"));
          SYS_EQ(std::string("state\n"), read_text(newroot + "/opt/app/state"));  // overlay tier: kept
          SYS_CHECK(!path_exists(c.scratch + data::kResetRequest));
          write_text(newroot + "/etc/newfile", "again\n");
        });
        SYS_CHECK_MSG(has(b3.actions, "factory reset (overlay) done"), lines(b3.actions));
        SYS_EQ(std::string("  reset-upper-moved\n  reset-done\n"), lines(b3.points));

        // 4: strata.reset=all on the command line.
        BootPlan all = plan;
        all.reset = true;
        all.reset_tier = strata::ResetTier::kAll;
        Boot b4 = boot(c, all, [&](const Boot&) {
          SYS_CHECK(!path_exists(newroot + "/etc/newfile"));
          SYS_CHECK(!path_exists(newroot + "/opt/app/state"));
          SYS_EQ(std::string("app\n"), read_text(newroot + "/opt/app/config"));  // seeded anew
          write_text(newroot + "/etc/keep", "keep\n");
          write_text(newroot + "/etc/drop", "drop\n");
        });
        SYS_CHECK_MSG(has(b4.actions, "factory reset (all) done"), lines(b4.actions));
        SYS_CHECK_MSG(has(b4.actions, "persistent /opt/app: seeded from the image"), lines(b4.actions));
        SYS_EQ(std::string("  reset-upper-moved\n  reset-persist-moved\n  reset-done\n"), lines(b4.points));

        // 5: a new image (erofs, so another identity) under the old upper.
        auto erofs = attach_or_fail(f.erofs);
        BootPlan next = persistent_plan(erofs.path, "erofs", data_loop->path);
        next.on_lower_change = strata::LowerChange::kPreserve;
        next.preserve = {"/etc/keep"};
        Boot b5 = boot(c, next, [&](const Boot&) {
          SYS_EQ(std::string("keep\n"), read_text(newroot + "/etc/keep"));
          SYS_CHECK(!path_exists(newroot + "/etc/drop"));
          SYS_EQ(std::string("lower\n"), read_text(newroot + "/etc/marker"));
        });
        SYS_CHECK_MSG(has(b5.actions, "lower image changed (sb:"), lines(b5.actions));
        SYS_CHECK_MSG(has(b5.actions, "preserved /etc/keep"), lines(b5.actions));
      },
      60);
}
