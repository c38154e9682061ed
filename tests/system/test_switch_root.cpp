// switch_root() in a private mount namespace (the host's / is not rootfs, so
// this is the pivot_root path), and delete_tree_on_device().
#include <CppUTest/TestHarness.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "harness.h"
#include "switch_root.h"
#include "unique_fd.h"

using namespace systest;

namespace {

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

TEST_GROUP(SwitchRoot){};

TEST(SwitchRoot, RefusesADirectoryThatIsNotAMountPoint) {
  run_isolated([&](Ctx& c) {
    const std::string plain = c.scratch + "/plain";
    SYS_CHECK(::mkdir(plain.c_str(), 0755) == 0);
    const std::string before = mountinfo_text();
    auto s = strata::switch_root(plain);
    SYS_CHECK(!s.ok());
    SYS_CHECK_MSG(s.error().message().find("not a mount point") != std::string::npos, s.error().message());
    SYS_EQ(before, mountinfo_text());  // nothing was moved
  });
}

TEST(SwitchRoot, PivotsIntoTheNewRootAndTakesDevProcSysRun) {
  run_isolated([&](Ctx& c) {
    // The new root: a tmpfs mount point with a marker.
    const std::string newroot = c.scratch + "/newroot";
    mount_tmpfs(newroot, "strata-newroot", "mode=0755");
    write_text(newroot + "/marker", "newroot\n");
    SYS_CHECK(::mkdir((newroot + "/dev").c_str(), 0755) == 0);  // the others are made by switch_root

    // switch_root moves this namespace's /dev /proc /sys /run. Cover them
    // with private mounts first, so what moves is known (and /dev has no
    // console for reopen_console to grab).
    mount_tmpfs("/dev", "strata-dev");
    write_text("/dev/dev-marker", "dev\n");
    SYS_CHECK(::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0);
    mount_tmpfs("/sys", "strata-sys");
    write_text("/sys/sys-marker", "sys\n");
    mount_tmpfs("/run", "strata-run");
    write_text("/run/run-marker", "run\n");

    auto old_root = mount_at("/");
    SYS_CHECK(old_root.has_value());
    SYS_CHECK_MSG(old_root->fstype != "rootfs", "the host / is rootfs: this would test the MS_MOVE path");

    auto s = strata::switch_root(newroot);
    SYS_OK(s);

    // "/" is the new root now.
    SYS_EQ(std::string("newroot\n"), read_text("/marker"));
    char cwd[256] = {};
    SYS_CHECK(::getcwd(cwd, sizeof cwd) != nullptr);
    SYS_EQ(std::string("/"), std::string(cwd));
    struct statfs sfs {};
    SYS_CHECK(::statfs("/", &sfs) == 0);
    SYS_EQ(static_cast<long>(TMPFS_MAGIC), static_cast<long>(sfs.f_type));

    // /dev /proc /sys /run came along.
    SYS_EQ(std::string("dev\n"), read_text("/dev/dev-marker"));
    SYS_EQ(std::string("sys\n"), read_text("/sys/sys-marker"));
    SYS_EQ(std::string("run\n"), read_text("/run/run-marker"));
    const std::string mi = mountinfo_text();
    SYS_CHECK_MSG(!mi.empty(), "/proc/self/mountinfo unreadable after the switch");
    auto root = mount_at("/");
    SYS_CHECK_MSG(root.has_value(), mi);
    SYS_EQ(std::string("tmpfs"), root->fstype);
    SYS_EQ(std::string("strata-newroot"), root->source);
    auto proc = mount_at("/proc");
    SYS_CHECK_MSG(proc.has_value(), mi);
    SYS_EQ(std::string("proc"), proc->fstype);
    for (const char* p : {"/dev", "/sys", "/run"}) {
      auto m = mount_at(p);
      SYS_CHECK_MSG(m.has_value() && m->source == "strata" + std::string(p).replace(0, 1, "-"), p + ("\n" + mi));
    }

    // The old root is gone from this process's view.
    for (const auto& m : mountinfo()) {
      SYS_CHECK_MSG(m.id != old_root->id, "old root still mounted:\n" + mi);
      SYS_CHECK_MSG(m.mount_point.find(c.scratch) == std::string::npos, "a scratch path is still visible:\n" + mi);
    }
    SYS_CHECK(!path_exists(c.scratch));
    SYS_CHECK(!path_exists("/tmp"));
    SYS_EQ(std::string("newroot\n"), read_text("/../marker"));  // no way up
  });
}

TEST(SwitchRoot, DeleteTreeOnDeviceStaysOnItsDevice) {
  run_isolated([&](Ctx& c) {
    const std::string t = c.scratch + "/t", other = c.scratch + "/other";
    mount_tmpfs(t, "strata-tree");
    mount_tmpfs(other, "strata-other");
    write_text(other + "/precious", "keep\n");

    // On the tree's tmpfs: nested dirs, dotfiles, links of all kinds, a fifo,
    // a file nobody may read.
    SYS_EQ(0, sh("mkdir -p " + quote(t + "/a/b/c") + " " + quote(t + "/.dir/sub") + " " + quote(t + "/empty") + " " +
                 quote(t + "/a/m") + " " + quote(t + "/mnt")));
    write_text(t + "/a/b/c/file", "x");
    write_text(t + "/.hidden", "x");
    write_text(t + "/.dir/.x", "x");
    write_text(t + "/.dir/sub/y", "x");
    write_text(t + "/locked", "x");
    SYS_CHECK(::chmod((t + "/locked").c_str(), 0) == 0);
    SYS_CHECK(::symlink("a/b/c/file", (t + "/link-file").c_str()) == 0);
    SYS_CHECK(::symlink("a", (t + "/link-dir").c_str()) == 0);
    SYS_CHECK(::symlink("/nonexistent/target", (t + "/dangling").c_str()) == 0);
    SYS_CHECK(::symlink(other.c_str(), (t + "/link-other").c_str()) == 0);
    SYS_CHECK(::symlink((other + "/precious").c_str(), (t + "/a/link-precious").c_str()) == 0);
    SYS_CHECK(::mkfifo((t + "/fifo").c_str(), 0644) == 0);
    SYS_CHECK(::link((t + "/.hidden").c_str(), (t + "/a/hardlink").c_str()) == 0);

    // Other filesystems mounted inside the tree, at the top and deeper down.
    mount_tmpfs(t + "/mnt", "strata-mnt");
    SYS_EQ(0, sh("mkdir -p " + quote(t + "/mnt/keepdir/deeper")));
    write_text(t + "/mnt/keep1", "k1\n");
    write_text(t + "/mnt/keepdir/deeper/keep2", "k2\n");
    write_text(t + "/mnt/.keep-hidden", "kh\n");
    mount_tmpfs(t + "/a/m", "strata-am");
    write_text(t + "/a/m/keep3", "k3\n");

    strata::UniqueFd fd(::open(t.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    SYS_CHECK(fd.valid());
    struct stat st {};
    SYS_CHECK(::fstat(fd.get(), &st) == 0);
    strata::delete_tree_on_device(fd.get(), st.st_dev);

    // Only mount points (and the dirs holding them) are left on the tree.
    SYS_EQ(std::string("a mnt"), join(list_dir(t)));
    SYS_EQ(std::string("m"), join(list_dir(t + "/a")));
    // The other filesystems are untouched.
    SYS_EQ(std::string(".keep-hidden keep1 keepdir"), join(list_dir(t + "/mnt")));
    SYS_EQ(std::string("k2\n"), read_text(t + "/mnt/keepdir/deeper/keep2"));
    SYS_EQ(std::string("k3\n"), read_text(t + "/a/m/keep3"));
    SYS_EQ(std::string("precious"), join(list_dir(other)));
    SYS_EQ(std::string("keep\n"), read_text(other + "/precious"));
    // The tree's own root stays (it is the caller's directory).
    SYS_CHECK(strata::UniqueFd(::open(t.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)).valid());
  });
}
