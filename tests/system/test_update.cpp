// install_update (update.h) against real objects: a read-write loop device as
// the target partition (BLKROSET as the PID-1 leaves it), an image file in a
// read-only bind of an ext4 data partition, the slot record on tmpfs or ext4,
// bundles streamed from a pipe fed by another process and from a file. Every
// refusal is checked for its message, a closed write window, an untouched
// running slot and the record it leaves; then signals, the storage lock,
// seeding the target's upper, and the order of the crash points.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bundle.h"
#include "data_image.h"
#include "data_layout.h"
#include "harness.h"
#include "paths.h"
#include "persist.h"
#include "sha256.h"
#include "slot_state.h"
#include "slot_store.h"
#include "sys.h"
#include "update.h"
#include "write_window.h"

using namespace systest;
using strata::Manifest;
using strata::SlotState;
using strata::SlotStatus;
using strata::SlotStore;
using strata::StateHealth;
using strata::UpdateOptions;
using strata::UpdateResult;
using strata::UpdateTarget;

namespace {

constexpr size_t kMiB = 1 << 20;
constexpr size_t kSlotSize = 8 * kMiB;
constexpr size_t kImageSize = 3 * kMiB;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Deterministic "random" bytes: a failure reproduces.
std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

std::string sha256(const std::string& bytes) {
  strata::Sha256 h;
  h.update(bytes);
  return h.hex();
}

// `n` bytes at `offset` of a file or block device, read with pread.
std::string read_range(const std::string& path, off_t offset, size_t n) {
  strata::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) fail(__FILE__, __LINE__, "open " + path + ": " + strerror(errno));
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd.get(), out.data() + got, n - got, offset + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail(__FILE__, __LINE__, "read " + path + ": " + (r < 0 ? strerror(errno) : "short"));
    got += static_cast<size_t>(r);
  }
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  strata::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) fail(__FILE__, __LINE__, "create " + path + ": " + strerror(errno));
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) fail(__FILE__, __LINE__, "write " + path + ": " + strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void mkdirs(const std::string& dir) {
  if (auto s = strata::sys::mkdir_p(dir); !s) fail(__FILE__, __LINE__, s.error().message());
}

// ---- a read-write loop device as the target partition ----------------------

// As in test_write_window.cpp (attach_loop only attaches read-only).

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

// ---- bundles ---------------------------------------------------------------------

Manifest manifest_for(const std::string& image, const std::string& version = "2.0",
                      const std::string& compatible = "") {
  Manifest m;
  m.version = version;
  m.size = image.size();
  m.sha256 = sha256(image);
  m.compatible = compatible;
  return m;
}

std::string header_for(const Manifest& m, const std::string& secret = "") {
  auto h = strata::make_bundle_header(m, secret);
  if (!h) fail(__FILE__, __LINE__, "make_bundle_header: " + h.error().message());
  return *h;
}

std::string bundle_of(const std::string& image, const std::string& secret = "") {
  return header_for(manifest_for(image), secret) + image;
}

// ---- forked helper processes -------------------------------------------------------

// A child process running `body` (its return value is the exit status) with
// the write end of a report pipe. No SYS_ macros in there: a failure must not
// unwind into the harness in a second process.
class Child {
 public:
  explicit Child(const std::function<int(int report)>& body) {
    int rep[2];
    if (::pipe2(rep, O_CLOEXEC) != 0) fail(__FILE__, __LINE__, "pipe2");
    fflush(stdout);
    fflush(stderr);
    pid_ = ::fork();
    if (pid_ < 0) fail(__FILE__, __LINE__, "fork");
    if (pid_ == 0) {
      ::close(rep[0]);
      int code = 3;
      try {
        code = body(rep[1]);
      } catch (...) {
      }
      ::_exit(code);
    }
    ::close(rep[1]);
    report_ = rep[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) kill_and_wait(SIGKILL);
    if (report_ >= 0) ::close(report_);
  }
  pid_t pid() const { return pid_; }

  // One reported line ("" on timeout or when the child is gone).
  std::string read_line(int timeout_ms = 10000) {
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
      char b[512];
      ssize_t n = ::read(report_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<size_t>(n));
    }
  }
  // Whether the child has exited within `ms` (its status in `status`).
  bool exited_within(int ms, int& status) {
    const long deadline = now_ms() + ms;
    do {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return true;
      }
      ::usleep(10 * 1000);
    } while (now_ms() < deadline);
    return false;
  }
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  int kill_and_wait(int sig) {
    ::kill(pid_, sig);
    return wait();
  }

 private:
  pid_t pid_ = -1;
  int report_ = -1;
  std::string buf_;
};

void say_line(int fd, const std::string& line) {
  const std::string s = line + "\n";
  (void)!::write(fd, s.data(), s.size());
}

