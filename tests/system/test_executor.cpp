// The real Executor on real filesystems: lower from a loop device (squashfs,
// erofs, ext4) or from an image file on an ext4 source, tmpfs or no upper,
// the overlay, and undo().
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cctype>

#include "execute.h"
#include "harness.h"
#include "paths.h"
#include "sys.h"

using namespace systest;
using strata::Executor;
using strata::UpperMode;

namespace {

std::string in(const Ctx& c, const char* p) {
  return c.scratch + p;
}

bool is_loop_path(const std::string& path, const std::string& dev_dir) {
  const std::string prefix = dev_dir + "/loop";
  if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return false;
  for (size_t i = prefix.size(); i < path.size(); i++)
    if (!isdigit(static_cast<unsigned char>(path[i]))) return false;
  return true;
}

// Everything item 1 asks of a tmpfs-upper overlay root.
void check_overlay_root(const Ctx& c, const std::string& lower_fstype) {
  const std::string newroot = in(c, strata::paths::kNewRoot), lower = in(c, strata::paths::kLower),
                    upperdata = in(c, strata::paths::kUpperDir);

  auto ov = mount_at(newroot);
  SYS_CHECK_MSG(ov.has_value(), "nothing mounted at " + newroot + "\n" + mountinfo_text());
  SYS_EQ(std::string("overlay"), ov->fstype);
  SYS_CHECK_MSG(ov->has_option("rw"), ov->options);
  SYS_CHECK_MSG(ov->super_options.find("lowerdir=" + lower) != std::string::npos, ov->super_options);
  SYS_CHECK_MSG(ov->super_options.find("upperdir=" + upperdata) != std::string::npos, ov->super_options);
  auto ro = strata::sys::is_readonly(newroot);
  SYS_OK(ro);
  SYS_CHECK_MSG(!*ro, "the overlay is read-only");

  auto lo = mount_at(lower);
  SYS_CHECK(lo.has_value());
  SYS_EQ(lower_fstype, lo->fstype);
  SYS_CHECK_MSG(lo->has_option("ro"), lo->options);
  SYS_CHECK_MSG(lo->super_options.rfind("ro", 0) == 0, "superblock options " + lo->super_options);
  auto up = mount_at(in(c, strata::paths::kUpperFs));
  SYS_CHECK(up.has_value());
  SYS_EQ(std::string("tmpfs"), up->fstype);

  // The image's files show through.
  SYS_EQ(std::string("lower\n"), read_text(newroot + "/etc/marker"));
  SYS_EQ(std::string("deep\n"), read_text(newroot + "/etc/sub/deep.txt"));
  struct stat st {};
  SYS_CHECK(::stat((newroot + "/usr/bin/tool").c_str(), &st) == 0 && (st.st_mode & 0111));

  // New files land in the upper, never in the lower.
  write_text(newroot + "/newfile", "hello\n");
  SYS_EQ(std::string("hello\n"), read_text(upperdata + "/newfile"));
  SYS_CHECK(!path_exists(lower + "/newfile"));
  // Changing a lower file copies it up; the lower keeps its content.
  write_text(newroot + "/etc/marker", "changed\n");
  SYS_EQ(std::string("changed\n"), read_text(newroot + "/etc/marker"));
  SYS_EQ(std::string("changed\n"), read_text(upperdata + "/etc/marker"));
  SYS_EQ(std::string("lower\n"), read_text(lower + "/etc/marker"));
  SYS_CHECK(::mkdir((newroot + "/newdir").c_str(), 0755) == 0);
  SYS_CHECK(strata::sys::is_dir(upperdata + "/newdir"));
  // The lower itself refuses writes.
  SYS_EQ(EROFS, try_create(lower + "/x"));
}

void overlay_case(const Ctx& c, const std::string& image, const std::string& fstype) {
  const std::string start = mountinfo_text();
  auto dev = attach_or_fail(image);
  const std::string name = loop_name(dev.path);

  Executor ex(c.scratch);
  auto s = ex.mount_layers(tmpfs_plan(dev.path, fstype));
  SYS_OK(s);
  dev.fd.reset();  // the mount holds the device now
  SYS_CHECK(loop_attached(name));
  check_overlay_root(c, fstype);
  SYS_CHECK(ex.loop_device().empty());  // no image file: the executor attached nothing
  SYS_CHECK(!ex.times().empty() && ex.times()[0].stage == "mount");

  ex.undo();
  SYS_EQ(start, mountinfo_text());
  SYS_CHECK_MSG(wait_loop_free(name), name + " still attached after undo (autoclear)");
}

}  // namespace

