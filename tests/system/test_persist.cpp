// DataPartition on a real ext4 data partition (an image on a read-write loop
// device, mounted at <scratch>/run/strata/data): factory reset and its
// power-cut safety, the upper probe, the lower-change policies and their
// power-cut safety, and the persistent paths.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "data_image.h"
#include "data_layout.h"
#include "harness.h"
#include "persist.h"
#include "sys.h"

using namespace systest;
using strata::DataPartition;
using strata::LowerChange;
using strata::ResetTier;
namespace data = strata::data;
namespace fs = std::filesystem;

namespace {

// ---- the data partition ------------------------------------------------------

DataDisk data_disk(const Ctx& c, int size_mb = 32, long inodes = 0) {
  return scratch_data_disk(c, size_mb, inodes);
}

// A reboot, as far as the data partition goes: unmounted, mounted again.
void remount(const DataDisk& d) {
  if (auto e = remount_data_disk(d); !e.empty()) fail(__FILE__, __LINE__, e);
}

// ---- files -------------------------------------------------------------------

std::string parent(const std::string& path) {
  return fs::path(path).parent_path().string();
}

void mkdirs(const std::string& dir) {
  if (auto s = strata::sys::mkdir_p(dir); !s) fail(__FILE__, __LINE__, s.error().message());
}

void put(const std::string& path, const std::string& text) {
  mkdirs(parent(path));
  write_text(path, text);
}

// An overlay whiteout: a 0/0 character device.
void whiteout(const std::string& path) {
  mkdirs(parent(path));
  if (::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
    fail(__FILE__, __LINE__, "mknod " + path + ": " + strerror(errno));
}

bool is_whiteout(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

// Every entry below `dir`, sorted, one per line: path, type, mode, owner,
// and the content (files), target (links) or device number.
std::string tree(const std::string& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string p = it->path().string();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    std::string line =
        p.substr(dir.size()) + " " + mode + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " ";
    if (S_ISDIR(st.st_mode))
      line += "dir";
    else if (S_ISREG(st.st_mode))
      line += "file '" + read_text(p) + "'";
    else if (S_ISLNK(st.st_mode))
      line += "link -> " + fs::read_symlink(p).string();
    else if (S_ISCHR(st.st_mode))
      line += "chr " + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    else
      line += "other";
    lines.push_back(line);
  }
  if (ec) return "cannot read " + dir + ": " + ec.message();
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Names in the trash that start with `prefix` ("upper-", "persist-").
std::vector<std::string> trash(const DataPartition& dp, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dp.p(data::kTrash), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(dp.p(data::kTrash) + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

// ---- a used data partition ------------------------------------------------------

// The upper of a system that has been used: files, dotfiles at several
// depths, a whiteout, deep nesting, the overlay's work dir; one persistent
// path; the identity of the lower the upper was made on.
void populate(const DataPartition& dp) {
  const std::string up = dp.p(data::kUpper);
  put(up + "/data/etc/app.conf", "user app\n");
  put(up + "/data/etc/other.conf", "other\n");
  whiteout(up + "/data/etc/removed");
  put(up + "/data/var/lib/app/db", "db\n");
  put(up + "/data/var/lib/app/.dot", "dot\n");
  put(up + "/data/home/u/.profile", "profile\n");
  put(up + "/data/.rootdot", "rootdot\n");
  put(up + "/data/a/b/c/d/e/f/g", "deep\n");
  mkdirs(up + "/data/emptydir");
  mkdirs(up + "/work/work");
  put(dp.p(data::kPersist) + "/var/lib/keep/state", "state\n");
  put(dp.p(data::kPersist) + "/var/lib/keep/.hidden", "hidden\n");
  write_text(dp.p(data::kLowerId), "old-id\n");
}

// ---- checks of a completed reset ---------------------------------------------------

// After a completed reset of `tier` of what populate() made, with
// `upper_tree` and `persist_tree` as they were before.
void check_reset_complete(const DataPartition& dp, ResetTier tier, const std::string& upper_tree,
                          const std::string& persist_tree) {
  SYS_CHECK_MSG(!path_exists(dp.p(data::kUpper)), "the upper is still there:\n" + tree(dp.p(data::kUpper)));
  SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string(".new")));
  SYS_CHECK(!path_exists(dp.p(data::kLowerId)));
  SYS_CHECK(!path_exists(dp.p(data::kResetRequest)));
  SYS_CHECK(!dp.reset_request().has_value());
  // The whole upper, dotfiles and all, went into the trash in one piece.
  auto uppers = trash(dp, "upper-");
  SYS_EQ(1u, uppers.size());
  SYS_EQ(upper_tree, tree(uppers[0]));
  auto persists = trash(dp, "persist-");
  if (tier == ResetTier::kAll) {
    SYS_CHECK(!path_exists(dp.p(data::kPersist)));
    SYS_EQ(1u, persists.size());
    SYS_EQ(persist_tree, tree(persists[0]));
  } else {
    SYS_EQ(persist_tree, tree(dp.p(data::kPersist)));
    SYS_EQ(0u, persists.size());
  }
}

}  // namespace

// ---- factory reset -------------------------------------------------------------

TEST_GROUP(Reset){};

TEST(Reset, RequestRoundTrip) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    SYS_CHECK(!dp.reset_request().has_value());  // not even /strata yet
    SYS_OK(dp.request_reset(ResetTier::kOverlay));
    SYS_CHECK(dp.reset_request() == ResetTier::kOverlay);
    SYS_EQ(std::string("overlay\n"), read_text(dp.p(data::kResetRequest)));
    SYS_OK(dp.request_reset(ResetTier::kAll));
    SYS_CHECK(dp.reset_request() == ResetTier::kAll);
    SYS_EQ(std::string("all\n"), read_text(dp.p(data::kResetRequest)));
    SYS_CHECK(!path_exists(dp.p(data::kResetRequest) + std::string(".tmp")));
    // Durable: still there after a "reboot".
    remount(disk);
    SYS_CHECK(dp.reset_request() == ResetTier::kAll);
    // Anything but "all" is the lesser tier.
    write_text(dp.p(data::kResetRequest), "");
    SYS_CHECK(dp.reset_request() == ResetTier::kOverlay);
    write_text(dp.p(data::kResetRequest), "everything\n");
    SYS_CHECK(dp.reset_request() == ResetTier::kOverlay);
  });
}