// A bundle streamed through a pipe by another process, as `wget -O- | strata
// update -` does. The writer sends `bytes` in `chunk`-sized writes, `pause_us`
// apart, then closes its end; with `stall_after` it stops there and keeps the
// pipe open (a download that hangs).
struct FeedOptions {
  size_t chunk = 64 * 1024;
  int pause_us = 0;
  size_t stall_after = SIZE_MAX;
  bool hold_open = false;  // after the last byte, keep the pipe open (no EOF)
};
class PipeFeed {
 public:
  explicit PipeFeed(const std::string& bytes, FeedOptions o = {}) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fail(__FILE__, __LINE__, "pipe2");
    fflush(stdout);
    fflush(stderr);
    pid_ = ::fork();
    if (pid_ < 0) fail(__FILE__, __LINE__, "fork");
    if (pid_ == 0) {
      ::close(p[0]);
      ::signal(SIGPIPE, SIG_IGN);  // a refusal closes the read end: EPIPE ends the writer
      size_t done = 0;
      while (done < bytes.size() && done < o.stall_after) {
        size_t n = std::min({o.chunk, bytes.size() - done, o.stall_after - done});
        ssize_t w = ::write(p[1], bytes.data() + done, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) ::_exit(1);
        done += static_cast<size_t>(w);
        if (o.pause_us) ::usleep(static_cast<useconds_t>(o.pause_us));
      }
      if (done < bytes.size() || o.hold_open)
        for (;;) ::pause();
      ::_exit(0);
    }
    ::close(p[1]);
    read_ = p[0];
  }
  PipeFeed(const PipeFeed&) = delete;
  PipeFeed& operator=(const PipeFeed&) = delete;
  ~PipeFeed() {
    // The reader goes first, so a writer blocked in write() sees EPIPE; a
    // stalled one is killed.
    if (read_ >= 0) ::close(read_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  int fd() const { return read_; }

 private:
  pid_t pid_ = -1;
  int read_ = -1;
};

// ---- the device under update --------------------------------------------------------

// Slot b as a partition (8 MiB of old content, BLKROSET on), the slot record
// on a tmpfs with a good, running slot a, and the lock beside it.
struct Rig {
  std::string backing, lock, prefix;
  RwLoop loop;
  std::string old;  // slot b's bytes before the update
  SlotStore store{""};
  SlotState before;  // the record as the update finds it
};

SlotState factory_state() {
  SlotState s = strata::initial_slot_state();
  s.slot[0].version = "1.0";
  s.slot[0].image_id = sha256("factory image");
  return s;
}

// Writes `s` as the record and keeps what reads back as `before`.
void set_record(Rig& r, const SlotState& s) {
  SYS_OK(r.store.write(s, "setup"));
  const auto reading = r.store.read();
  SYS_EQ(std::string("ok"), std::string(strata::to_string(reading.health)));
  r.before = reading.state;
}

void make_rig(Rig& r, const Ctx& c, size_t slot_size = kSlotSize) {
  ::umask(022);
  r.backing = c.scratch + "/slot-b.img";
  r.old = random_bytes(slot_size, 99);
  write_file(r.backing, r.old);
  r.loop = attach_rw(r.backing);
  // The PID-1 leaves every slot device read-only.
  SYS_OK(strata::set_block_readonly(r.loop.path, true));
  mount_tmpfs(c.scratch + "/state", "strata-state");
  r.prefix = c.scratch + "/state/slot-state";
  r.store = SlotStore(r.prefix);
  r.lock = c.scratch + strata::paths::kLock;
  set_record(r, factory_state());
}

UpdateTarget partition(const Rig& r) {
  UpdateTarget t;
  t.slot = 1;
  t.running = 0;
  t.path = r.loop.path;
  return t;
}

UpdateOptions options(const Rig& r) {
  UpdateOptions o;
  o.lock_path = r.lock;
  return o;
}

// What a successful update must leave: the image on the device (and in the
// backing file), nothing past it changed, the device read-only again, b on
// trial and active, a as it was.
// `bytes`: what the stream carried, when more than the image (a group).
void check_installed(Rig& r, const strata::Result<UpdateResult>& res, const std::string& image,
                     const std::string& version, int tries, uint64_t seq, uint64_t bytes = 0) {
  SYS_OK(res);
  const UpdateResult& done = res.value();
  SYS_EQ(version, done.version);
  SYS_EQ(sha256(image), done.sha256);
  SYS_EQ(bytes ? bytes : static_cast<uint64_t>(image.size()), done.bytes);
  SYS_CHECK(done.seconds >= 0);
  SYS_CHECK_MSG(read_range(r.loop.path, 0, image.size()) == image, "the device does not hold the image");
  SYS_CHECK_MSG(read_range(r.backing, 0, image.size()) == image, "the backing file does not hold the image");
  SYS_CHECK_MSG(read_range(r.backing, static_cast<off_t>(image.size()), r.old.size() - image.size()) ==
                    r.old.substr(image.size()),
                "bytes past the image changed");
  SYS_EQ(true, block_ro(r.loop.path));
  const auto now = r.store.read();
  SYS_EQ(std::string("ok"), std::string(strata::to_string(now.health)));
  SYS_EQ(seq, now.state.seq);
  SYS_EQ(1, now.state.active);
  SYS_EQ(std::string("trial"), std::string(strata::to_string(now.state.slot[1].status)));
  SYS_EQ(tries, now.state.slot[1].tries);
  SYS_EQ(sha256(image), now.state.slot[1].image_id);
  SYS_EQ(version, now.state.slot[1].version);
  SYS_CHECK_MSG(now.state.slot[0] == r.before.slot[0], "the running slot's record changed");
}

// A refusal before the target was marked bad: a message with every phrase,
// nothing written anywhere, the device still read-only.
void check_refused_untouched(Rig& r, const strata::Result<UpdateResult>& res, const std::vector<std::string>& phrases) {
  SYS_CHECK(!res.ok());
  const std::string msg = res.error().message();
  for (const auto& p : phrases) SYS_CHECK_MSG(contains(msg, p), "'" + p + "' not in: " + msg);
  SYS_EQ(true, block_ro(r.loop.path));
  const auto now = r.store.read();
  SYS_CHECK_MSG(now.state == r.before,
                "the record changed: " + strata::describe(now.state) + " seq " + std::to_string(now.state.seq));
  SYS_CHECK_MSG(read_range(r.backing, 0, r.old.size()) == r.old, "the device was written");
  note("refused: " + msg);
}

// A refusal after the target was marked bad: the message, the window closed,
// b bad with nothing known about it, a untouched, one record write.
void check_refused_marked_bad(Rig& r, const strata::Result<UpdateResult>& res,
                              const std::vector<std::string>& phrases) {
  SYS_CHECK(!res.ok());
  const std::string msg = res.error().message();
  for (const auto& p : phrases) SYS_CHECK_MSG(contains(msg, p), "'" + p + "' not in: " + msg);
  SYS_EQ(true, block_ro(r.loop.path));
  const auto now = r.store.read();
  SYS_EQ(std::string("ok"), std::string(strata::to_string(now.health)));
  SlotState expect = strata::begin_update(r.before, 1);
  expect.seq = r.before.seq + 1;
  SYS_CHECK_MSG(now.state == expect, "record " + strata::describe(now.state) + " seq " + std::to_string(now.state.seq) +
                                         ", expected " + strata::describe(expect));
  SYS_CHECK_MSG(now.state.slot[0] == r.before.slot[0], "the running slot's record changed");
  note("refused: " + msg);
}

std::string bad_record_copy(const std::string& path) {
  std::string bytes = read_text(path);
  if (bytes.size() < 20) fail(__FILE__, __LINE__, path + " is too short");
  bytes[10] = static_cast<char>(bytes[10] ^ 0x20);
  return bytes;
}

}  // namespace

TEST_GROUP(Update){};

// ---- partition slots: success ---------------------------------------------------------

TEST(Update, PartitionFromAPipe) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 1);
    PipeFeed feed(bundle_of(image), {.chunk = 40000});  // odd writes: reads span them
    std::vector<std::string> said;
    UpdateOptions o = options(r);
    o.say = [&](const std::string& l) { said.push_back(l); };
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_installed(r, res, image, "2.0", 3, r.before.seq + 2);
    SYS_EQ(size_t{1}, said.size());
    SYS_EQ("installing version 2.0 (3145728 bytes) into slot b (" + r.loop.path + ")", said.at(0));
    // The lock is free again.
    SYS_OK(strata::StorageLock::acquire(r.lock));
    r.loop.detach();
  });
}

TEST(Update, PartitionFromAFileWithTriesAndCompatible) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize + 12345, 2);  // not a whole number of chunks
    write_file(c.scratch + "/bundle", header_for(manifest_for(image, "2.1+rc~1", "board-x")) + image);
    strata::UniqueFd in(::open((c.scratch + "/bundle").c_str(), O_RDONLY | O_CLOEXEC));
    SYS_CHECK(in.valid());
    UpdateOptions o = options(r);
    o.tries = 7;
    o.compatible = "board-x";
    auto res = strata::install_update(in.get(), partition(r), o, r.store);
    check_installed(r, res, image, "2.1+rc~1", 7, r.before.seq + 2);
    r.loop.detach();
  });
}

TEST(Update, AnImageFillingTheWholeSlotFits) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kSlotSize, 3);
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_installed(r, res, image, "2.0", 3, r.before.seq + 2);
    r.loop.detach();
  });
}

TEST(Update, ADeviceWithoutARecordYetIsUpdated) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    // A freshly flashed device: no copy at all reads as a good, running slot a.
    SYS_CHECK(::unlink(r.store.copy_path(0).c_str()) == 0 && ::unlink(r.store.copy_path(1).c_str()) == 0);
    r.before = strata::initial_slot_state();
    const std::string image = random_bytes(kImageSize, 4);
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_installed(r, res, image, "2.0", 3, 2);
    r.loop.detach();
  });
}

