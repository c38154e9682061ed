// SlotStore on a real filesystem (an ext4 image on a read-write loop device,
// mounted at <scratch>/run/strata/data, and a tmpfs): missing copies, writes,
// power cuts between the two copies, corrupt, torn, truncated and stale
// copies, and the order in which the copies are written.
#include <CppUTest/TestHarness.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "data_image.h"
#include "data_layout.h"
#include "harness.h"
#include "slot_state.h"
#include "slot_store.h"

using namespace systest;
using strata::SlotReading;
using strata::SlotState;
using strata::SlotStatus;
using strata::SlotStore;
using strata::StateHealth;

namespace {

// Where the device keeps the record, below the scratch root.
std::string prefix_in(const Ctx& c) {
  return c.scratch + strata::data::kSlotState;
}

DataDisk data_disk(const Ctx& c) {
  return scratch_data_disk(c, 16);
}

// A reboot, as far as the data partition goes.
void remount(const DataDisk& d) {
  if (auto e = remount_data_disk(d); !e.empty()) fail(__FILE__, __LINE__, e);
}

const std::string kId = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// b updated to 2.0 and on trial: what `strata update` leaves.
SlotState updated(int tries = 3) {
  SlotState s = strata::finish_update(strata::begin_update(strata::initial_slot_state(), 1), 1, tries,
                                      {kId, "2.0", "", {}, std::nullopt});
  s.slot[0].version = "1.0";
  return s;
}

std::string health(StateHealth h) {
  return strata::to_string(h);
}

void mkdirs(const std::string& dir) {
  if (sh("mkdir -p " + quote(dir)) != 0) fail(__FILE__, __LINE__, "mkdir -p " + dir);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The state `s` as it should read back with sequence number `seq`.
SlotState with_seq(SlotState s, uint64_t seq) {
  s.seq = seq;
  return s;
}

void check_reads(const SlotStore& store, const SlotState& expect, StateHealth h) {
  const SlotReading r = store.read();
  SYS_EQ(health(h), health(r.health));
  SYS_CHECK_MSG(r.state == expect, "read " + strata::describe(r.state) + " seq " + std::to_string(r.state.seq) +
                                       ", expected " + strata::describe(expect) + " seq " + std::to_string(expect.seq) +
                                       " (" + r.detail + ")");
  if (h == StateHealth::kOk) SYS_EQ(std::string(""), r.detail);
}

// A copy's bytes changed by hand.
void flip_byte(const std::string& path, size_t at) {
  std::string bytes = read_text(path);
  SYS_CHECK_MSG(at < bytes.size(), path);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
  write_text(path, bytes);
}

// Runs store.write(state, what) in a forked child whose crash point at
// `point` ends it as a power cut would (no cleanup, no second copy).
void write_cut_at(const std::string& prefix, const SlotState& state, const std::string& what,
                  const std::string& point) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = ::fork();
  if (pid == 0) {
    SlotStore cut(prefix);
    cut.crash_point = [&](const std::string& p) {
      if (p == point) ::_exit(42);
    };
    auto s = cut.write(state, what);
    ::_exit(s.ok() ? 0 : 1);
  }
  int status = 0;
  SYS_CHECK(::waitpid(pid, &status, 0) == pid);
  SYS_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 42,
                "the write did not stop at " + point + " (status " + std::to_string(status) + ")");
}

// Both copies as they are now.
struct Copies {
  std::string c0, c1;
};
Copies copies(const SlotStore& store) {
  return {read_text(store.copy_path(0)), read_text(store.copy_path(1))};
}

}  // namespace

TEST_GROUP(SlotStore){};

TEST(SlotStore, MissingIsANewDevice) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_EQ(prefix_in(c) + ".0", store.copy_path(0));
    SYS_EQ(prefix_in(c) + ".1", store.copy_path(1));
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kMissing), health(r.health));
    SYS_CHECK(r.state == strata::initial_slot_state());
    SYS_EQ(std::string(""), r.detail);
    SYS_CHECK(!path_exists(store.copy_path(0)));  // reading creates nothing
  });
}