TEST_GROUP(Executor){};

TEST(Executor, SquashfsLowerTmpfsUpper) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) { overlay_case(c, f.squashfs, "squashfs"); });
}

TEST(Executor, ErofsLowerTmpfsUpper) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) { overlay_case(c, f.erofs, "erofs"); });
}

TEST(Executor, Ext4LowerMountedReadOnlyTmpfsUpper) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) { overlay_case(c, f.ext4, "ext4"); });
}

TEST(Executor, ImageFileOnExt4SourceIsProbedAndAttachedReadOnly) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    bind_dev_into(c.scratch);  // the executor attaches the image through <root>/dev
    const std::string start = mountinfo_text();
    auto src = attach_or_fail(f.source_ext4);
    const std::string src_name = loop_name(src.path);

    strata::BootPlan plan = tmpfs_plan(src.path, "ext4");
    plan.image = "/images/root.squashfs";
    plan.image_fstype = "";  // probe
    Executor ex(c.scratch);
    SYS_OK(ex.mount_layers(plan));
    src.fd.reset();

    const std::string source = in(c, strata::paths::kSource), lower = in(c, strata::paths::kLower);
    auto sm = mount_at(source);
    SYS_CHECK(sm.has_value());
    SYS_EQ(std::string("ext4"), sm->fstype);
    SYS_CHECK_MSG(sm->has_option("ro"), sm->options);

    // The lower is the squashfs from inside the image file.
    const std::string loop = ex.loop_device();
    SYS_CHECK_MSG(is_loop_path(loop, c.scratch + "/dev"), "loop_device() = " + loop);
    auto lm = mount_at(lower);
    SYS_CHECK(lm.has_value());
    SYS_EQ(std::string("squashfs"), lm->fstype);
    SYS_EQ(loop, lm->source);
    SYS_EQ(std::string("lower\n"), read_text(lower + "/etc/marker"));
    SYS_CHECK(!path_exists(lower + "/images"));  // not the source's content
    SYS_EQ(std::string("strata-test\n"), read_text(in(c, "/newroot/etc/hostname")));

    // Read-only and backed by the image file on the source.
    const std::string image_on_source = source + "/images/root.squashfs";
    {
      auto fd = strata::sys::open(loop, O_RDONLY);
      SYS_OK(fd);
      int ro = 0;
      SYS_CHECK(::ioctl(fd->get(), BLKROGET, &ro) == 0);
      SYS_EQ(1, ro);
      loop_info64 info{};
      SYS_CHECK(::ioctl(fd->get(), LOOP_GET_STATUS64, &info) == 0);
      SYS_CHECK(info.lo_flags & LO_FLAGS_READ_ONLY);
      SYS_CHECK(info.lo_flags & LO_FLAGS_AUTOCLEAR);
      struct stat st {};
      SYS_CHECK(::stat(image_on_source.c_str(), &st) == 0);
      SYS_EQ(static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(info.lo_device));
      SYS_EQ(static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(info.lo_inode));
    }
    SYS_EQ(image_on_source + "\n", read_text("/sys/block/" + loop_name(loop) + "/loop/backing_file"));

    ex.undo();
    SYS_EQ(start, mountinfo_text());
    SYS_CHECK_MSG(wait_loop_free(loop_name(loop)), loop + " still attached after undo");
    SYS_CHECK_MSG(wait_loop_free(src_name), src_name + " still attached after undo");
  });
}

TEST(Executor, UpperNoneSquashfsIsReadOnly) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    auto dev = attach_or_fail(f.squashfs);
    strata::BootPlan plan = tmpfs_plan(dev.path, "squashfs");
    plan.upper_mode = UpperMode::kNone;
    plan.tmpfs_options.clear();
    plan.overlay_options.clear();
    Executor ex(c.scratch);
    SYS_OK(ex.mount_layers(plan));
    dev.fd.reset();
    const std::string newroot = in(c, "/newroot");
    SYS_EQ(std::string("lower\n"), read_text(newroot + "/etc/marker"));
    auto ro = strata::sys::is_readonly(newroot);
    SYS_OK(ro);
    SYS_CHECK(*ro);
    SYS_EQ(EROFS, try_create(newroot + "/x"));
    SYS_EQ(EROFS, try_create(newroot + "/etc/x"));
    SYS_CHECK(::mkdir((newroot + "/d").c_str(), 0755) != 0 && errno == EROFS);
    int fd = ::open((newroot + "/etc/marker").c_str(), O_WRONLY | O_CLOEXEC);
    SYS_CHECK(fd < 0 && errno == EROFS);
    SYS_CHECK(!mount_at(in(c, strata::paths::kUpperFs)).has_value());  // no upper at all
    ex.undo();
  });
}