TEST(Update, UpdatingSlotAFromSlotB) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    // b runs (good, active); a is the target this time.
    SlotState s = factory_state();
    s.slot[1] = s.slot[0];
    s.slot[0] = strata::SlotInfo{SlotStatus::kTrial, 1, sha256("old a"), "0.9", std::nullopt};
    s.active = 1;
    set_record(r, s);
    const std::string image = random_bytes(kImageSize, 5);
    PipeFeed feed(bundle_of(image));
    UpdateTarget t = partition(r);
    t.slot = 0;
    t.running = 1;
    auto res = strata::install_update(feed.fd(), t, options(r), r.store);
    SYS_OK(res);
    SYS_CHECK(read_range(r.loop.path, 0, image.size()) == image);
    SYS_EQ(true, block_ro(r.loop.path));
    const auto now = r.store.read().state;
    SYS_EQ(0, now.active);
    SYS_EQ(std::string("trial"), std::string(strata::to_string(now.slot[0].status)));
    SYS_EQ(sha256(image), now.slot[0].image_id);
    SYS_CHECK(now.slot[1] == r.before.slot[1]);
    r.loop.detach();
  });
}

// ---- signatures ---------------------------------------------------------------------------

TEST(Update, SignedBundleAcceptedAndRefusedUnderAnotherKeyBeforeAnythingIsWritten) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const auto keys = strata::generate_keypair(), other = strata::generate_keypair();
    const std::string image = random_bytes(kImageSize, 6);
    const std::string bundle = bundle_of(image, keys.secret_hex);
    {
      PipeFeed feed(bundle);
      UpdateOptions o = options(r);
      o.policy.config_keys = {other.public_hex};
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      check_refused_untouched(r, res, {"bad signature", "[update] public_key", "nothing written"});
    }
    {
      PipeFeed feed(bundle);
      UpdateOptions o = options(r);
      o.policy.config_keys = {keys.public_hex};
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      check_installed(r, res, image, "2.0", 3, r.before.seq + 2);
    }
    r.loop.detach();
  });
}

TEST(Update, UnsignedBundleRefusedWhenAKeyIsRequired) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 7);
    PipeFeed feed(bundle_of(image));
    UpdateOptions o = options(r);
    o.policy.config_keys = {strata::generate_keypair().public_hex};
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_refused_untouched(r, res, {"the bundle is not signed", "requires a signature", "nothing written"});
    r.loop.detach();
  });
}

// ---- anti-rollback and key rotation (update_policy.h) --------------------------------------

// After an install: what the next refusal must leave untouched.
void after_install(Rig& r) {
  r.before = r.store.read().state;
  r.old = read_range(r.backing, 0, r.old.size());
}

std::string signed_bundle(const std::string& image, const Manifest& m, const std::vector<std::string>& secrets) {
  auto h = strata::make_bundle_header(m, secrets);
  if (!h) fail(__FILE__, __LINE__, "make_bundle_header: " + h.error().message());
  return *h + image;
}

TEST(Update, ADowngradeIsRefusedWithNothingWrittenUnlessAllowed) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);  // a runs 1.0
    const std::string image = random_bytes(kImageSize, 30);
    const std::string bundle = header_for(manifest_for(image, "0.9")) + image;
    {
      PipeFeed feed(bundle);
      auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
      check_refused_untouched(
          r, res,
          {"version '0.9' is older than '1.0', the version of slot a (running)", "allow_downgrade", "nothing written"});
    }
    PipeFeed feed(bundle);
    UpdateOptions o = options(r);
    o.policy.allow_downgrade = true;
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_installed(r, res, image, "0.9", 3, r.before.seq + 2);
    r.loop.detach();
  });
}

TEST(Update, MinVersionIsRaisedByAnUpdateAndHoldsAgainstDowngrades) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 31);
    Manifest m = manifest_for(image, "2.0");
    m.min_version = "1.5";
    {
      PipeFeed feed(signed_bundle(image, m, {}));
      auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
      check_installed(r, res, image, "2.0", 3, r.before.seq + 2);
    }
    SYS_EQ(std::string("1.5"), r.store.read().state.min_version);
    after_install(r);
    PipeFeed feed(header_for(manifest_for(image, "1.4")) + image);
    UpdateOptions o = options(r);
    o.policy.allow_downgrade = true;
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_refused_untouched(r, res, {"version '1.4' is older than '1.5', the minimum version", "nothing written"});
    r.loop.detach();
  });
}

TEST(Update, KeysRotateThroughUpdatesSignedByAKeyThatStays) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const auto k1 = strata::generate_keypair(), k2 = strata::generate_keypair();
    const std::string image = random_bytes(kImageSize, 32);
    UpdateOptions o = options(r);
    o.policy.config_keys = {k1.public_hex};
    auto install = [&](const Manifest& m, const std::vector<std::string>& secrets) {
      PipeFeed feed(signed_bundle(image, m, secrets));
      return strata::install_update(feed.fd(), partition(r), o, r.store);
    };
    // Rotate k2 in, signed by k1 (trusted, stays).
    Manifest m = manifest_for(image, "2.0");
    m.keys = {k1.public_hex, k2.public_hex};
    check_installed(r, install(m, {k1.secret_hex}), image, "2.0", 3, r.before.seq + 2);
    SYS_CHECK(r.store.read().state.keys == m.keys);
    // Remove k1: signed by k1 alone, refused; by k2, installed.
    after_install(r);
    m = manifest_for(image, "2.1");
    m.keys = {k2.public_hex};
    check_refused_untouched(r, install(m, {k1.secret_hex}), {"signed only by keys it removes", "nothing written"});
    check_installed(r, install(m, {k2.secret_hex}), image, "2.1", 3, r.before.seq + 2);
    SYS_CHECK(r.store.read().state.keys == m.keys);
    // k1 is no longer trusted, although [update] public_key still names it; k2 is.
    after_install(r);
    check_refused_untouched(r, install(manifest_for(image, "2.2"), {k1.secret_hex}),
                            {"signed by none of the 1 key set by an earlier update", "nothing written"});
    check_installed(r, install(manifest_for(image, "2.2"), {k2.secret_hex}), image, "2.2", 3, r.before.seq + 2);
    r.loop.detach();
  });
}

// ---- refusals after the target is marked bad ----------------------------------------------

TEST(Update, AWrongSha256LeavesTheTargetBad) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 8);
    std::string bundle = bundle_of(image);
    bundle[strata::kBundleHeaderSize + kImageSize / 2] ^= 1;  // one bit in the image, the manifest as it was
    PipeFeed feed(bundle);
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_refused_marked_bad(r, res,
                             {"the image's sha256 is", "the manifest says " + sha256(image), "the bundle is corrupt",
                              "slot b stays marked bad"});
    r.loop.detach();
  });
}

TEST(Update, AStreamCutShortLeavesTheTargetBad) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 9);
    // The writer closes after 2 MiB + 100 bytes of the image.
    PipeFeed feed(bundle_of(image).substr(0, strata::kBundleHeaderSize + 2 * kMiB + 100));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_refused_marked_bad(
        r, res, {"the bundle ended after 2097252 of 3145728 image bytes", "cut download?", "slot b stays marked bad"});
    r.loop.detach();
  });
}

TEST(Update, AStreamLongerThanTheManifestLeavesTheTargetBad) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 10);
    PipeFeed feed(bundle_of(image) + "trailing");
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_refused_marked_bad(
        r, res, {"the bundle holds more bytes than its manifest's size (3145728)", "slot b stays marked bad"});
    r.loop.detach();
  });
}