TEST(Reset, OverlayMovesTheUpperAndKeepsThePersistentPaths) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    SYS_OK(dp.request_reset(ResetTier::kOverlay));
    const std::string upper_tree = tree(dp.p(data::kUpper)), persist_tree = tree(dp.p(data::kPersist));
    SYS_CHECK(upper_tree.find("/data/.rootdot") != std::string::npos);
    SYS_CHECK(upper_tree.find("/data/etc/removed 0000 0:0 chr 0:0") != std::string::npos);

    std::vector<std::string> log;
    SYS_OK(dp.reset(ResetTier::kOverlay, log));
    check_reset_complete(dp, ResetTier::kOverlay, upper_tree, persist_tree);
    SYS_CHECK_MSG(any_contains(log, "moved " + dp.p(data::kUpper) + " aside to " + dp.p(data::kTrash) + "/upper-"),
                  lines(log));
    SYS_CHECK_MSG(any_contains(log, "factory reset (overlay) done"), lines(log));
    // Durable: the same after a "reboot".
    remount(disk);
    check_reset_complete(dp, ResetTier::kOverlay, upper_tree, persist_tree);

    // Again, with nothing left to move: fine, and nothing else moves.
    std::vector<std::string> again;
    SYS_OK(dp.reset(ResetTier::kOverlay, again));
    SYS_CHECK_MSG(!any_contains(again, "moved"), lines(again));
    check_reset_complete(dp, ResetTier::kOverlay, upper_tree, persist_tree);

    // The next boot makes a fresh, empty upper.
    SYS_OK(dp.ensure_upper());
    SYS_EQ(std::string("/data 0755 0:0 dir\n/work 0755 0:0 dir\n"), tree(dp.p(data::kUpper)));
  });
}

TEST(Reset, AllMovesTheUpperAndThePersistentPaths) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    SYS_OK(dp.request_reset(ResetTier::kAll));
    const std::string upper_tree = tree(dp.p(data::kUpper)), persist_tree = tree(dp.p(data::kPersist));
    SYS_CHECK(persist_tree.find("/var/lib/keep/.hidden") != std::string::npos);

    std::vector<std::string> log;
    SYS_OK(dp.reset(ResetTier::kAll, log));
    check_reset_complete(dp, ResetTier::kAll, upper_tree, persist_tree);
    SYS_CHECK_MSG(any_contains(log, "moved " + dp.p(data::kPersist) + " aside"), lines(log));
    SYS_CHECK_MSG(any_contains(log, "factory reset (all) done"), lines(log));

    std::vector<std::string> again;
    SYS_OK(dp.reset(ResetTier::kAll, again));
    check_reset_complete(dp, ResetTier::kAll, upper_tree, persist_tree);
  });
}

TEST(Reset, AHalfBuiltReplacementUpperGoesToo) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    put(dp.p(data::kUpper) + std::string(".new/data/etc/app.conf"), "preserved\n");
    std::vector<std::string> log;
    SYS_OK(dp.reset(ResetTier::kOverlay, log));
    SYS_CHECK(!path_exists(dp.p(data::kUpper)));
    SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string(".new")));
    auto uppers = trash(dp, "upper-");
    SYS_EQ(2u, uppers.size());
    bool found = false;
    for (const auto& u : uppers) found |= read_text(u + "/data/etc/app.conf") == "preserved\n";
    SYS_CHECK_MSG(found, lines(uppers));
  });
}

