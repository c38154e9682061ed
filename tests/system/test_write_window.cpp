// Write windows on slot storage (write_window.h) against real kernel objects:
// BLKROSET on a read-write loop device, the read-only flag of one bind mount
// (mount_setattr and the MS_REMOUNT|MS_BIND fallback), EBUSY while a process
// or a loop device holds a file open for writing, and the storage lock
// between processes.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>

#include "harness.h"
#include "sys.h"
#include "write_window.h"

using namespace systest;
using strata::StorageLock;
using strata::WriteWindow;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string self_comm() {
  std::string c = read_text("/proc/self/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

void make_image(const std::string& path, off_t size) {
  strata::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  SYS_CHECK_MSG(fd.valid(), path + ": " + strerror(errno));
  SYS_CHECK(::ftruncate(fd.get(), size) == 0);
}

// 0 when a 4 KiB write at `offset` through a fresh fd reaches the device,
// else the errno of the open or of the write.
int write_errno(const std::string& dev, off_t offset, char fill = 'w') {
  int fd = ::open(dev.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  std::memset(buf, fill, sizeof buf);
  ssize_t n = ::pwrite(fd, buf, sizeof buf, offset);
  int e = n == static_cast<ssize_t>(sizeof buf) ? 0 : (n < 0 ? errno : EIO);
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  ::close(fd);
  return e;
}

bool is_refusal(int e) {
  return e == EPERM || e == EROFS || e == EACCES;
}

bool block_ro(const std::string& dev) {
  auto r = strata::block_readonly(dev);
  if (!r) fail(__FILE__, __LINE__, r.error().message());
  return *r;
}

bool mount_ro(const std::string& path) {
  auto r = strata::sys::is_readonly(path);
  if (!r) fail(__FILE__, __LINE__, r.error().message());
  return *r;
}

// ---- a forked helper process, driven over two pipes ------------------------

// The body runs in the child with the command pipe's read end and the report
// pipe's write end; its return value is the exit status. No SYS_ macros in
// there: a failure must not unwind into the harness in a second process.
class Helper {
 public:
  explicit Helper(const std::function<int(int cmd, int report)>& body) {
    int cmd[2], rep[2];
    if (::pipe2(cmd, O_CLOEXEC) != 0 || ::pipe2(rep, O_CLOEXEC) != 0) fail(__FILE__, __LINE__, "pipe2");
    pid_ = ::fork();
    if (pid_ < 0) fail(__FILE__, __LINE__, "fork");
    if (pid_ == 0) {
      ::close(cmd[1]);
      ::close(rep[0]);
      int code = 3;
      try {
        code = body(cmd[0], rep[1]);
      } catch (...) {
      }
      ::_exit(code);
    }
    ::close(cmd[0]);
    ::close(rep[1]);
    cmd_ = cmd[1];
    report_ = rep[0];
  }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  ~Helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
    if (cmd_ >= 0) ::close(cmd_);
    if (report_ >= 0) ::close(report_);
  }

  pid_t pid() const { return pid_; }

  // One line the child reported ("" on timeout or when it is gone).
  std::string read_line(int timeout_ms = 5000) {
    const long deadline = now_ms() + timeout_ms;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      long left = deadline - now_ms();
      if (left <= 0) return "";
      pollfd p{report_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char b[256];
      ssize_t n = ::read(report_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<size_t>(n));
    }
  }
  void send(char c) {
    if (::write(cmd_, &c, 1) != 1) fail(__FILE__, __LINE__, "write to the helper");
  }
  // Lets the child finish (EOF on its command pipe); returns its wait status.
  int finish() {
    ::close(cmd_);
    cmd_ = -1;
    return reap();
  }
  int kill_and_wait(int sig) {
    ::kill(pid_, sig);
    return reap();
  }

 private:
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  pid_t pid_ = -1;
  int cmd_ = -1, report_ = -1;
  std::string buf_;
};

// In the child: the next command byte, 0 at EOF.
char next_command(int cmd) {
  char c = 0;
  while (::read(cmd, &c, 1) < 0 && errno == EINTR) {
  }
  return c;
}
void say(int report, const std::string& line) {
  std::string s = line + "\n";
  (void)!::write(report, s.data(), s.size());
}

// ---- mounts ------------------------------------------------------------------

// A tmpfs (nosuid,nodev) at <scratch>/slots, bound read-only onto itself as a
// data partition's image directory is; `extra` is added to the read-only
// bind's flags. Also a read-write and a read-only bind of the same tmpfs
// elsewhere, which no window on `slots` may touch. Returns the slots dir.
struct Slots {
  std::string dir, rw_twin, ro_twin;
};
Slots make_slots(const Ctx& c, unsigned long extra = 0) {
  Slots s{c.scratch + "/slots", c.scratch + "/twin-rw", c.scratch + "/twin-ro"};
  for (const auto& d : {s.dir, s.rw_twin, s.ro_twin}) SYS_CHECK(::mkdir(d.c_str(), 0755) == 0);
  SYS_CHECK(::mount("strata-slots", s.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m") == 0);
  SYS_CHECK(::mkdir((s.dir + "/sub").c_str(), 0755) == 0);
  write_text(s.dir + "/a.img", "slot a\n");
  SYS_CHECK(::mount(s.dir.c_str(), s.rw_twin.c_str(), nullptr, MS_BIND, nullptr) == 0);
  SYS_CHECK(::mount(s.dir.c_str(), s.ro_twin.c_str(), nullptr, MS_BIND, nullptr) == 0);
  SYS_CHECK(::mount(nullptr, s.ro_twin.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                    nullptr) == 0);
  SYS_CHECK(::mount(s.dir.c_str(), s.dir.c_str(), nullptr, MS_BIND, nullptr) == 0);
  SYS_CHECK(::mount(nullptr, s.dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | extra,
                    nullptr) == 0);
  SYS_EQ(EROFS, try_create(s.dir + "/x"));
  return s;
}

size_t mounts_at(const std::string& path) {
  size_t n = 0;
  for (const auto& m : mountinfo()) n += m.mount_point == path;
  return n;
}

void check_options(const std::string& path, const std::vector<std::string>& want) {
  auto m = mount_at(path);
  SYS_CHECK_MSG(m.has_value(), "no mount at " + path);
  for (const auto& o : want) SYS_CHECK_MSG(m->has_option(o), path + " lacks " + o + ": " + m->options);
}

#if defined(__x86_64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned kAuditArch = 0;
#endif

// Makes one syscall fail with ENOSYS in this (single-threaded) child, as on a
// kernel that does not have it.
bool make_enosys(long nr) {
  if (kAuditArch == 0) return false;
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// The round trip every mount test makes: open, write, close, refused.
void mount_round_trip(const Slots& s, const std::vector<std::string>& flags) {
  const size_t stacked = mounts_at(s.dir);
  {
    auto w = WriteWindow::open_mount(s.dir);
    SYS_OK(w);
    SYS_CHECK(w->is_open());
    SYS_EQ(0, try_create(s.dir + "/new.img"));
    SYS_EQ(false, mount_ro(s.dir));
    auto opts = flags;
    opts.push_back("rw");
    check_options(s.dir, opts);
    // Only that one mount: the read-only twin stays read-only.
    SYS_EQ(EROFS, try_create(s.ro_twin + "/x"));
    SYS_OK(w->close());
    SYS_CHECK(!w->is_open());
    SYS_EQ(EROFS, try_create(s.dir + "/new.img"));
    SYS_EQ(true, mount_ro(s.dir));
    opts.back() = "ro";
    check_options(s.dir, opts);
    SYS_OK(w->close());  // idempotent
  }
  // The read-write twin was never touched; nothing was stacked or left behind.
  SYS_EQ(0, try_create(s.rw_twin + "/x"));
  SYS_EQ(true, mount_ro(s.ro_twin));
  SYS_EQ(stacked, mounts_at(s.dir));
  // The destructor closes a window still open.
  {
    auto w = WriteWindow::open_mount(s.dir);
    SYS_OK(w);
    SYS_EQ(0, try_create(s.dir + "/x"));
  }
  SYS_EQ(EROFS, try_create(s.dir + "/x"));
  check_options(s.dir, flags);
}

}  // namespace

// ---- block devices -------------------------------------------------------------

TEST_GROUP(WriteWindow){};

TEST(WriteWindow, BlockFlagRefusesWritesAndAWindowLiftsItUntilClosed) {
  run_isolated([&](Ctx& c) {
    const std::string img = c.scratch + "/slot.img";
    make_image(img, 4 << 20);
    RwLoop loop = attach_rw(img);
    SYS_EQ(false, block_ro(loop.path));
    SYS_EQ(0, write_errno(loop.path, 0));

    SYS_OK(strata::set_block_readonly(loop.path, true));
    SYS_EQ(true, block_ro(loop.path));
    int refused = write_errno(loop.path, 0);
    SYS_CHECK_MSG(is_refusal(refused), std::string("write to a BLKROSET device: ") + strerror(refused));
    note(std::string("write to a BLKROSET device refused: ") + strerror(refused));

    {
      auto w = WriteWindow::open_device(loop.path);
      SYS_OK(w);
      SYS_EQ(false, block_ro(loop.path));
      SYS_EQ(0, write_errno(loop.path, 1 << 20, 'S'));
      // What went through the window reached the backing file.
      SYS_EQ(std::string("SSSS"), read_text(img).substr(1 << 20, 4));
      // A writer that kept its fd cannot write once the window is closed.
      strata::UniqueFd kept(::open(loop.path.c_str(), O_WRONLY | O_CLOEXEC));
      SYS_CHECK(kept.valid());
      SYS_OK(w->close());
      SYS_CHECK(!w->is_open());
      SYS_EQ(true, block_ro(loop.path));
      char b[4096] = {};
      errno = 0;
      SYS_CHECK(::pwrite(kept.get(), b, sizeof b, 0) < 0);
      SYS_CHECK_MSG(is_refusal(errno), strerror(errno));
      SYS_CHECK(is_refusal(write_errno(loop.path, 0)));
      SYS_OK(w->close());  // idempotent
      SYS_EQ(true, block_ro(loop.path));
    }
    SYS_EQ(true, block_ro(loop.path));
    loop.detach();
  });
}

TEST(WriteWindow, BlockWindowClosesOnDestructionAndMovesButNotFromAMovedFrom) {
  run_isolated([&](Ctx& c) {
    const std::string img = c.scratch + "/slot.img";
    make_image(img, 4 << 20);
    RwLoop loop = attach_rw(img);
    SYS_OK(strata::set_block_readonly(loop.path, true));

    {
      auto w = WriteWindow::open_device(loop.path);
      SYS_OK(w);
      SYS_EQ(false, block_ro(loop.path));
    }
    SYS_EQ(true, block_ro(loop.path));

    // Moved into a function that gives up early: the window closes there.
    auto install = [&](WriteWindow w, bool give_up) -> strata::Status {
      if (give_up) return strata::plain_error("gave up early");
      return w.close();
    };
    {
      auto w = WriteWindow::open_device(loop.path);
      SYS_OK(w);
      auto s = install(std::move(*w), true);
      SYS_CHECK(!s.ok());
      SYS_CHECK(!w->is_open());
      SYS_EQ(true, block_ro(loop.path));
    }
    SYS_EQ(true, block_ro(loop.path));

    // The moved-from window's destructor must not close the one moved out.
    std::optional<WriteWindow> keep;
    {
      auto w = WriteWindow::open_device(loop.path);
      SYS_OK(w);
      keep.emplace(std::move(*w));
    }
    SYS_CHECK(keep->is_open());
    SYS_EQ(false, block_ro(loop.path));
    SYS_EQ(0, write_errno(loop.path, 0));
    keep.reset();
    SYS_EQ(true, block_ro(loop.path));
    loop.detach();
  });
}

TEST(WriteWindow, ADiskThatIsItselfReadOnlyCannotBeOpened) {
  run_isolated([&](Ctx& c) {
    const std::string img = c.scratch + "/slot.img";
    make_image(img, 4 << 20);
    auto dev = attach_or_fail(img);  // LO_FLAGS_READ_ONLY: the disk's own flag
    auto w = WriteWindow::open_device(dev.path);
    SYS_CHECK(!w.ok());
    SYS_CHECK_MSG(contains(w.error().message(), dev.path) && contains(w.error().message(), "disk itself is read-only"),
                  w.error().message());
    SYS_EQ(true, block_ro(dev.path));
    int zero = 0;  // leave no BLKROSET behind on this loop device
    SYS_CHECK(::ioctl(dev.fd.get(), BLKROSET, &zero) == 0);

    auto missing = WriteWindow::open_device(c.scratch + "/no-such-device");
    SYS_CHECK(!missing.ok());
    SYS_EQ(ENOENT, missing.error().err);
    SYS_CHECK_MSG(contains(missing.error().message(), c.scratch + "/no-such-device"), missing.error().message());
  });
}

// ---- mounts ---------------------------------------------------------------------

TEST(WriteWindow, MountWindowIsPerMountAndKeepsFlags) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    mount_round_trip(s, {"nosuid", "nodev", "relatime"});
    SYS_EQ(std::string("slot a\n"), read_text(s.dir + "/a.img"));
  });
}

TEST(WriteWindow, MountWindowWithoutMountSetattrUsesTheLegacyRemount) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c, MS_NOEXEC | MS_NOATIME);
    if (!make_enosys(SYS_mount_setattr)) {
      note("seccomp unavailable on this architecture: legacy remount not tested");
      return;
    }
    SYS_EQ(-1L, ::syscall(SYS_mount_setattr, AT_FDCWD, s.dir.c_str(), 0, nullptr, 0));
    SYS_EQ(ENOSYS, errno);
    mount_round_trip(s, {"nosuid", "nodev", "noexec", "noatime"});
  });
}