TEST(SlotStore, WriteThenRead) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    std::vector<std::string> points;
    store.crash_point = [&](const std::string& p) { points.push_back(p); };
    SYS_OK(store.write(updated(), "update-finished"));
    SYS_EQ(1u, points.size());
    SYS_EQ(std::string("state-update-finished-between-copies"), points.at(0));

    check_reads(store, with_seq(updated(), 1), StateHealth::kOk);
    // Each copy is one block, exactly what serialize makes, mode 0644.
    const std::string expect = strata::serialize_slot_state(with_seq(updated(), 1));
    for (int i = 0; i < 2; ++i) {
      SYS_EQ(expect, read_text(store.copy_path(i)));
      struct stat st {};
      SYS_CHECK(::stat(store.copy_path(i).c_str(), &st) == 0);
      SYS_EQ(static_cast<long>(strata::kSlotRecordSize), static_cast<long>(st.st_size));
      SYS_EQ(0644, static_cast<int>(st.st_mode & 07777));
    }
    // Durable: the same after a "reboot".
    remount(disk);
    check_reads(store, with_seq(updated(), 1), StateHealth::kOk);
  });
}

TEST(SlotStore, WorksOnTmpfsToo) {
  run_isolated([](Ctx& c) {
    mount_tmpfs(c.scratch + "/state", "strata-slots");
    SlotStore store(c.scratch + "/state/slots");
    SYS_OK(store.write(updated(), "update-finished"));
    check_reads(store, with_seq(updated(), 1), StateHealth::kOk);
  });
}

TEST(SlotStore, SeqIsTheNewestPlusOne) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    // Whatever seq the caller's state carries, the store counts on from flash.
    SYS_OK(store.write(with_seq(updated(3), 77), "update-finished"));
    check_reads(store, with_seq(updated(3), 1), StateHealth::kOk);
    SYS_OK(store.write(updated(2), "trial-decrement"));
    check_reads(store, with_seq(updated(2), 2), StateHealth::kOk);
    SYS_OK(store.write(updated(1), "trial-decrement"));
    check_reads(store, with_seq(updated(1), 3), StateHealth::kOk);
    remount(disk);
    SYS_OK(store.write(updated(0), "trial-decrement"));
    check_reads(store, with_seq(updated(0), 4), StateHealth::kOk);
  });
}

TEST(SlotStore, ACutBetweenCopiesKeepsTheNewStateInTheFirstCopy) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    const std::string prefix = prefix_in(c);
    SlotStore store(prefix);
    SYS_OK(store.write(updated(3), "update-finished"));  // seq 1 in both
    const Copies before = copies(store);

    write_cut_at(prefix, updated(2), "trial-decrement", "state-trial-decrement-between-copies");
    remount(disk);
    // Equal copies: .0 counts as the newer, so .1 was written first.
    const Copies after = copies(store);
    SYS_CHECK(after.c0 == before.c0);
    SYS_EQ(strata::serialize_slot_state(with_seq(updated(2), 2)), after.c1);
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK_MSG(r.state == with_seq(updated(2), 2), strata::describe(r.state));
    SYS_CHECK_MSG(contains(r.detail, store.copy_path(0) + ": older (seq 1"), r.detail);
    SYS_CHECK_MSG(contains(r.detail, "using .1 (seq 2)"), r.detail);

    // The next write brings both copies up to date.
    SYS_OK(store.write(updated(1), "trial-decrement"));
    check_reads(store, with_seq(updated(1), 3), StateHealth::kOk);
  });
}

TEST(SlotStore, ACutInTheFirstWriteEverLeavesOneCopy) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    const std::string prefix = prefix_in(c);
    write_cut_at(prefix, updated(), "update-finished", "state-update-finished-between-copies");
    remount(disk);
    SlotStore store(prefix);
    SYS_CHECK(!path_exists(store.copy_path(1)));
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(updated(), 1));
    SYS_CHECK_MSG(contains(r.detail, store.copy_path(1) + ": missing; using .0 (seq 1)"), r.detail);
  });
}

TEST(SlotStore, ACrashPointThatThrowsLeavesTheFirstCopyWritten) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(3), "update-finished"));
    store.crash_point = [](const std::string& p) { throw p; };
    std::string thrown;
    try {
      (void)store.write(updated(2), "trial-decrement");
    } catch (const std::string& p) {
      thrown = p;
    }
    SYS_EQ(std::string("state-trial-decrement-between-copies"), thrown);
    SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(updated(2), 2));
  });
}