TEST(Reset, OnAnEmptyDataPartition) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    std::vector<std::string> log;
    SYS_OK(dp.reset(ResetTier::kAll, log));
    SYS_CHECK(strata::sys::is_dir(dp.p(data::kTop)));
    SYS_EQ(0u, trash(dp, "").size());
    SYS_EQ(1u, log.size());
    SYS_OK(dp.ensure_upper());
    SYS_OK(dp.probe_upper());
  });
}

TEST(Reset, CrashPointsInOrder) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    for (ResetTier tier : {ResetTier::kOverlay, ResetTier::kAll}) {
      DataPartition dp(c.scratch);
      populate(dp);
      std::vector<std::string> points, log;
      dp.crash_point = [&](const std::string& p) { points.push_back(p); };
      SYS_OK(dp.reset(tier, log));
      SYS_EQ(std::string(tier == ResetTier::kAll ? "  reset-upper-moved\n  reset-persist-moved\n  reset-done\n"
                                                 : "  reset-upper-moved\n  reset-done\n"),
             lines(points));
    }
  });
}

// ---- power cuts during a reset ----------------------------------------------------------

namespace {

// A reset cut short at `point`: a child runs it and dies there, as the power
// would (no sync, no cleanup). Then the next boot, which resets again when
// the request is still there (or always, when strata.reset is on its
// command line), and the state is a completed reset.
void cut_reset(const Ctx& c, ResetTier tier, const std::string& point, bool by_request) {
  auto disk = data_disk(c);
  DataPartition dp(c.scratch);
  populate(dp);
  if (by_request) SYS_OK(dp.request_reset(tier));
  const std::string upper_tree = tree(dp.p(data::kUpper)), persist_tree = tree(dp.p(data::kPersist));

  fflush(stdout);
  fflush(stderr);
  pid_t pid = ::fork();
  if (pid == 0) {
    DataPartition cut(c.scratch);
    cut.crash_point = [&](const std::string& p) {
      if (p == point) ::_exit(42);
    };
    std::vector<std::string> log;
    auto s = cut.reset(tier, log);
    ::_exit(s.ok() ? 0 : 1);
  }
  int status = 0;
  SYS_CHECK(::waitpid(pid, &status, 0) == pid);
  SYS_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 42,
                "the reset did not stop at " + point + " (status " + std::to_string(status) + ")");

  // Where the cut left it.
  SYS_CHECK_MSG(!path_exists(dp.p(data::kUpper)), point);
  SYS_EQ(1u, trash(dp, "upper-").size());
  const bool persist_moved = tier == ResetTier::kAll && point != "reset-upper-moved";
  SYS_EQ(!persist_moved, path_exists(dp.p(data::kPersist)));
  const bool request_left = by_request && point != "reset-done";
  SYS_EQ(request_left, dp.reset_request().has_value());

  remount(disk);
  // The next boot, as Executor::mount_data decides it.
  DataPartition next(c.scratch);
  auto request = next.reset_request();
  if (by_request) SYS_EQ(request_left, request.has_value());
  if (request) SYS_CHECK(*request == tier);
  if (!by_request || request) {
    std::vector<std::string> log;
    SYS_OK(next.reset(request ? *request : tier, log));
    SYS_CHECK_MSG(any_contains(log, "done"), lines(log));
  }
  check_reset_complete(next, tier, upper_tree, persist_tree);
  SYS_OK(next.ensure_upper());
  SYS_EQ(std::string("/data 0755 0:0 dir\n/work 0755 0:0 dir\n"), tree(next.p(data::kUpper)));
}

}  // namespace

TEST_GROUP(ResetPowerCut){};

TEST(ResetPowerCut, OverlayAfterTheUpperMoved) {
  run_isolated([](Ctx& c) { cut_reset(c, ResetTier::kOverlay, "reset-upper-moved", true); });
}

TEST(ResetPowerCut, OverlayAtDone) {
  run_isolated([](Ctx& c) { cut_reset(c, ResetTier::kOverlay, "reset-done", true); });
}

TEST(ResetPowerCut, AllAfterTheUpperMoved) {
  run_isolated([](Ctx& c) { cut_reset(c, ResetTier::kAll, "reset-upper-moved", true); });
}

TEST(ResetPowerCut, AllAfterThePersistentPathsMoved) {
  run_isolated([](Ctx& c) { cut_reset(c, ResetTier::kAll, "reset-persist-moved", true); });
}

TEST(ResetPowerCut, AllAtDone) {
  run_isolated([](Ctx& c) { cut_reset(c, ResetTier::kAll, "reset-done", true); });
}

// strata.reset=all on the command line: no request file, every boot resets.
TEST(ResetPowerCut, CommandLineResetAtEachPoint) {
  for (const char* point : {"reset-upper-moved", "reset-persist-moved", "reset-done"})
    run_isolated([&](Ctx& c) { cut_reset(c, ResetTier::kAll, point, false); });
}

// ---- a large upper -----------------------------------------------------------------

namespace {

long now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}

}  // namespace

TEST_GROUP(ResetLarge){};