TEST(WriteWindow, NotAMountPointIsRefusedClearly) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    const std::string sub = s.dir + "/sub";
    auto w = WriteWindow::open_mount(sub);
    SYS_CHECK(!w.ok());
    SYS_CHECK_MSG(contains(w.error().message(), sub + " read-write: it is not a mount point"), w.error().message());
    auto r = strata::set_mount_readonly(sub, true);
    SYS_CHECK(!r.ok());
    SYS_CHECK_MSG(contains(r.error().message(), "not a mount point"), r.error().message());
    auto m = strata::remount(sub, false, c.scratch + "/run/update.lock");
    SYS_CHECK(!m.ok());
    SYS_CHECK_MSG(contains(m.error().message(), "not a mount point"), m.error().message());
    SYS_EQ(EROFS, try_create(sub + "/x"));

    auto missing = strata::set_mount_readonly(c.scratch + "/nowhere", false);
    SYS_CHECK(!missing.ok());
    SYS_EQ(ENOENT, missing.error().err);
    SYS_CHECK_MSG(contains(missing.error().message(), c.scratch + "/nowhere"), missing.error().message());
  });
}

TEST(WriteWindow, AFilesystemMountedReadOnlyCannotBeOpenedAndStaysAsItWas) {
  run_isolated([&](Ctx& c) {
    const std::string dir = c.scratch + "/ro";
    SYS_CHECK(::mkdir(dir.c_str(), 0755) == 0);
    SYS_CHECK(::mount("strata-ro", dir.c_str(), "tmpfs", MS_RDONLY, nullptr) == 0);
    auto w = WriteWindow::open_mount(dir);
    SYS_CHECK(!w.ok());
    SYS_CHECK_MSG(contains(w.error().message(), "filesystem itself is mounted read-only"), w.error().message());
    check_options(dir, {"ro"});  // the mount's own flag was put back
  });
}

