// The RAUC backend's I/O (rauc_apply.h, what `strata rauc-backend` runs) on
// real loop devices: slot b's root and boot partitions, the slot record on a
// tmpfs and the bootloader state in libubootenv's layout on a third device
// (BootEnvStore, as with bootloader = uboot). An install in RAUC's order
// (set-state b bad, RAUC writes, set-primary b): the windows open only after
// the record and the bootloader state say b is bad, RAUC can write both
// partitions of a group (only the root with bootloader = none), and both are
// read-only again before the record and the bootloader state put b on trial.
#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "boot_env_store.h"
#include "harness.h"
#include "rauc_apply.h"
#include "rauc_backend.h"
#include "write_window.h"

using namespace systest;
using namespace strata;

namespace {

constexpr size_t kPart = 1 << 20;

bool ro(const std::string& dev) {
  auto r = block_readonly(dev);
  if (!r) fail(__FILE__, __LINE__, r.error().message());
  return *r;
}

// 0 when a 4 KiB write through a fresh fd reaches the device, else the errno (EPERM while BLKROSET).
int write_errno(const std::string& dev) {
  int fd = ::open(dev.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  std::memset(buf, 'r', sizeof buf);
  int e = ::pwrite(fd, buf, sizeof buf, 0) == static_cast<ssize_t>(sizeof buf) ? 0 : errno;
  ::close(fd);
  return e;
}

void zeros(const std::string& path, size_t size) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SYS_CHECK_MSG(fd >= 0, path + ": " + std::strerror(errno));
  SYS_CHECK(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  ::close(fd);
}

struct Board {
  RwLoop root, boot, bootstate;
  SlotStore store{""};
  std::vector<std::string> at_commit;  // what the bootloader-state writes found: "b bad: root-ro boot-rw"
};

void make_board(Board& b, const Ctx& c, bool group) {
  for (auto [loop, name] : {std::pair{&b.root, "root-b"}, {&b.boot, "boot-b"}, {&b.bootstate, "bootstate"}}) {
    zeros(c.scratch + "/" + name + ".img", kPart);
    *loop = attach_rw(c.scratch + "/" + name + ".img");
  }
  // strata-init leaves the slot not running read-only.
  SYS_OK(set_block_readonly(b.root.path, true));
  SYS_OK(set_block_readonly(b.boot.path, true));
  mount_tmpfs(c.scratch + "/state", "strata-state");
  b.store = SlotStore(c.scratch + "/state/slot-state");
  if (group) {
    const std::string dev = b.bootstate.path;
    SYS_OK(BootEnvStore(dev).write(boot_env_of(initial_slot_state())));
    b.store.bootloader_read = [dev](std::string& why) -> std::optional<BootEnv> {
      auto r = BootEnvStore(dev).read();
      if (!r) return why = r.error().message(), std::nullopt;
      return r->env;
    };
    b.store.bootloader_write = [dev, &b](const BootEnv& e) -> Status {
      b.at_commit.push_back(std::string("b ") + to_string(e.status[1]) + ": root-" + (ro(b.root.path) ? "ro" : "rw") +
                            " boot-" + (ro(b.boot.path) ? "ro" : "rw"));
      return BootEnvStore(dev).write(e);
    };
  }
  SYS_OK(b.store.write(initial_slot_state(), "setup"));
  b.at_commit.clear();
}

// One RAUC call as `strata rauc-backend` makes it on slot a.
void rauc(Board& b, bool group, std::vector<std::string> args) {
  auto reply = rauc_backend(b.store.read().state, {0, 1, group}, args);
  SYS_CHECK_MSG(static_cast<bool>(reply), reply ? "" : reply.error().message());
  std::vector<std::string> devices;
  if (reply->window != RaucWindow::kNone) {
    devices.push_back(b.root.path);
    if (reply->window_boot) devices.push_back(b.boot.path);
  }
  SYS_OK(apply_rauc_reply(*reply, devices, b.store, "rauc " + args[0]));
}

void install(bool group) {
  run_isolated([group](Ctx& c) {
    Board b;
    make_board(b, c, group);
    SYS_EQ(EPERM, write_errno(b.root.path));
    rauc(b, group, {"set-state", "b", "bad"});
    // RAUC writes: the root, and in a group the boot partition; never boot-b of a root-only board.
    SYS_EQ(0, write_errno(b.root.path));
    SYS_EQ(group ? 0 : EPERM, write_errno(b.boot.path));
    rauc(b, group, {"set-primary", "b"});
    SYS_EQ(true, ro(b.root.path));
    SYS_EQ(true, ro(b.boot.path));
    SYS_EQ(EPERM, write_errno(b.root.path));
    SYS_EQ(EPERM, write_errno(b.boot.path));
    const SlotState rec = b.store.read_record().state;
    SYS_EQ(std::string("trial"), std::string(to_string(rec.slot[1].status)));
    SYS_EQ(1, rec.active);
    if (!group) return;
    // The bootloader state: b bad while both were still read-only (opened after),
    // b on trial only once both were read-only again, first in U-Boot's order.
    const std::vector<std::string> want = {"b bad: root-ro boot-ro", "b trial: root-ro boot-ro"};
    SYS_EQ(want.size(), b.at_commit.size());
    for (size_t i = 0; i < want.size(); i++) SYS_EQ(want[i], b.at_commit[i]);
    auto env = BootEnvStore(b.bootstate.path).read();
    SYS_CHECK(env && env->env);
    SYS_EQ(1, env->env->first);
    SYS_EQ(1, env->env->tries[1]);
    SYS_EQ(std::string("trial"), std::string(to_string(env->env->status[1])));
  });
}

}  // namespace

TEST_GROUP(RaucApply){};

TEST(RaucApply, AGroupInstallOpensBootAndRootAfterMarkingBadAndClosesBothBeforeTheTrial) {
  install(true);
}

TEST(RaucApply, ARootInstallOpensTheRootOnly) {
  install(false);
}