TEST(ResetLarge, HundredThousandFilesCostAFewRenames) {
  run_isolated(
      [](Ctx& c) {
        auto disk = data_disk(c, 256, 120000);
        DataPartition dp(c.scratch);
        long times[2] = {0, 0};
        const long counts[2] = {10, 100000};
        for (int i = 0; i < 2; i++) {
          const std::string up = dp.p(data::kUpper);
          mkdirs(up + "/work/work");
          long t0 = now_us();
          if (auto e = make_tree(up + "/data", counts[i]); !e.empty()) fail(__FILE__, __LINE__, e);
          long made = now_us() - t0;
          SYS_OK(dp.request_reset(ResetTier::kOverlay));
          {
            auto fd = strata::sys::open(disk.mnt, O_RDONLY | O_DIRECTORY);
            SYS_OK(fd);
            SYS_CHECK(::syncfs(fd->get()) == 0);
          }
          std::vector<std::string> log;
          t0 = now_us();
          SYS_OK(dp.reset(ResetTier::kOverlay, log));
          times[i] = now_us() - t0;
          SYS_CHECK(!path_exists(up));
          SYS_CHECK(!dp.reset_request().has_value());
          auto uppers = trash(dp, "upper-");
          SYS_EQ(1u, uppers.size());
          // Every file went, in its directories: files + d0000.. dirs + data + work + work/work.
          const long dirs = (counts[i] + 999) / 1000;
          SYS_EQ(counts[i] + dirs + 3, count_entries(uppers[0]));
          note("reset of an upper of " + std::to_string(counts[i]) + " files: " + std::to_string(times[i]) +
               " us (making the tree took " + std::to_string(made / 1000) + " ms)");

          t0 = now_us();
          dp.empty_trash();
          const long emptied = now_us() - t0;
          SYS_EQ(0L, count_entries(dp.p(data::kTrash)));
          note("empty_trash of " + std::to_string(counts[i]) + " files: " + std::to_string(emptied / 1000) + " ms");
        }
        note("reset time, 100000 files vs 10: " + std::to_string(times[1]) + " us vs " + std::to_string(times[0]) +
             " us");
      },
      60);
}

// ---- the upper probe ---------------------------------------------------------------

namespace {

// Makes mknod/mknodat fail with EPERM in this process, as on a filesystem
// that cannot hold device nodes.
bool refuse_mknod() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mknodat, 2, 0),
#ifdef __NR_mknod
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mknod, 1, 0),
#else
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mknodat, 1, 0),
#endif
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

void check_no_probe_left(const DataPartition& dp) {
  SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string("/work/.strata-probe")));
  SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string("/work/.strata-probe-wh")));
}

}  // namespace

TEST_GROUP(ProbeUpper){};

TEST(ProbeUpper, PassesOnExt4) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    SYS_OK(dp.probe_upper());
    check_no_probe_left(dp);
    // And again, over a probe left by an earlier cut.
    write_text(dp.p(data::kUpper) + std::string("/work/.strata-probe"), "left\n");
    whiteout(dp.p(data::kUpper) + std::string("/work/.strata-probe-wh"));
    SYS_OK(dp.probe_upper());
    check_no_probe_left(dp);
  });
}

// ramfs holds device nodes but no xattrs at all.
TEST(ProbeUpper, FailsWithoutTrustedXattrs) {
  run_isolated([](Ctx& c) {
    mkdirs(c.scratch + data::kMount);
    SYS_CHECK(::mount("ramfs", (c.scratch + data::kMount).c_str(), "ramfs", 0, nullptr) == 0);
    DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    auto s = dp.probe_upper();
    SYS_CHECK(!s.ok());
    const std::string m = s.error().message();
    SYS_CHECK_MSG(m.find("the data filesystem cannot hold trusted.* xattrs") != std::string::npos, m);
    SYS_CHECK_MSG(m.find(dp.p(data::kUpper)) != std::string::npos, m);
    SYS_EQ(EOPNOTSUPP, s.error().err);
    check_no_probe_left(dp);
  });
}

// No filesystem this kernel offers keeps trusted.* xattrs but refuses 0/0
// device nodes (vfat, which refuses both, is not built in), so the refusal
// is simulated: a seccomp filter makes mknod fail with EPERM, what vfat and
// other filesystems without device nodes return.
TEST(ProbeUpper, FailsWithoutWhiteouts) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    int fds[2];
    SYS_CHECK(::pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      std::string out = "cannot install the seccomp filter";
      if (refuse_mknod()) {
        auto s = dp.probe_upper();
        out = s.ok() ? "OK" : std::to_string(s.error().err) + " " + s.error().message();
      }
      (void)!::write(fds[1], out.data(), out.size());
      ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    SYS_CHECK_MSG(out.rfind(std::to_string(EPERM) + " ", 0) == 0, out);
    SYS_CHECK_MSG(out.find("the data filesystem cannot hold overlay whiteouts (mknod 0/0 ") != std::string::npos, out);
    check_no_probe_left(dp);
    // The same partition passes without the filter.
    SYS_OK(dp.probe_upper());
  });
}