TEST(WriteWindow, CloseIsRefusedWhileAProcessWritesAndNamesIt) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    auto w = WriteWindow::open_mount(s.dir);
    SYS_OK(w);
    const std::string file = s.dir + "/b.img";
    {
      Helper writer([&](int cmd, int report) {
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        say(report, fd >= 0 ? "open" : std::string("open failed: ") + strerror(errno));
        next_command(cmd);
        return 0;
      });
      SYS_EQ(std::string("open"), writer.read_line());
      auto r = w->close();
      SYS_CHECK(!r.ok());
      SYS_EQ(EBUSY, r.error().err);
      const std::string msg = r.error().message();
      SYS_CHECK_MSG(contains(msg, "pid " + std::to_string(writer.pid()) + " (" + self_comm() + ") has " + file +
                                      " open for writing"),
                    msg);
      note("refusal: " + msg);
      SYS_CHECK(w->is_open());
      SYS_EQ(0, try_create(s.dir + "/x"));  // still writable: nothing half done

      auto found = strata::writers_under(s.dir);
      SYS_EQ(size_t{1}, found.size());
      SYS_EQ(writer.pid(), found[0].pid);
      SYS_EQ(file, found[0].file);
      SYS_EQ(0, writer.finish());
    }
    SYS_OK(w->close());
    SYS_EQ(EROFS, try_create(s.dir + "/x"));
  });
}