TEST(SlotStore, TheFirstCopyWrittenIsTheOneWithoutTheNewestRecord) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    const std::string prefix = prefix_in(c);
    SlotStore store(prefix);
    SYS_OK(store.write(updated(3), "update-finished"));  // seq 1, 1

    // .1 newest (seq 2), .0 older: the next write goes to .0 first.
    write_cut_at(prefix, updated(2), "trial-decrement", "state-trial-decrement-between-copies");
    Copies before = copies(store);
    SYS_CHECK(store.read().state.seq == 2);
    write_cut_at(prefix, updated(1), "trial-decrement", "state-trial-decrement-between-copies");
    Copies after = copies(store);
    SYS_CHECK_MSG(after.c1 == before.c1, ".1 (the newest) was touched");
    SYS_EQ(strata::serialize_slot_state(with_seq(updated(1), 3)), after.c0);

    // Now .0 is newest (seq 3), .1 older (seq 2): .1 must be the one updated.
    before = after;
    write_cut_at(prefix, updated(0), "trial-decrement", "state-trial-decrement-between-copies");
    after = copies(store);
    SYS_CHECK_MSG(after.c0 == before.c0, ".0 (the newest) was touched");
    SYS_EQ(strata::serialize_slot_state(with_seq(updated(0), 4)), after.c1);
    remount(disk);
    check_reads(store, with_seq(updated(0), 4), StateHealth::kOneCopy);

    // A corrupt .0 beside a valid .1: .0 is rewritten first.
    flip_byte(store.copy_path(0), 20);
    before = copies(store);
    write_cut_at(prefix, updated(3), "again", "state-again-between-copies");
    after = copies(store);
    SYS_CHECK(after.c1 == before.c1);
    SYS_EQ(strata::serialize_slot_state(with_seq(updated(3), 5)), after.c0);
  });
}

TEST(SlotStore, ACorruptCopyLosesToTheOther) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));
    for (int bad = 0; bad < 2; ++bad) {
      SYS_OK(store.write(updated(), "update-finished"));
      const uint64_t seq = store.read().state.seq;
      flip_byte(store.copy_path(bad), 100);
      remount(disk);
      const SlotReading r = store.read();
      SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
      SYS_CHECK(r.state == with_seq(updated(), seq));
      const std::string expect = store.copy_path(bad) + ": bad CRC (torn write?); using ." + std::to_string(1 - bad) +
                                 " (seq " + std::to_string(seq) + ")";
      SYS_EQ(expect, r.detail);
    }
  });
}

TEST(SlotStore, BothCorruptIsUnreadable) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));
    flip_byte(store.copy_path(0), 30);
    write_text(store.copy_path(1), std::string(strata::kSlotRecordSize, '\xff'));  // erased flash
    remount(disk);
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kUnreadable), health(r.health));
    SYS_CHECK(r.state == strata::initial_slot_state());
    SYS_EQ(store.copy_path(0) + ": bad CRC (torn write?); " + store.copy_path(1) +
               ": not a slot state record (no 'strata-slots' line)",
           r.detail);

    // One corrupt, one missing: still unreadable, not a new device.
    SYS_CHECK(::unlink(store.copy_path(1).c_str()) == 0);
    const SlotReading r2 = store.read();
    SYS_EQ(health(StateHealth::kUnreadable), health(r2.health));
    SYS_CHECK_MSG(contains(r2.detail, store.copy_path(1) + ": missing"), r2.detail);
  });
}

// `s` as a strata before format 2 wrote it: 512 bytes, no min_version or keys lines.
std::string format1_bytes(const SlotState& s) {
  std::string text = strata::serialize_slot_state(s);
  text = text.substr(0, text.find("min_version "));
  text.replace(0, std::string("strata-slots 2").size(), "strata-slots 1");
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()));
  char line[32];
  std::snprintf(line, sizeof line, "crc32 %08lx\n", crc);
  text += line;
  text.resize(strata::kSlotRecordSizeV1, '\0');
  return text;
}