TEST(ProbeUpper, FailsOnAReadOnlyDataPartition) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    SYS_OK(dp.ensure_upper());
    SYS_CHECK(::mount(nullptr, disk.mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    auto s = dp.probe_upper();
    SYS_CHECK(!s.ok());
    SYS_EQ(EROFS, s.error().err);
  });
}

// ---- lower-change policies -------------------------------------------------------------

namespace {

const std::vector<std::string> kPreserve = {"/etc/app.conf", "/var/lib/app", "/etc/removed", "/home/u/.profile",
                                            "/not/there"};

// What is left of populate()'s upper/data under preserve = kPreserve.
const char* const kPreservedTree =
    "/etc 0755 0:0 dir\n"
    "/etc/app.conf 0644 0:0 file 'user app\n'\n"
    "/etc/removed 0000 0:0 chr 0:0\n"
    "/home 0755 0:0 dir\n"
    "/home/u 0755 0:0 dir\n"
    "/home/u/.profile 0644 0:0 file 'profile\n'\n"
    "/var 0755 0:0 dir\n"
    "/var/lib 0755 0:0 dir\n"
    "/var/lib/app 0755 0:0 dir\n"
    "/var/lib/app/.dot 0644 0:0 file 'dot\n'\n"
    "/var/lib/app/db 0644 0:0 file 'db\n'\n";

std::string lower_id(const DataPartition& dp) {
  return read_text(dp.p(data::kLowerId));
}

// The final state of a preserve replacement of populate()'s upper.
void check_preserved(const DataPartition& dp, const std::string& old_data_tree) {
  const std::string up = dp.p(data::kUpper);
  SYS_EQ(std::string(kPreservedTree), tree(up + "/data"));
  SYS_CHECK(strata::sys::is_dir(up + "/work"));
  SYS_EQ(std::string(""), tree(up + "/work"));  // a fresh work dir
  SYS_CHECK(!path_exists(up + ".new"));
  SYS_EQ(std::string("new-id\n"), lower_id(dp));
  // The old upper, less what was preserved, is in the trash.
  auto uppers = trash(dp, "upper-");
  SYS_CHECK(!uppers.empty());
  bool found = false;
  for (const auto& u : uppers) found |= read_text(u + "/data/etc/other.conf") == "other\n";
  SYS_CHECK_MSG(found, lines(uppers));
  SYS_CHECK(old_data_tree.find("/etc/other.conf") != std::string::npos);
}

}  // namespace

TEST_GROUP(LowerChange){};

TEST(LowerChange, FirstCallRecordsTheIdentity) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    ::unlink(dp.p(data::kLowerId).c_str());
    const std::string before = tree(dp.p(data::kUpper));
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("first-id", LowerChange::kDiscard, {}, log));
    SYS_EQ(std::string("first-id\n"), lower_id(dp));
    SYS_EQ(before, tree(dp.p(data::kUpper)));  // even under discard: nothing to compare with
    SYS_EQ(0u, log.size());
    SYS_EQ(0u, trash(dp, "").size());
    remount(disk);
    SYS_EQ(std::string("first-id\n"), lower_id(dp));
  });
}

TEST(LowerChange, SameIdentityDoesNothing) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string before = tree(dp.p(data::kUpper));
    for (LowerChange policy : {LowerChange::kKeep, LowerChange::kDiscard, LowerChange::kPreserve}) {
      std::vector<std::string> log;
      SYS_OK(dp.apply_lower_change("old-id", policy, kPreserve, log));
      SYS_EQ(before, tree(dp.p(data::kUpper)));
      SYS_EQ(std::string(""), lines(log));
      SYS_EQ(std::string("old-id\n"), lower_id(dp));
    }
    SYS_EQ(0u, trash(dp, "").size());
    SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string(".new")));
  });
}

TEST(LowerChange, KeepLeavesTheUpperAndRecordsTheNewIdentity) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string before = tree(dp.p(data::kUpper));
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("new-id", LowerChange::kKeep, kPreserve, log));
    SYS_EQ(before, tree(dp.p(data::kUpper)));
    SYS_EQ(std::string("new-id\n"), lower_id(dp));
    SYS_EQ(std::string("  lower image changed (old-id -> new-id): keep\n"), lines(log));
    SYS_EQ(0u, trash(dp, "").size());
  });
}

TEST(LowerChange, DiscardGivesAFreshUpperAndTrashesTheOld) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string before = tree(dp.p(data::kUpper));
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("new-id", LowerChange::kDiscard, kPreserve, log));
    SYS_OK(dp.ensure_upper());
    SYS_EQ(std::string("/data 0755 0:0 dir\n/work 0755 0:0 dir\n"), tree(dp.p(data::kUpper)));
    SYS_EQ(std::string("new-id\n"), lower_id(dp));
    auto uppers = trash(dp, "upper-");
    SYS_EQ(1u, uppers.size());
    SYS_EQ(before, tree(uppers[0]));  // all of it, preserve list ignored
    SYS_CHECK_MSG(any_contains(log, "lower image changed (old-id -> new-id): discard"), lines(log));
    SYS_CHECK_MSG(!any_contains(log, "preserved"), lines(log));
    // The persistent paths are not the upper's business.
    SYS_EQ(std::string("state\n"), read_text(dp.p(data::kPersist) + std::string("/var/lib/keep/state")));
    remount(disk);
    SYS_EQ(std::string("/data 0755 0:0 dir\n/work 0755 0:0 dir\n"), tree(dp.p(data::kUpper)));
  });
}