TEST(Update, AFailedSeedLeavesTheTargetBad) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 11);
    PipeFeed feed(bundle_of(image));
    UpdateOptions o = options(r);
    bool window_closed = false;
    o.seed_upper = [&](int, int) -> strata::Status {
      window_closed = block_ro(r.loop.path);
      return strata::plain_error("no space left for the upper");
    };
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    SYS_CHECK(window_closed);  // seeding runs with the slot read-only again
    check_refused_marked_bad(r, res,
                             {"cannot prepare slot b's upper: no space left for the upper", "slot b stays marked bad"});
    // The image itself was complete: only the record keeps it from booting.
    SYS_CHECK(read_range(r.loop.path, 0, image.size()) == image);
    r.loop.detach();
  });
}

// ---- refusals before anything is written ----------------------------------------------------

TEST(Update, AnImageLargerThanTheSlotIsRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kSlotSize + 1, 12);
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_refused_untouched(
        r, res,
        {"the image (8388609 bytes) is larger than slot b (8388608 bytes at " + r.loop.path + ")", "nothing written"});
    r.loop.detach();
  });
}

TEST(Update, TheRunningSlotOrNoSlotIsRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string bundle = bundle_of(random_bytes(kImageSize, 13));
    struct Case {
      int slot, running;
      std::vector<std::string> phrases;
    };
    const std::vector<Case> cases = {
        {1, 1, {"slot b is the running slot: an update writes the other slot", "nothing written"}},
        {0, 0, {"slot a is the running slot", "nothing written"}},
        {1, -1, {"cannot tell which slot is running", "nothing written"}},
        {0, 7, {"cannot tell which slot is running"}},
        {-1, 0, {"no target slot to write"}},
        {2, 0, {"no target slot to write"}},
    };
    for (const auto& k : cases) {
      PipeFeed feed(bundle);
      UpdateTarget t = partition(r);
      t.slot = k.slot;
      t.running = k.running;
      auto res = strata::install_update(feed.fd(), t, options(r), r.store);
      check_refused_untouched(r, res, k.phrases);
    }
    // Refused before even taking the lock.
    SYS_CHECK(!path_exists(r.lock));
    r.loop.detach();
  });
}

TEST(Update, AnotherBoardsBundleIsRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 14);
    {
      PipeFeed feed(header_for(manifest_for(image, "2.0", "board-x")) + image);
      UpdateOptions o = options(r);
      o.compatible = "board-y";
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      check_refused_untouched(
          r, res,
          {"the bundle is for 'board-x', this device takes 'board-y' ([update] compatible)", "nothing written"});
    }
    {
      // A bundle for any board, on a device that names its board.
      PipeFeed feed(bundle_of(image));
      UpdateOptions o = options(r);
      o.compatible = "board-y";
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      check_refused_untouched(r, res, {"the bundle is for '(any board)', this device takes 'board-y'"});
    }
    r.loop.detach();
  });
}

TEST(Update, GarbageAndTruncatedHeadersAreRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 15);
    struct Case {
      std::string stream;
      std::vector<std::string> phrases;
    };
    std::string wrong_size = header_for(manifest_for(image));
    wrong_size.replace(wrong_size.find("size="), 5, "SIZE=");
    const std::vector<Case> cases = {
        {random_bytes(strata::kBundleHeaderSize, 16) + image,
         {"not a valid bundle: bundle header: not a strata bundle", "nothing written"}},
        {wrong_size + image, {"not a valid bundle: bundle header:", "nothing written"}},
        {"strata-bundle 2\n" + std::string(strata::kBundleHeaderSize - 16, '\0') + image,
         {"not a valid bundle", "is not supported"}},
        {bundle_of(image).substr(0, 1000),
         {"the bundle ends inside its header (1000 bytes): not a strata bundle, or cut short", "nothing written"}},
        {bundle_of(image).substr(0, strata::kBundleHeaderSize - 1), {"ends inside its header (4095 bytes)"}},
        {"", {"the bundle ends inside its header (0 bytes)"}},
    };
    for (const auto& k : cases) {
      PipeFeed feed(k.stream);
      auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
      check_refused_untouched(r, res, k.phrases);
    }
    r.loop.detach();
  });
}

TEST(Update, ARunningSlotThatIsNotGoodIsRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string bundle = bundle_of(random_bytes(kImageSize, 17));
    // a runs on trial (just updated, not yet marked good), then a marked bad.
    for (SlotStatus st : {SlotStatus::kTrial, SlotStatus::kBad}) {
      SlotState s = factory_state();
      s.slot[0].status = st;
      s.slot[0].tries = st == SlotStatus::kTrial ? 2 : 0;
      s.slot[1] = strata::SlotInfo{SlotStatus::kGood, 0, sha256("b"), "1.5", std::nullopt};
      set_record(r, s);
      PipeFeed feed(bundle);
      auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
      check_refused_untouched(r, res,
                              {"slot a (running) is " + std::string(strata::to_string(st)) + ", not good",
                               "an update needs a good slot to fall back to", "strata mark-good", "nothing written"});
    }
    r.loop.detach();
  });
}

TEST(Update, AnUnreadableRecordIsRefused) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string c0 = bad_record_copy(r.store.copy_path(0)), c1 = bad_record_copy(r.store.copy_path(1));
    write_text(r.store.copy_path(0), c0);
    write_text(r.store.copy_path(1), c1);
    SYS_EQ(std::string("unreadable"), std::string(strata::to_string(r.store.read().health)));
    PipeFeed feed(bundle_of(random_bytes(kImageSize, 18)));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    SYS_CHECK(!res.ok());
    const std::string msg = res.error().message();
    for (const std::string& p :
         {std::string("the slot record cannot be read (") + r.store.copy_path(0),
          std::string("run `strata mark-good` on this working system"), std::string("nothing written")})
      SYS_CHECK_MSG(contains(msg, p), "'" + p + "' not in: " + msg);
    // Neither copy rewritten, nothing on the device, still read-only.
    SYS_EQ(c0, read_text(r.store.copy_path(0)));
    SYS_EQ(c1, read_text(r.store.copy_path(1)));
    SYS_CHECK(read_range(r.backing, 0, r.old.size()) == r.old);
    SYS_EQ(true, block_ro(r.loop.path));
    note("refused: " + msg);
    r.loop.detach();
  });
}

TEST(Update, ARecordWithOneTornCopyIsUpdatedAndRepaired) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    // A cut during the last record write tore one copy: the other still reads.
    write_text(r.store.copy_path(1), bad_record_copy(r.store.copy_path(1)));
    SYS_EQ(std::string("one copy"), std::string(strata::to_string(r.store.read().health)));
    const std::string image = random_bytes(kImageSize, 28);
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_installed(r, res, image, "2.0", 3, r.before.seq + 2);  // health ok: both copies rewritten
    r.loop.detach();
  });
}

// ---- interruptions and the lock ------------------------------------------------------------