TEST(SlotStore, AFormat1RecordIsReadAndUpgradedOnTheNextWrite) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));  // makes the directory
    for (int i = 0; i < 2; ++i) write_text(store.copy_path(i), format1_bytes(with_seq(updated(), 7)));
    remount(disk);
    check_reads(store, with_seq(updated(), 7), StateHealth::kOk);

    // Cut between the copies of the first write: one format-2 copy, one format-1; the newer wins.
    SlotState good = *strata::mark_good(updated(), 1);
    good.min_version = "2.0";
    write_cut_at(prefix_in(c), good, "mark-good", "state-mark-good-between-copies");
    remount(disk);
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(good, 8));
    struct stat st {};
    int sizes[2];
    for (int i = 0; i < 2; ++i) {
      SYS_CHECK(::stat(store.copy_path(i).c_str(), &st) == 0);
      sizes[i] = static_cast<int>(st.st_size);
    }
    SYS_CHECK_MSG((sizes[0] == 512) != (sizes[1] == 512), std::to_string(sizes[0]) + " " + std::to_string(sizes[1]));

    // The next write makes both copies format 2.
    store.crash_point = [](const std::string&) {};
    SYS_OK(store.write(good, "mark-good"));
    for (int i = 0; i < 2; ++i) {
      SYS_CHECK(::stat(store.copy_path(i).c_str(), &st) == 0);
      SYS_EQ(static_cast<long>(strata::kSlotRecordSize), static_cast<long>(st.st_size));
    }
    check_reads(store, with_seq(good, 9), StateHealth::kOk);
  });
}

TEST(SlotStore, ATruncatedCopyLosesToTheOther) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));
    SYS_CHECK(::truncate(store.copy_path(0).c_str(), 100) == 0);
    remount(disk);
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(updated(), 1));
    SYS_EQ(store.copy_path(0) + ": truncated (100 of 4096 bytes); using .1 (seq 1)", r.detail);
    // An empty copy too.
    SYS_CHECK(::truncate(store.copy_path(0).c_str(), 0) == 0);
    SYS_CHECK_MSG(contains(store.read().detail, "truncated (0 of 4096 bytes)"), store.read().detail);
  });
}

TEST(SlotStore, ANewerCopyWithABadCrcLosesToAnOlderValidOne) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    // .0: seq 5, valid; .1: seq 6, torn in its version field. Then the other way round.
    mkdirs(c.scratch + strata::data::kTop);
    for (int newer = 0; newer < 2; ++newer) {
      std::string torn = strata::serialize_slot_state(with_seq(updated(2), 6));
      const size_t at = torn.find("version=2.0") + 8;
      torn[at] = '3';
      write_text(store.copy_path(newer), torn);
      write_text(store.copy_path(1 - newer), strata::serialize_slot_state(with_seq(updated(3), 5)));
      const SlotReading r = store.read();
      SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
      SYS_CHECK_MSG(r.state == with_seq(updated(3), 5), strata::describe(r.state));
      SYS_EQ(store.copy_path(newer) + ": bad CRC (torn write?); using ." + std::to_string(1 - newer) + " (seq 5)",
             r.detail);
      // The next write counts on from the valid copy, over the torn one first.
      SYS_OK(store.write(updated(1), "trial-decrement"));
      check_reads(store, with_seq(updated(1), 6), StateHealth::kOk);
    }
  });
}

TEST(SlotStore, AWriteRepairsBothCopies) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(3), "update-finished"));
    // One copy corrupt, then the other.
    flip_byte(store.copy_path(1), 40);
    SYS_OK(store.write(updated(2), "trial-decrement"));
    check_reads(store, with_seq(updated(2), 2), StateHealth::kOk);
    flip_byte(store.copy_path(0), 40);
    SYS_OK(store.write(updated(1), "trial-decrement"));
    check_reads(store, with_seq(updated(1), 3), StateHealth::kOk);
    // A copy grown past a block (appended garbage) is cut back to one.
    write_text(store.copy_path(0), strata::serialize_slot_state(with_seq(updated(1), 3)) + "garbage");
    SYS_CHECK_MSG(contains(store.read().detail, "too long (4103 bytes"), store.read().detail);
    SYS_OK(store.write(updated(0), "trial-decrement"));
    check_reads(store, with_seq(updated(0), 4), StateHealth::kOk);
    // Both unreadable: `strata mark-good` writes a fresh record, counting from 1.
    flip_byte(store.copy_path(0), 40);
    flip_byte(store.copy_path(1), 41);
    SYS_EQ(health(StateHealth::kUnreadable), health(store.read().health));
    SYS_OK(store.write(strata::initial_slot_state(), "mark-good"));
    remount(disk);
    check_reads(store, with_seq(strata::initial_slot_state(), 1), StateHealth::kOk);
  });
}