TEST(LowerChange, PreserveKeepsOnlyTheListedPaths) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    // The preserved directory keeps its xattrs (an opaque dir stays opaque).
    const std::string app = dp.p(data::kUpper) + std::string("/data/var/lib/app");
    SYS_CHECK(::setxattr(app.c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("new-id", LowerChange::kPreserve, kPreserve, log));
    SYS_OK(dp.ensure_upper());
    check_preserved(dp, old_data);
    SYS_CHECK(is_whiteout(dp.p(data::kUpper) + std::string("/data/etc/removed")));
    char v[4] = {};
    SYS_EQ(1L, static_cast<long>(::getxattr(app.c_str(), "trusted.overlay.opaque", v, sizeof v)));
    SYS_EQ('y', v[0]);
    for (const char* p : {"/etc/app.conf", "/var/lib/app", "/etc/removed", "/home/u/.profile"})
      SYS_CHECK_MSG(any_contains(log, std::string("preserved ") + p), lines(log));
    SYS_CHECK_MSG(!any_contains(log, "preserved /not/there"), lines(log));
    SYS_CHECK_MSG(any_contains(log, "lower image changed (old-id -> new-id): preserve"), lines(log));
    remount(disk);
    SYS_EQ(std::string(kPreservedTree), tree(dp.p(data::kUpper) + std::string("/data")));
  });
}

// overlayfs shows a directory that exists in the upper with the upper's
// owner and mode: the parents made for a preserved path must keep those of
// the old upper, or /home/u becomes root's.
TEST(LowerChange, PreservedPathsKeepTheirParentsOwnerAndMode) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string d = dp.p(data::kUpper) + std::string("/data");
    SYS_CHECK(::chown((d + "/home/u").c_str(), 1000, 1000) == 0);
    SYS_CHECK(::chmod((d + "/home/u").c_str(), 0700) == 0);
    SYS_CHECK(::chmod((d + "/home").c_str(), 0711) == 0);
    SYS_CHECK(::chown((d + "/home/u/.profile").c_str(), 1000, 1000) == 0);
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("new-id", LowerChange::kPreserve, {"/home/u/.profile"}, log));
    SYS_EQ(std::string("/home 0711 0:0 dir\n"
                       "/home/u 0700 1000:1000 dir\n"
                       "/home/u/.profile 0644 1000:1000 file 'profile\n'\n"),
           tree(d));
  });
}

// A preserve list that names a directory and something inside it, in
// either order: the directory survives whole, and the boot goes on.
TEST(LowerChange, PreserveAPathAndItsParent) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    for (const auto& list : {std::vector<std::string>{"/var/lib/app", "/var/lib/app/db"},
                             std::vector<std::string>{"/var/lib/app/db", "/var/lib/app"}}) {
      DataPartition dp(c.scratch);
      populate(dp);
      std::vector<std::string> log;
      auto s = dp.apply_lower_change("new-id", LowerChange::kPreserve, list, log);
      SYS_CHECK_MSG(s.ok(), list[0] + " " + list[1] + ": " + (s.ok() ? "" : s.error().message()));
      SYS_EQ(std::string("/var 0755 0:0 dir\n/var/lib 0755 0:0 dir\n/var/lib/app 0755 0:0 dir\n"
                         "/var/lib/app/.dot 0644 0:0 file 'dot\n'\n/var/lib/app/db 0644 0:0 file 'db\n'\n"),
             tree(dp.p(data::kUpper) + std::string("/data")));
      std::error_code ec;
      fs::remove_all(dp.p(data::kTop), ec);
    }
  });
}

// ---- power cuts during a lower-change replacement ------------------------------------------

namespace {

// Moves `path` of the old upper's data into upper.new, as apply_lower_change does.
void move_to_new(const DataPartition& dp, const std::string& path) {
  const std::string up = dp.p(data::kUpper);
  mkdirs(parent(up + ".new/data" + path));
  SYS_CHECK(::rename((up + "/data" + path).c_str(), (up + ".new/data" + path).c_str()) == 0);
}

// What a cut after the preserved renames leaves: every preserved path of the
// old upper moved into upper.new, the swap not begun.
void move_all_preserved_to_new(const DataPartition& dp) {
  mkdirs(dp.p(data::kUpper) + std::string(".new/work"));
  for (const auto& p : kPreserve)
    if (path_exists(dp.p(data::kUpper) + std::string("/data") + p)) move_to_new(dp, p);
}

// The next boot, in the executor's order.
void next_boot(DataPartition& dp, std::vector<std::string>& log) {
  SYS_OK(dp.ensure_upper());
  SYS_OK(dp.apply_lower_change("new-id", LowerChange::kPreserve, kPreserve, log));
  SYS_OK(dp.ensure_upper());
}

}  // namespace