TEST(WriteWindow, DeletedFilesAndSharedMappingsStillCountAsWriters) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    auto w = WriteWindow::open_mount(s.dir);
    SYS_OK(w);
    const std::string gone = s.dir + "/old.img", mapped = s.dir + "/mapped.img";
    Helper writer([&](int cmd, int report) {
      int fd = ::open(gone.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      int mfd = ::open(mapped.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      void* p = MAP_FAILED;
      if (mfd >= 0 && ::ftruncate(mfd, 4096) == 0)
        p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
      if (mfd >= 0) ::close(mfd);  // only the mapping holds it now
      say(report, fd >= 0 && p != MAP_FAILED ? "ready" : std::string("failed: ") + strerror(errno));
      next_command(cmd);
      return 0;
    });
    SYS_EQ(std::string("ready"), writer.read_line());
    SYS_CHECK(::unlink(gone.c_str()) == 0);
    auto r = w->close();
    SYS_CHECK(!r.ok());
    SYS_EQ(EBUSY, r.error().err);
    const std::string msg = r.error().message();
    SYS_CHECK_MSG(contains(msg, gone + " (deleted) open for writing"), msg);
    SYS_CHECK_MSG(contains(msg, mapped + " open for writing"), msg);
    SYS_EQ(0, writer.finish());
    SYS_OK(w->close());
  });
}