TEST(Update, InterruptedBetweenChunksLeavesTheTargetBad) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 19);
    PipeFeed feed(bundle_of(image));
    UpdateOptions o = options(r);
    // "A signal arrives" once half the image is written: the next poll, after
    // the next chunk was read and before it is written, says so. Not tied to
    // the chunk size.
    bool half = false, open_when_interrupted = false;
    int polls = 0, polls_at_half = 0;
    o.crash_point = [&](const std::string& p) {
      if (p == "update-streamed-50") {
        half = true;
        polls_at_half = polls;
      }
    };
    o.interrupted = [&] {
      ++polls;
      if (!half) return false;
      open_when_interrupted = !block_ro(r.loop.path);
      return true;
    };
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    SYS_CHECK(open_when_interrupted);
    check_refused_marked_bad(r, res, {"interrupted by a signal", "slot b stays marked bad"});
    SYS_EQ(polls_at_half + 1, polls);  // it stopped at the first poll after
    // The device holds a prefix of the image (at least half of it, not all),
    // then the old bytes: the chunk read at the interruption was not written.
    const std::string dev = read_range(r.backing, 0, r.old.size());
    size_t k = 0;
    while (k < image.size() && dev[k] == image[k]) k++;
    note("interrupted after " + std::to_string(k) + " image bytes reached the device");
    SYS_CHECK(k >= image.size() / 2 && k < image.size());
    SYS_CHECK(dev.substr(k) == r.old.substr(k));
    r.loop.detach();
  });
}

TEST(Update, InterruptedWhileReadingTheHeaderWritesNothing) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    PipeFeed feed(bundle_of(random_bytes(kImageSize, 20)));
    UpdateOptions o = options(r);
    o.interrupted = [] { return true; };
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_refused_untouched(r, res, {"interrupted by a signal; nothing written"});
    r.loop.detach();
  });
}

namespace {
volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  g_signal = sig;
}
}  // namespace

TEST(Update, ASignalToTheUpdaterStopsItWhileTheDownloadHangs) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 21);
    // A slow download that hangs after 1.5 MiB of the image.
    PipeFeed feed(bundle_of(image),
                  {.chunk = 16 * 1024, .pause_us = 2000, .stall_after = strata::kBundleHeaderSize + 3 * kMiB / 2});
    Child updater([&](int report) {
      // As `strata update` does: no SA_RESTART, so the blocked read returns.
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(SIGTERM, &sa, nullptr);
      UpdateOptions o = options(r);
      o.interrupted = [] { return g_signal != 0; };
      o.crash_point = [&](const std::string& p) { say_line(report, p); };
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      say_line(report, res ? "done" : "refused: " + res.error().message());
      return 0;
    });
    for (std::string line; (line = updater.read_line()) != "update-streamed-25";)
      if (line.empty() || line == "done" || line.starts_with("refused")) fail(__FILE__, __LINE__, "got " + line);
    // The updater is blocked on the hung pipe (or about to be): signal it
    // until it gives up, as a signal just before read() is only seen by the next.
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      ::kill(updater.pid(), SIGTERM);
      gone = updater.exited_within(100, status);
    }
    SYS_CHECK(gone);
    SYS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::string last;
    for (std::string line; !(line = updater.read_line(1000)).empty();) last = line;
    SYS_EQ(std::string("refused: interrupted by a signal; slot b stays marked bad"), last);
    check_refused_marked_bad(r, strata::Result<UpdateResult>(strata::plain_error(last)), {"interrupted by a signal"});
    r.loop.detach();
  });
}

TEST(Update, ASignalWhileWaitingForTheEndOfTheStreamStopsIt) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    const std::string image = random_bytes(kImageSize, 27);
    // Every byte arrives, but the sender never closes: the updater waits for
    // the end of the stream (to refuse trailing bytes) when the signal comes.
    PipeFeed feed(bundle_of(image), {.hold_open = true});
    Child updater([&](int report) {
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(SIGTERM, &sa, nullptr);
      UpdateOptions o = options(r);
      o.interrupted = [] { return g_signal != 0; };
      o.crash_point = [&](const std::string& p) { say_line(report, p); };
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      say_line(report, res ? "done" : "refused: " + res.error().message());
      return 0;
    });
    for (std::string line; (line = updater.read_line()) != "update-streamed-75";)
      if (line.empty() || line == "done" || line.starts_with("refused")) fail(__FILE__, __LINE__, "got " + line);
    ::usleep(300 * 1000);  // the rest of the image is read by then: it waits for EOF
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      ::kill(updater.pid(), SIGTERM);
      gone = updater.exited_within(100, status);
    }
    SYS_CHECK(gone);
    SYS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::string after;
    for (std::string line; !(line = updater.read_line(1000)).empty();) after += line + "|";
    // Nothing past the stream: not synced, not verified, not put on trial.
    SYS_EQ(std::string("refused: interrupted by a signal; slot b stays marked bad|"), after);
    check_refused_marked_bad(r, strata::Result<UpdateResult>(strata::plain_error(after)), {"interrupted by a signal"});
    r.loop.detach();
  });
}

TEST(Update, AnotherHolderOfTheLockIsNamedAndNothingIsWritten) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    int cmd[2];
    SYS_CHECK(::pipe2(cmd, O_CLOEXEC) == 0);
    Child holder([&](int report) {
      ::close(cmd[1]);
      auto lock = strata::StorageLock::acquire(r.lock);
      say_line(report, lock ? "held" : "refused: " + lock.error().message());
      char b;
      while (::read(cmd[0], &b, 1) < 0 && errno == EINTR) {
      }
      return 0;
    });
    ::close(cmd[0]);
    SYS_EQ(std::string("held"), holder.read_line());
    const std::string image = random_bytes(kImageSize, 22);
    {
      PipeFeed feed(bundle_of(image));
      auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
      check_refused_untouched(r, res,
                              {"another update or remount is running (pid " + std::to_string(holder.pid()) + ", "});
    }
    ::close(cmd[1]);  // the holder lets go
    SYS_EQ(0, holder.wait());
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), options(r), r.store);
    check_installed(r, res, image, "2.0", 3, r.before.seq + 2);
    r.loop.detach();
  });
}

// ---- crash points ------------------------------------------------------------------------------

TEST(Update, CrashPointsComeInOrderWithTheStoreBetween) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    std::vector<std::string> points;
    r.store.crash_point = [&](const std::string& p) { points.push_back(p); };
    // At each point, what a cut there would leave.
    std::vector<std::string> seen;
    auto observe = [&](const std::string& p) {
      points.push_back(p);
      const auto s = r.store.read();
      seen.push_back(p + ": b " + strata::to_string(s.state.slot[1].status) + (block_ro(r.loop.path) ? " ro" : " rw"));
    };
    UpdateOptions o = options(r);
    o.crash_point = observe;
    const std::string first = random_bytes(kImageSize, 23);
    {
      PipeFeed feed(bundle_of(first));
      auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
      check_installed(r, res, first, "2.0", 3, r.before.seq + 2);
    }
    const std::vector<std::string> plain = {"state-update-begin-between-copies",
                                            "update-marked-bad",
                                            "update-window-open",
                                            "update-streamed-25",
                                            "update-streamed-50",
                                            "update-streamed-75",
                                            "update-streamed",
                                            "update-synced",
                                            "update-verified",
                                            "update-window-closed",
                                            "state-update-finish-between-copies",
                                            "update-done"};
    SYS_EQ(plain.size(), points.size());
    for (size_t i = 0; i < plain.size() && i < points.size(); ++i) SYS_EQ(plain[i], points[i]);
    const std::vector<std::string> states = {
        "update-marked-bad: b bad ro",  "update-window-open: b bad rw", "update-streamed-25: b bad rw",
        "update-streamed-50: b bad rw", "update-streamed-75: b bad rw", "update-streamed: b bad rw",
        "update-synced: b bad rw",      "update-verified: b bad rw",    "update-window-closed: b bad ro",
        "update-done: b trial ro",
    };
    SYS_EQ(states.size(), seen.size());
    for (size_t i = 0; i < states.size() && i < seen.size(); ++i) SYS_EQ(states[i], seen[i]);

    // Again over the trial b, now with seeding: it comes after the window closed.
    points.clear();
    seen.clear();
    o.seed_upper = [&](int from, int to) -> strata::Status {
      points.push_back("seed " + std::to_string(from) + "->" + std::to_string(to));
      return {};
    };
    r.before = r.store.read().state;
    const std::string second = random_bytes(kImageSize, 24);
    {
      write_file(c.scratch + "/bundle", header_for(manifest_for(second, "2.1")) + second);
      strata::UniqueFd in(::open((c.scratch + "/bundle").c_str(), O_RDONLY | O_CLOEXEC));
      auto res = strata::install_update(in.get(), partition(r), o, r.store);
      check_installed(r, res, second, "2.1", 3, r.before.seq + 2);
    }
    std::vector<std::string> seeded = plain;
    seeded.insert(seeded.end() - 2, {"seed 0->1", "update-seeded"});
    SYS_EQ(seeded.size(), points.size());
    for (size_t i = 0; i < seeded.size() && i < points.size(); ++i) SYS_EQ(seeded[i], points[i]);
    r.loop.detach();
  });
}