TEST(Executor, UpperNoneExt4IsReadOnly) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    auto dev = attach_or_fail(f.ext4);
    strata::BootPlan plan = tmpfs_plan(dev.path, "ext4");
    plan.upper_mode = UpperMode::kNone;
    Executor ex(c.scratch);
    SYS_OK(ex.mount_layers(plan));
    dev.fd.reset();
    const std::string newroot = in(c, "/newroot");
    SYS_EQ(std::string("data\n"), read_text(newroot + "/data/file"));
    SYS_EQ(EROFS, try_create(newroot + "/data/x"));
    int fd = ::open((newroot + "/data/file").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    SYS_CHECK(fd < 0 && errno == EROFS);
    ex.undo();
  });
}

TEST(Executor, UndoRestoresTheMountTable) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    bind_dev_into(c.scratch);
    const std::string start = mountinfo_text();
    const size_t start_count = mountinfo().size();
    auto src = attach_or_fail(f.source_ext4);
    strata::BootPlan plan = tmpfs_plan(src.path, "ext4");
    plan.image = "/images/root.squashfs";
    plan.binds = {{"/etc", std::string(strata::paths::kLower) + "/etc", true, true, false},
                  {"/usr/bin", std::string(strata::paths::kLower) + "/usr/bin", true, true, true}};
    Executor ex(c.scratch);
    SYS_OK(ex.mount_layers(plan));
    std::vector<std::string> warnings;
    SYS_OK(ex.bind_paths(plan, warnings));
    src.fd.reset();
    SYS_CHECK(warnings.empty());
    // source, lower, upper tmpfs, overlay, two binds
    SYS_EQ(start_count + 6, mountinfo().size());
    SYS_EQ(2u, ex.times().size());
    SYS_EQ(std::string("binds"), ex.times()[1].stage);
    const std::string loop = ex.loop_device();

    ex.undo();
    SYS_EQ(start, mountinfo_text());
    ex.undo();  // nothing left to undo: harmless
    SYS_EQ(start, mountinfo_text());
    SYS_CHECK_MSG(wait_loop_free(loop_name(loop)), loop + " still attached after undo");
    SYS_CHECK_MSG(wait_loop_free(loop_name(src.path)), src.path + " still attached after undo");
  });
}

TEST(Executor, FailedAttemptsAreUndoneCompletely) {
  const auto& f = fixtures();
  run_isolated([&](Ctx& c) {
    bind_dev_into(c.scratch);
    const std::string start = mountinfo_text();
    auto sq = attach_or_fail(f.squashfs);
    auto src = attach_or_fail(f.source_ext4);

    // Wrong filesystem type for the device: nothing mounted, error names it.
    {
      Executor ex(c.scratch);
      auto s = ex.mount_layers(tmpfs_plan(sq.path, "erofs"));
      SYS_CHECK(!s.ok());
      SYS_CHECK_MSG(s.error().message().find(sq.path) != std::string::npos, s.error().message());
      ex.undo();
      SYS_EQ(start, mountinfo_text());
    }
    // Image file missing on the source: the source mount is undone.
    {
      strata::BootPlan plan = tmpfs_plan(src.path, "ext4");
      plan.image = "/images/missing.squashfs";
      Executor ex(c.scratch);
      auto s = ex.mount_layers(plan);
      SYS_CHECK(!s.ok());
      SYS_CHECK_MSG(s.error().message().find("/images/missing.squashfs") != std::string::npos, s.error().message());
      SYS_CHECK(start != mountinfo_text());
      ex.undo();
      SYS_EQ(start, mountinfo_text());
    }
    // Overlay refuses its options: lower and upper are undone.
    {
      strata::BootPlan plan = tmpfs_plan(sq.path, "squashfs");
      plan.overlay_options = "no_such_overlay_option";
      Executor ex(c.scratch);
      auto s = ex.mount_layers(plan);
      SYS_CHECK(!s.ok());
      SYS_CHECK_MSG(s.error().message().find("overlay") != std::string::npos, s.error().message());
      ex.undo();
      SYS_EQ(start, mountinfo_text());
    }
    // And a retry with the right plan works on the same directories.
    {
      Executor ex(c.scratch);
      SYS_OK(ex.mount_layers(tmpfs_plan(sq.path, "squashfs")));
      SYS_EQ(std::string("lower\n"), read_text(c.scratch + "/newroot/etc/marker"));
      ex.undo();
      SYS_EQ(start, mountinfo_text());
    }
  });
}