TEST(WriteWindow, CloseIsRefusedWhileAWritableLoopDeviceIsBackedThere) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    auto w = WriteWindow::open_mount(s.dir);
    SYS_OK(w);
    const std::string img = s.dir + "/b.img";
    make_image(img, 1 << 20);
    RwLoop loop = attach_rw(img);
    auto r = w->close();
    SYS_CHECK(!r.ok());
    SYS_EQ(EBUSY, r.error().err);
    SYS_CHECK_MSG(contains(r.error().message(), "loop device " + loop.path + " has " + img + " open for writing"),
                  r.error().message());
    const std::string name = loop_name(loop.path);
    loop.detach();
    SYS_CHECK_MSG(wait_loop_free(name), name + " still attached");
    SYS_OK(w->close());
  });
}

TEST(WriteWindow, WritersUnderComparesWholePathComponents) {
  run_isolated([&](Ctx& c) {
    const std::string a = c.scratch + "/a", b = a + "/b", bc = a + "/bc";
    SYS_CHECK(::mkdir(a.c_str(), 0755) == 0 && ::mkdir(b.c_str(), 0755) == 0 && ::mkdir(bc.c_str(), 0755) == 0);
    SYS_CHECK(::symlink(b.c_str(), (c.scratch + "/link").c_str()) == 0);
    strata::UniqueFd wo(::open((bc + "/f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    strata::UniqueFd rw(::open((b + "/h").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    strata::UniqueFd ro(::open((b + "/h").c_str(), O_RDONLY | O_CLOEXEC));
    strata::UniqueFd path(::open((b + "/h").c_str(), O_PATH | O_CLOEXEC));
    SYS_CHECK(wo.valid() && rw.valid() && ro.valid() && path.valid());

    auto files = [](const std::vector<strata::OpenWriter>& w) {
      std::string out;
      for (const auto& x : w) {
        SYS_EQ(::getpid(), x.pid);
        SYS_EQ(self_comm(), x.comm);
        out += x.file + "|";
      }
      return out;
    };
    SYS_EQ(b + "/h|", files(strata::writers_under(b)));
    SYS_EQ(bc + "/f|", files(strata::writers_under(bc)));
    SYS_EQ(b + "/h|" + bc + "/f|", files(strata::writers_under(a + "/")));
    SYS_EQ(b + "/h|", files(strata::writers_under(c.scratch + "/link/")));
    SYS_EQ(bc + "/f|", files(strata::writers_under(bc + "/f")));  // the file itself
    SYS_EQ(std::string(""), files(strata::writers_under(b + "/g")));

    SYS_EQ(std::string(""), strata::describe_writers({}));
    SYS_EQ(std::string("pid 12 (vi) has /x/a open for writing; loop device /dev/loop3 has /x/b.img open for writing"),
           strata::describe_writers({{12, "vi", "/x/a"}, {0, "loop3", "/x/b.img"}}));
  });
}

// ---- the lock --------------------------------------------------------------------

TEST(WriteWindow, LockRefusesOthersNamingTheHolderUntilReleased) {
  run_isolated([&](Ctx& c) {
    const std::string lock = c.scratch + "/run/strata/update.lock";  // parents made on demand
    // Forked before we take the lock, so it does not share our open file.
    Helper other([&](int cmd, int report) {
      while (next_command(cmd)) {
        auto r = StorageLock::acquire(lock);
        say(report, r ? "acquired" : "refused: " + r.error().message());
      }
      return 0;
    });
    const std::string refusal = "refused: another update or remount is running (pid " + std::to_string(::getpid()) +
                                ", " + self_comm() + "); try again when it has finished";
    {
      auto mine = StorageLock::acquire(lock);
      SYS_OK(mine);
      SYS_EQ(std::to_string(::getpid()) + "\n", read_text(lock));
      struct stat st {};
      SYS_CHECK(::stat(lock.c_str(), &st) == 0);
      SYS_EQ(0600u, static_cast<unsigned>(st.st_mode & 07777));

      other.send('a');
      SYS_EQ(refusal, other.read_line());
      // A second acquire in the same process refuses too (flock is per open file).
      auto again = StorageLock::acquire(lock);
      SYS_CHECK(!again.ok());
      SYS_EQ(refusal.substr(9), again.error().message());

      // Moving the lock keeps it held.
      StorageLock moved(std::move(*mine));
      other.send('a');
      SYS_EQ(refusal, other.read_line());
    }
    other.send('a');
    SYS_EQ(std::string("acquired"), other.read_line());
    SYS_EQ(0, other.finish());
  });
}

TEST(WriteWindow, AKilledHolderLeavesNoStaleLock) {
  run_isolated([&](Ctx& c) {
    const std::string lock = c.scratch + "/update.lock";
    Helper holder([&](int cmd, int report) {
      auto r = StorageLock::acquire(lock);
      say(report, r ? "held" : "refused: " + r.error().message());
      next_command(cmd);
      return 0;
    });
    SYS_EQ(std::string("held"), holder.read_line());
    auto refused = StorageLock::acquire(lock);
    SYS_CHECK(!refused.ok());
    SYS_CHECK_MSG(
        contains(refused.error().message(), "(pid " + std::to_string(holder.pid()) + ", " + self_comm() + ")"),
        refused.error().message());

    int status = holder.kill_and_wait(SIGKILL);
    SYS_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    auto mine = StorageLock::acquire(lock);
    SYS_OK(mine);
    SYS_EQ(std::to_string(::getpid()) + "\n", read_text(lock));
  });
}

// ---- remount ----------------------------------------------------------------------

TEST(WriteWindow, RemountRoundTripsRefusesWritersAndWaitsForNoOne) {
  run_isolated([&](Ctx& c) {
    Slots s = make_slots(c);
    const std::string lock = c.scratch + "/run/strata/update.lock";
    SYS_OK(strata::remount(s.dir, false, lock));
    SYS_EQ(0, try_create(s.dir + "/x"));
    check_options(s.dir, {"rw", "nosuid", "nodev"});
    SYS_OK(strata::remount(s.dir, true, lock));
    SYS_EQ(EROFS, try_create(s.dir + "/x"));
    check_options(s.dir, {"ro", "nosuid", "nodev"});
    SYS_EQ(0, try_create(s.rw_twin + "/x"));

    // Read-only is refused while someone writes there, naming the writer.
    SYS_OK(strata::remount(s.dir, false, lock));
    const std::string file = s.dir + "/a.img";
    {
      Helper writer([&](int cmd, int report) {
        int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        say(report, fd >= 0 ? "open" : std::string("failed: ") + strerror(errno));
        next_command(cmd);
        return 0;
      });
      SYS_EQ(std::string("open"), writer.read_line());
      auto r = strata::remount(s.dir, true, lock);
      SYS_CHECK(!r.ok());
      SYS_EQ(EBUSY, r.error().err);
      SYS_CHECK_MSG(contains(r.error().message(), "pid " + std::to_string(writer.pid())) &&
                        contains(r.error().message(), file + " open for writing"),
                    r.error().message());
      SYS_EQ(false, mount_ro(s.dir));
      SYS_EQ(0, writer.finish());
    }
    SYS_OK(strata::remount(s.dir, true, lock));

    // Another process holding the lock: refused, nothing changed.
    {
      Helper holder([&](int cmd, int report) {
        auto r = StorageLock::acquire(lock);
        say(report, r ? "held" : "refused");
        next_command(cmd);
        return 0;
      });
      SYS_EQ(std::string("held"), holder.read_line());
      auto r = strata::remount(s.dir, false, lock);
      SYS_CHECK(!r.ok());
      SYS_CHECK_MSG(
          contains(r.error().message(), "another update or remount is running (pid " + std::to_string(holder.pid())),
          r.error().message());
      SYS_EQ(true, mount_ro(s.dir));
      SYS_EQ(0, holder.finish());
    }
    // remount() let go of the lock when it returned.
    SYS_OK(strata::remount(s.dir, false, lock));
    auto after = StorageLock::acquire(lock);
    SYS_OK(after);
    SYS_OK(strata::remount(s.dir, true, c.scratch + "/other.lock"));
  });
}