TEST(Update, ACutAtAnyPointLeavesTheTargetUnbootableUntilDone) {
  run_isolated(
      [](Ctx& c) {
        Rig r;
        make_rig(r, c);
        const std::string image = random_bytes(kImageSize, 25);
        const std::string bundle = bundle_of(image);
        const std::vector<std::string> cuts = {"update-marked-bad",    "update-window-open", "update-streamed-50",
                                               "update-streamed",      "update-synced",      "update-verified",
                                               "update-window-closed", "update-done"};
        for (const auto& cut : cuts) {
          // A boot: the slot read-only, the record as the factory left it.
          SYS_OK(strata::set_block_readonly(r.loop.path, true));
          set_record(r, factory_state());
          PipeFeed feed(bundle);
          Child updater([&](int) {
            UpdateOptions o = options(r);
            o.crash_point = [&](const std::string& p) {
              if (p == cut) ::_exit(42);  // a power cut: no cleanup at all
            };
            auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
            return res ? 0 : 1;
          });
          const int status = updater.wait();
          SYS_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 42, cut + ": status " + std::to_string(status));
          const auto s = r.store.read();
          SYS_EQ(std::string("ok"), std::string(strata::to_string(s.health)));
          const std::string b = strata::to_string(s.state.slot[1].status);
          SYS_EQ(cut + ": " + (cut == "update-done" ? "trial" : "bad"), cut + ": " + b);
          SYS_EQ(cut + ": active " + (cut == "update-done" ? "1" : "0"),
                 cut + ": active " + std::to_string(s.state.active));
          SYS_CHECK(s.state.slot[0] == r.before.slot[0]);
        }
        r.loop.detach();
      },
      60);
}

// ---- seeding the target's upper ------------------------------------------------------------------

TEST(Update, SeedingCopiesThePreservedPathsIntoTheTargetsUpper) {
  run_isolated([](Ctx& c) {
    Rig r;
    make_rig(r, c);
    // The data partition (ext4) where the per-slot uppers live.
    DataDisk disk = scratch_data_disk(c);
    const std::string root = c.scratch;
    const std::string upper_a = root + strata::data::kSlotUpperPrefix + "a";
    const std::string upper_b = root + strata::data::kSlotUpperPrefix + "b";
    mkdirs(upper_a + "/data/etc");
    mkdirs(upper_a + "/data/root");
    mkdirs(upper_a + "/work");
    write_text(upper_a + "/data/etc/hostname", "device-42\n");
    write_text(upper_a + "/data/etc/other", "not preserved\n");
    write_text(upper_a + "/data/root/x", "root's file\n");
    write_text(upper_a + ".lower-id", sha256("factory image") + "\n");
    // b's upper from the image it held before: replaced as a whole.
    mkdirs(upper_b + "/data/etc");
    mkdirs(upper_b + "/work");
    write_text(upper_b + "/data/etc/stale", "from the old b\n");
    write_text(upper_b + ".lower-id", sha256("old b") + "\n");
    const std::string listing_a = [&] {
      std::string out;
      for (const char* f : {"/data/etc/hostname", "/data/etc/other", "/data/root/x"}) out += f + read_text(upper_a + f);
      return out;
    }();

    std::vector<std::string> log;
    std::vector<std::string> points;
    UpdateOptions o = options(r);
    o.crash_point = [&](const std::string& p) { points.push_back(p); };
    o.seed_upper = [&](int from, int to) {
      strata::DataPartition dp(root, -1);
      return dp.seed_slot_upper(from, to, {"/etc/hostname", "/root"}, log);
    };
    const std::string image = random_bytes(kImageSize, 26);
    PipeFeed feed(bundle_of(image));
    auto res = strata::install_update(feed.fd(), partition(r), o, r.store);
    check_installed(r, res, image, "2.0", 3, r.before.seq + 2);

    SYS_EQ(std::string("device-42\n"), read_text(upper_b + "/data/etc/hostname"));
    SYS_EQ(std::string("root's file\n"), read_text(upper_b + "/data/root/x"));
    SYS_CHECK(!path_exists(upper_b + "/data/etc/other"));
    SYS_CHECK(!path_exists(upper_b + "/data/etc/stale"));
    SYS_CHECK(path_exists(upper_b + "/work"));
    SYS_CHECK(!path_exists(upper_b + ".lower-id"));
    SYS_CHECK(!path_exists(upper_b + ".seed"));
    // The running slot's upper is exactly as it was.
    std::string after_a;
    for (const char* f : {"/data/etc/hostname", "/data/etc/other", "/data/root/x"})
      after_a += f + read_text(upper_a + f);
    SYS_EQ(listing_a, after_a);
    SYS_EQ(sha256("factory image") + "\n", read_text(upper_a + ".lower-id"));
    SYS_CHECK(std::find(points.begin(), points.end(), "update-seeded") != points.end());
    std::string joined;
    for (const auto& l : log) joined += l + "\n";
    SYS_CHECK_MSG(contains(joined, "copied /etc/hostname into the new slot's upper") &&
                      contains(joined, "copied /root into the new slot's upper"),
                  joined);
    r.loop.detach();
  });
}

// ---- file slots ----------------------------------------------------------------------------------

namespace {

// The data partition (ext4 on a loop device) at <scratch>/run/strata/data,
// its slots/ directory bound read-only onto itself, slot a's image in it, and
// the record and lock where the device keeps them.
struct FileRig {
  DataDisk disk;
  std::string slots, slot_a, slot_b, lock, a_bytes;
  SlotStore store{""};
  SlotState before;
};

void make_file_rig(FileRig& f, const Ctx& c, int disk_mb = 32) {
  ::umask(022);
  if (auto e = setup_data_disk(f.disk, c.scratch + "/data.img", c.scratch + strata::data::kMount, disk_mb); !e.empty())
    fail(__FILE__, __LINE__, e);
  f.slots = c.scratch + strata::data::kSlotImages;
  f.slot_a = f.slots + "/slot-a.img";
  f.slot_b = f.slots + "/slot-b.img";
  mkdirs(f.slots);
  f.a_bytes = random_bytes(2 * kMiB, 30);
  write_file(f.slot_a, f.a_bytes);
  SYS_OK(strata::sys::bind_readonly(f.slots, f.slots, {}));
  SYS_EQ(true, mount_ro(f.slots));
  f.store = SlotStore(c.scratch + strata::data::kSlotState);
  SYS_OK(f.store.write(factory_state(), "setup"));
  f.before = f.store.read().state;
  f.lock = c.scratch + strata::paths::kLock;
}

UpdateTarget file_target(const FileRig& f) {
  UpdateTarget t;
  t.slot = 1;
  t.running = 0;
  t.file = true;
  t.path = f.slot_b;
  t.window = f.slots;
  return t;
}

}  // namespace