TEST(SlotStore, CopiesThatDifferWithTheSameSeq) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    mkdirs(c.scratch + strata::data::kTop);
    write_text(store.copy_path(0), strata::serialize_slot_state(with_seq(updated(3), 9)));
    write_text(store.copy_path(1), strata::serialize_slot_state(with_seq(updated(2), 9)));
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(updated(3), 9));
    SYS_CHECK_MSG(contains(r.detail, "differ with the same seq 9; using .0 (seq 9)"), r.detail);
  });
}

TEST(SlotStore, ACopyThatCannotBeReadCountsAsInvalid) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));
    // A directory where .1 should be: read(2) fails with EISDIR.
    SYS_CHECK(::unlink(store.copy_path(1).c_str()) == 0);
    mkdirs(store.copy_path(1));
    const SlotReading r = store.read();
    SYS_EQ(health(StateHealth::kOneCopy), health(r.health));
    SYS_CHECK(r.state == with_seq(updated(), 1));
    SYS_CHECK_MSG(contains(r.detail, store.copy_path(1) + ": cannot be "), r.detail);
    SYS_CHECK_MSG(contains(r.detail, "Is a directory"), r.detail);
    // Writing it fails with errno and the path; the valid copy is left as it was.
    const std::string before = read_text(store.copy_path(0));
    const strata::Status s = store.write(updated(2), "trial-decrement");
    SYS_CHECK(!s.ok());
    SYS_EQ(EISDIR, s.error().err);
    SYS_CHECK_MSG(contains(s.error().message(), store.copy_path(1)), s.error().message());
    SYS_EQ(before, read_text(store.copy_path(0)));
  });
}

TEST(SlotStore, WriteRefusesAStateThatWouldNotReadBack) {
  run_isolated([](Ctx& c) {
    auto disk = data_disk(c);
    SlotStore store(prefix_in(c));
    SYS_OK(store.write(updated(), "update-finished"));
    const Copies before = copies(store);
    SlotState bad = updated();
    bad.slot[1].version = "2.0 beta";
    strata::Status s = store.write(bad, "update-finished");
    SYS_CHECK(!s.ok());
    SYS_CHECK_MSG(contains(s.error().message(), "refusing to write the slot state"), s.error().message());
    SYS_CHECK_MSG(contains(s.error().message(), "character outside"), s.error().message());
    bad = updated();
    bad.slot[1].tries = strata::kMaxTries + 1;
    SYS_CHECK(!store.write(bad, "update-finished").ok());
    bad = updated();
    bad.active = 3;
    SYS_CHECK(!store.write(bad, "update-finished").ok());
    const Copies after = copies(store);
    SYS_CHECK(after.c0 == before.c0 && after.c1 == before.c1);
  });
}

TEST(SlotStore, WriteErrorsCarryErrnoAndThePath) {
  run_isolated([](Ctx& c) {
    const std::string dir = c.scratch + "/ro";
    mount_tmpfs(dir, "strata-slots");
    SlotStore store(dir + "/slots");
    SYS_OK(store.write(updated(), "update-finished"));
    SYS_CHECK(::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    const strata::Status s = store.write(updated(2), "trial-decrement");
    SYS_CHECK(!s.ok());
    SYS_EQ(EROFS, s.error().err);
    SYS_CHECK_MSG(contains(s.error().message(), dir + "/slots."), s.error().message());
    SYS_CHECK_MSG(contains(s.error().message(), "Read-only file system"), s.error().message());
    check_reads(store, with_seq(updated(), 1), StateHealth::kOk);
  });
}