TEST_GROUP(LowerChangePowerCut){};

// Every preserved path was moved into upper.new, the swap had not begun.
TEST(LowerChangePowerCut, AfterThePreservedRenamesBeforeTheSwap) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    move_all_preserved_to_new(dp);
    remount(disk);
    std::vector<std::string> log;
    next_boot(dp, log);
    check_preserved(dp, old_data);
    SYS_CHECK(is_whiteout(dp.p(data::kUpper) + std::string("/data/etc/removed")));
  });
}

// Cut after the preserved renames, and then the old image boots again (an
// A/B fallback): the half-built replacement is rolled back, nothing is lost.
TEST(LowerChangePowerCut, AfterThePreservedRenamesTheOldImageBootsAgain) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    move_all_preserved_to_new(dp);
    remount(disk);
    std::vector<std::string> log;
    SYS_OK(dp.ensure_upper());
    SYS_OK(dp.apply_lower_change("old-id", LowerChange::kPreserve, kPreserve, log));
    SYS_OK(dp.ensure_upper());
    CHECK_EQUAL(old_data, tree(dp.p(data::kUpper) + std::string("/data")));
    SYS_CHECK(!path_exists(dp.p(data::kUpper) + std::string(".new")));
    SYS_CHECK(any_contains(log, "rolled back"));
  });
}

// Cut half-way through the preserved renames.
TEST(LowerChangePowerCut, HalfWayThroughThePreservedRenames) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    mkdirs(dp.p(data::kUpper) + std::string(".new/data"));
    mkdirs(dp.p(data::kUpper) + std::string(".new/work"));
    move_to_new(dp, "/etc/app.conf");
    move_to_new(dp, "/var/lib/app");
    remount(disk);
    std::vector<std::string> log;
    next_boot(dp, log);
    check_preserved(dp, old_data);
  });
}

// The old upper went to the trash, upper.new was not yet renamed.
TEST(LowerChangePowerCut, AfterTheOldUpperLeftBeforeTheRename) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    move_all_preserved_to_new(dp);
    mkdirs(dp.p(data::kTrash));
    SYS_CHECK(::rename(dp.p(data::kUpper).c_str(), (dp.p(data::kTrash) + std::string("/upper-cut")).c_str()) == 0);
    remount(disk);
    std::vector<std::string> log;
    next_boot(dp, log);
    check_preserved(dp, old_data);
  });
}

// Swapped, but the new identity was not yet recorded: done again, same result.
TEST(LowerChangePowerCut, AfterTheSwapBeforeTheIdentity) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    populate(dp);
    const std::string old_data = tree(dp.p(data::kUpper) + std::string("/data"));
    std::vector<std::string> log;
    SYS_OK(dp.apply_lower_change("new-id", LowerChange::kPreserve, kPreserve, log));
    write_text(dp.p(data::kLowerId), "old-id\n");
    remount(disk);
    next_boot(dp, log);
    check_preserved(dp, old_data);
  });
}

// ---- persistent paths -------------------------------------------------------------------------

namespace {

// The image's copy of /var/lib/app: files, a dotfile, a nested dir, an
// empty dir, a symlink, and files and dirs with their own owner and mode.
std::string make_lower_copy(const Ctx& c) {
  const std::string lower = c.scratch + "/lower/var/lib/app";
  put(lower + "/config", "v1\n");
  put(lower + "/.dotfile", "dot\n");
  put(lower + "/sub/deep.txt", "deep\n");
  mkdirs(lower + "/empty");
  SYS_CHECK(::symlink("config", (lower + "/link").c_str()) == 0);
  put(lower + "/private/secret", "secret\n");
  SYS_CHECK(::chown((lower + "/private").c_str(), 1000, 1000) == 0);
  SYS_CHECK(::chmod((lower + "/private").c_str(), 0700) == 0);
  SYS_CHECK(::chown((lower + "/private/secret").c_str(), 1000, 1000) == 0);
  SYS_CHECK(::chmod((lower + "/private/secret").c_str(), 0600) == 0);
  SYS_CHECK(::chown(lower.c_str(), 1000, 1000) == 0);
  SYS_CHECK(::chmod(lower.c_str(), 0750) == 0);
  return lower;
}

std::string attrs(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  return std::string(mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
}

}  // namespace

TEST_GROUP(PersistentPaths){};

TEST(PersistentPaths, FirstUseSeedsACopyOfTheImage) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    const std::string lower = make_lower_copy(c);
    std::vector<std::string> log;
    auto t = dp.prepare_persistent("/var/lib/app", lower, false, log);
    SYS_OK(t);
    const std::string expected = dp.p(data::kPersist) + std::string("/var/lib/app");
    SYS_EQ(expected, *t);
    SYS_EQ(tree(lower), tree(*t));  // content, links, owners and modes
    SYS_EQ(attrs(lower), attrs(*t));
    SYS_CHECK(!path_exists(expected + ".seed"));
    SYS_EQ(std::string("  persistent /var/lib/app: seeded from the image\n"), lines(log));
    remount(disk);
    SYS_EQ(tree(lower), tree(expected));
  });
}