TEST(Update, FileSlotIsWrittenAndItsMountMadeReadOnlyAgain) {
  run_isolated([](Ctx& c) {
    FileRig f;
    make_file_rig(f, c);
    // An older, bigger image of b: replaced, not overwritten in place.
    SYS_OK(strata::set_mount_readonly(f.slots, false));
    write_file(f.slot_b, random_bytes(5 * kMiB, 31));
    SYS_OK(strata::set_mount_readonly(f.slots, true));

    const std::string image = random_bytes(kImageSize + 777, 32);
    PipeFeed feed(bundle_of(image));
    UpdateOptions o;
    o.lock_path = f.lock;
    std::vector<std::string> points;
    o.crash_point = [&](const std::string& p) {
      if (p == "update-window-open" || p == "update-window-closed")
        points.push_back(p + (mount_ro(f.slots) ? " ro" : " rw"));
    };
    auto res = strata::install_update(feed.fd(), file_target(f), o, f.store);
    SYS_OK(res);
    SYS_EQ(sha256(image), res->sha256);
    SYS_EQ(static_cast<uint64_t>(image.size()), res->bytes);
    SYS_CHECK_MSG(read_text(f.slot_b) == image, "slot-b.img does not hold the image");
    struct stat st {};
    SYS_CHECK(::stat(f.slot_b.c_str(), &st) == 0);
    SYS_EQ(static_cast<long>(image.size()), static_cast<long>(st.st_size));
    SYS_EQ(true, mount_ro(f.slots));
    SYS_EQ(EROFS, try_create(f.slots + "/x"));
    SYS_EQ(2u, points.size());
    SYS_EQ(std::string("update-window-open rw"), points.at(0));
    SYS_EQ(std::string("update-window-closed ro"), points.at(1));
    // The running slot's image and record are as they were.
    SYS_CHECK(read_text(f.slot_a) == f.a_bytes);
    const auto now = f.store.read();
    SYS_EQ(std::string("ok"), std::string(strata::to_string(now.health)));
    SYS_EQ(f.before.seq + 2, now.state.seq);
    SYS_EQ(1, now.state.active);
    SYS_EQ(std::string("trial"), std::string(strata::to_string(now.state.slot[1].status)));
    SYS_EQ(sha256(image), now.state.slot[1].image_id);
    SYS_CHECK(now.state.slot[0] == f.before.slot[0]);
    // Still durable after a "reboot" of the data partition.
    SYS_CHECK(::umount(f.slots.c_str()) == 0);
    if (auto e = remount_data_disk(f.disk); !e.empty()) fail(__FILE__, __LINE__, e);
    SYS_CHECK(read_text(f.slot_b) == image);
  });
}

TEST(Update, FileSlotLargerThanTheFreeSpaceIsRefusedBeforeWriting) {
  run_isolated([](Ctx& c) {
    FileRig f;
    make_file_rig(f, c, 16);
    struct statvfs vfs {};
    SYS_CHECK(::statvfs(f.slots.c_str(), &vfs) == 0);
    const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    Manifest m = manifest_for("x");
    m.size = free_bytes + kMiB;
    PipeFeed feed(header_for(m) + random_bytes(kMiB, 33));
    UpdateOptions o;
    o.lock_path = f.lock;
    auto res = strata::install_update(feed.fd(), file_target(f), o, f.store);
    SYS_CHECK(!res.ok());
    const std::string msg = res.error().message();
    SYS_CHECK_MSG(contains(msg, "not enough space for the image: it needs " + std::to_string(m.size) + " bytes on " +
                                    f.slots + ", " + std::to_string(free_bytes) + " are available") &&
                      contains(msg, "free " + std::to_string(m.size - free_bytes) + " bytes") &&
                      contains(msg, "nothing written"),
                  msg);
    note("refused: " + msg);
    SYS_CHECK(!path_exists(f.slot_b));
    SYS_EQ(true, mount_ro(f.slots));
    SYS_CHECK(f.store.read().state == f.before);
    SYS_CHECK(read_text(f.slot_a) == f.a_bytes);
  });
}

TEST(Update, FileSlotMayUseTheSpaceOfTheImageItReplaces) {
  run_isolated([](Ctx& c) {
    FileRig f;
    make_file_rig(f, c, 24);
    SYS_OK(strata::set_mount_readonly(f.slots, false));
    write_file(f.slot_b, random_bytes(6 * kMiB, 35));
    SYS_OK(strata::set_mount_readonly(f.slots, true));
    struct statvfs vfs {};
    SYS_CHECK(::statvfs(f.slots.c_str(), &vfs) == 0);
    const size_t free_bytes = static_cast<size_t>(vfs.f_bavail) * vfs.f_frsize;
    // More than is free, less than free plus the old image.
    const std::string image = random_bytes(free_bytes + 3 * kMiB, 36);
    PipeFeed feed(bundle_of(image));
    UpdateOptions o;
    o.lock_path = f.lock;
    auto res = strata::install_update(feed.fd(), file_target(f), o, f.store);
    SYS_OK(res);
    SYS_CHECK(read_text(f.slot_b) == image);
    SYS_EQ(true, mount_ro(f.slots));
    SYS_CHECK(read_text(f.slot_a) == f.a_bytes);
    SYS_EQ(std::string("trial"), std::string(strata::to_string(f.store.read().state.slot[1].status)));
  });
}

TEST(Update, FileSlotARefusalAfterMarkingClosesTheMount) {
  run_isolated([](Ctx& c) {
    FileRig f;
    make_file_rig(f, c);
    const std::string image = random_bytes(kImageSize, 34);
    PipeFeed feed(bundle_of(image).substr(0, strata::kBundleHeaderSize + kMiB + 5));
    UpdateOptions o;
    o.lock_path = f.lock;
    auto res = strata::install_update(feed.fd(), file_target(f), o, f.store);
    SYS_CHECK(!res.ok());
    SYS_CHECK_MSG(contains(res.error().message(), "the bundle ended after 1048581 of 3145728 image bytes"),
                  res.error().message());
    // The window closed although the image file was open for writing when it stopped.
    SYS_EQ(true, mount_ro(f.slots));
    SYS_EQ(EROFS, try_create(f.slots + "/x"));
    const auto now = f.store.read().state;
    SlotState expect = strata::begin_update(f.before, 1);
    expect.seq = f.before.seq + 1;
    SYS_CHECK(now == expect);
    SYS_CHECK(read_text(f.slot_a) == f.a_bytes);
  });
}

// ---- groups (bootloader = uboot): boot-b + root-b under one manifest -------------------

namespace {

constexpr size_t kBootSize = 2 * kMiB;  // the boot partition (boot-b)

// The rig plus slot b's boot partition, read-only as a booted device leaves it.
struct GroupRig {
  Rig r;
  std::string boot_backing, boot_old;
  RwLoop boot;
};

void make_group_rig(GroupRig& g, const Ctx& c) {
  make_rig(g.r, c);
  g.boot_backing = c.scratch + "/boot-b.img";
  g.boot_old = random_bytes(kBootSize, 77);
  write_file(g.boot_backing, g.boot_old);
  g.boot = attach_rw(g.boot_backing);
  SYS_OK(strata::set_block_readonly(g.boot.path, true));
}

UpdateTarget group_target(const GroupRig& g) {
  UpdateTarget t = partition(g.r);
  t.boot_path = g.boot.path;
  return t;
}

// A group bundle: the boot image, then the root, in that stream order unless `root_first`.
std::string group_bundle(const std::string& boot, const std::string& root, bool root_first = false) {
  Manifest m;
  m.version = "3.0";
  m.images = {{"boot", boot.size(), sha256(boot)}, {"root", root.size(), sha256(root)}};
  if (root_first) std::swap(m.images[0], m.images[1]);
  return header_for(m) + (root_first ? root + boot : boot + root);
}

// Neither partition written, both read-only, the record as before: a refusal before marking.
void check_group_untouched(GroupRig& g, const strata::Result<UpdateResult>& res,
                           const std::vector<std::string>& phrases) {
  check_refused_untouched(g.r, res, phrases);
  SYS_EQ(true, block_ro(g.boot.path));
  SYS_CHECK_MSG(read_range(g.boot_backing, 0, g.boot_old.size()) == g.boot_old, "the boot partition was written");
}

}  // namespace

TEST(Update, GroupWritesEachImageThenPutsTheGroupOnTrial) {
  run_isolated(
      [](Ctx& c) {
        GroupRig g;
        make_group_rig(g, c);
        const std::string boot = random_bytes(kMiB + 3, 41), root = random_bytes(kImageSize, 42);
        std::vector<std::string> seen;
        UpdateOptions o = options(g.r);
        o.crash_point = [&](const std::string& p) {
          const auto s = g.r.store.read();
          seen.push_back(p + ": b " + strata::to_string(s.state.slot[1].status) +
                         (block_ro(g.boot.path) ? " boot-ro" : " boot-rw") +
                         (block_ro(g.r.loop.path) ? " root-ro" : " root-rw"));
        };
        PipeFeed feed(group_bundle(boot, root), {.chunk = 40000});
        auto res = strata::install_update(feed.fd(), group_target(g), o, g.r.store);
        check_installed(g.r, res, root, "3.0", 3, g.r.before.seq + 2, boot.size() + root.size());
        SYS_EQ(2, res.value().images);
        SYS_CHECK_MSG(read_range(g.boot_backing, 0, boot.size()) == boot, "boot-b does not hold the boot image");
        SYS_CHECK_MSG(read_range(g.boot_backing, static_cast<off_t>(boot.size()), kBootSize - boot.size()) ==
                          g.boot_old.substr(boot.size()),
                      "bytes past the boot image changed");
        SYS_EQ(true, block_ro(g.boot.path));
        // The order: marked bad, the boot image through its window, the root
        // through its own, and only then the trial.
        const std::vector<std::string> want = {
            "update-marked-bad: b bad boot-ro root-ro",
            "update-boot-window-open: b bad boot-rw root-ro",
            "update-boot-streamed-25: b bad boot-rw root-ro",
            "update-boot-streamed-50: b bad boot-rw root-ro",
            "update-boot-streamed-75: b bad boot-rw root-ro",
            "update-boot-streamed: b bad boot-rw root-ro",
            "update-boot-synced: b bad boot-rw root-ro",
            "update-boot-verified: b bad boot-rw root-ro",
            "update-boot-window-closed: b bad boot-ro root-ro",
            "update-window-open: b bad boot-ro root-rw",
            "update-streamed-25: b bad boot-ro root-rw",
            "update-streamed-50: b bad boot-ro root-rw",
            "update-streamed-75: b bad boot-ro root-rw",
            "update-streamed: b bad boot-ro root-rw",
            "update-synced: b bad boot-ro root-rw",
            "update-verified: b bad boot-ro root-rw",
            "update-window-closed: b bad boot-ro root-ro",
            "update-done: b trial boot-ro root-ro",
        };
        SYS_EQ(want.size(), seen.size());
        for (size_t i = 0; i < want.size() && i < seen.size(); ++i) SYS_EQ(want[i], seen[i]);

        // Root first is a stream order too: each image still lands on its own partition.
        g.r.before = g.r.store.read().state;  // over the trial b, as a second update would
        const std::string boot2 = random_bytes(kMiB, 43), root2 = random_bytes(kImageSize, 44);
        PipeFeed feed2(group_bundle(boot2, root2, true));
        auto res2 = strata::install_update(feed2.fd(), group_target(g), options(g.r), g.r.store);
        check_installed(g.r, res2, root2, "3.0", 3, g.r.before.seq + 2, boot2.size() + root2.size());
        SYS_CHECK(read_range(g.boot_backing, 0, boot2.size()) == boot2);
        g.r.loop.detach();
        g.boot.detach();
      },
      60);  // two partitions written and read back: room on a loaded host
}

TEST(Update, GroupAndOneImageBundlesAreRefusedWhereTheyDoNotFit) {
  run_isolated(
      [](Ctx& c) {
        GroupRig g;
        make_group_rig(g, c);
        const std::string boot = random_bytes(kMiB, 45), root = random_bytes(kImageSize, 46);
        {  // bootloader = uboot: a root image alone would keep slot b's old kernel.
          PipeFeed feed(bundle_of(root));
          auto res = strata::install_update(feed.fd(), group_target(g), options(g.r), g.r.store);
          check_group_untouched(
              g, res,
              {"the bundle holds a root image only", "bootloader = uboot", "tools/mkbundle --boot", "nothing written"});
        }
        {  // bootloader = none: no per-slot kernel to write the boot image to.
          PipeFeed feed(group_bundle(boot, root));
          auto res = strata::install_update(feed.fd(), partition(g.r), options(g.r), g.r.store);
          check_group_untouched(g, res,
                                {"the bundle is a group with a boot image", "one fixed kernel", "nothing written"});
        }
        {  // A boot image larger than the boot partition.
          PipeFeed feed(group_bundle(random_bytes(kBootSize + 512, 47), root));
          auto res = strata::install_update(feed.fd(), group_target(g), options(g.r), g.r.store);
          check_group_untouched(
              g, res, {"the boot image (2097664 bytes) is larger than slot b's boot partition", "nothing written"});
        }
        g.r.loop.detach();
        g.boot.detach();
      },
      60);  // two partitions written and read back: room on a loaded host
}

TEST(Update, GroupWithABadBootImageStopsBeforeTheRootAndStaysBad) {
  run_isolated(
      [](Ctx& c) {
        GroupRig g;
        make_group_rig(g, c);
        const std::string boot = random_bytes(kMiB, 48), root = random_bytes(kImageSize, 49);
        std::string bundle = group_bundle(boot, root);
        bundle[strata::kBundleHeaderSize + 1000] ^= 0x01;  // one flipped bit in the boot image
        PipeFeed feed(bundle);
        auto res = strata::install_update(feed.fd(), group_target(g), options(g.r), g.r.store);
        check_refused_marked_bad(g.r, res, {"the boot image's sha256 is", "slot b stays marked bad"});
        SYS_EQ(true, block_ro(g.boot.path));
        // The root partition was never opened for writing.
        SYS_CHECK_MSG(read_range(g.r.backing, 0, g.r.old.size()) == g.r.old, "root-b was written");
        g.r.loop.detach();
        g.boot.detach();
      },
      60);  // two partitions written and read back: room on a loaded host
}