TEST(PersistentPaths, NotInTheImageStartsEmpty) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    std::vector<std::string> log;
    auto t = dp.prepare_persistent("/srv/new", c.scratch + "/lower/srv/new", true, log);
    SYS_OK(t);
    SYS_CHECK(strata::sys::is_dir(*t));
    SYS_EQ(std::string(""), tree(*t));
    SYS_EQ(std::string("  persistent /srv/new: created empty (not in the image)\n"), lines(log));
    // Files put there stay; the next call keeps them.
    write_text(*t + "/mine", "mine\n");
    std::vector<std::string> again;
    SYS_OK(dp.prepare_persistent("/srv/new", c.scratch + "/lower/srv/new", true, again));
    SYS_EQ(std::string("mine\n"), read_text(*t + "/mine"));
    SYS_EQ(0u, again.size());
  });
}

TEST(PersistentPaths, KeepLeavesTheTreeAlone) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    const std::string lower = make_lower_copy(c);
    std::vector<std::string> log;
    auto t = dp.prepare_persistent("/var/lib/app", lower, false, log);
    SYS_OK(t);
    write_text(*t + "/config", "user\n");
    SYS_CHECK(::unlink((*t + "/sub/deep.txt").c_str()) == 0);
    const std::string before = tree(*t);
    // A new image: a changed file, a new file, a new dir.
    write_text(lower + "/config", "v2\n");
    put(lower + "/newfile", "new\n");
    put(lower + "/newdir/x", "x\n");
    std::vector<std::string> again;
    SYS_OK(dp.prepare_persistent("/var/lib/app", lower, false, again));
    SYS_EQ(before, tree(*t));
    SYS_EQ(0u, again.size());
  });
}

TEST(PersistentPaths, AddCopiesOnlyWhatIsMissing) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    const std::string lower = make_lower_copy(c);
    std::vector<std::string> log;
    auto t = dp.prepare_persistent("/var/lib/app", lower, true, log);
    SYS_OK(t);
    write_text(*t + "/config", "user\n");
    write_text(*t + "/.dotfile", "user dot\n");
    SYS_CHECK(::unlink((*t + "/sub/deep.txt").c_str()) == 0);
    put(*t + "/usersfile", "user's\n");
    // A new image: changed files, a new file, a new dir, a new link.
    write_text(lower + "/config", "v2\n");
    write_text(lower + "/.dotfile", "dot v2\n");
    put(lower + "/newfile", "new\n");
    put(lower + "/newdir/x", "x\n");
    put(lower + "/private/new-secret", "s2\n");
    SYS_CHECK(::symlink("newfile", (lower + "/newlink").c_str()) == 0);

    std::vector<std::string> again;
    auto s = dp.prepare_persistent("/var/lib/app", lower, true, again);
    SYS_CHECK_MSG(s.ok(), s.ok() ? "" : s.error().message());
    SYS_EQ(std::string("user\n"), read_text(*t + "/config"));  // never overwritten
    SYS_EQ(std::string("user dot\n"), read_text(*t + "/.dotfile"));
    SYS_EQ(std::string("user's\n"), read_text(*t + "/usersfile"));
    SYS_EQ(std::string("new\n"), read_text(*t + "/newfile"));
    SYS_EQ(std::string("x\n"), read_text(*t + "/newdir/x"));
    SYS_EQ(std::string("s2\n"), read_text(*t + "/private/new-secret"));
    SYS_EQ(std::string("newfile"), fs::read_symlink(*t + "/newlink").string());
    SYS_EQ(std::string("config"), fs::read_symlink(*t + "/link").string());
    // A shipped file the user deleted comes back (README: "under add").
    SYS_EQ(std::string("deep\n"), read_text(*t + "/sub/deep.txt"));
    SYS_EQ(attrs(lower + "/private/new-secret"), attrs(*t + "/private/new-secret"));
  });
}

// A cut while seeding leaves "<path>.seed": the next boot starts it over.
TEST(PersistentPaths, LeftoverSeedIsCleaned) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    DataPartition dp(c.scratch);
    const std::string lower = make_lower_copy(c);
    const std::string seed = dp.p(data::kPersist) + std::string("/var/lib/app.seed");
    put(seed + "/config", "half-writ");
    put(seed + "/junk/partial", "junk\n");
    std::vector<std::string> log;
    auto t = dp.prepare_persistent("/var/lib/app", lower, false, log);
    SYS_OK(t);
    SYS_CHECK(!path_exists(seed));
    SYS_EQ(tree(lower), tree(*t));
    SYS_CHECK(!path_exists(*t + "/junk"));
  });
}
