// The slot state on flash: two copies, each one block written in place.
// No rename: on vfat it is not atomic, and a block-sized pwrite at offset 0
// changes no metadata once the file exists (a 512-byte format-1 copy grows
// once, when it is first rewritten as format 2). A torn copy fails its CRC and
// the other copy, untouched while it was written, is read instead.
#include "slot_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "log.h"
#include "sys.h"

namespace strata {

namespace {

struct Copy {
  enum Kind { kMissing, kInvalid, kValid } kind = kMissing;
  std::string why;  // kInvalid: what is wrong with it
  SlotState state;  // kValid
};

Copy read_copy(const std::string& path) {
  Copy c;
  auto fd = sys::open(path, O_RDONLY);
  if (!fd) {
    if (fd.error().err == ENOENT) return c;
    c.kind = Copy::kInvalid;
    c.why = std::string("cannot be opened: ") + std::strerror(fd.error().err);
    return c;
  }
  // One byte past two records is enough to tell "too long" from a record.
  std::string bytes(2 * kSlotRecordSize + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd->get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      c.kind = Copy::kInvalid;
      c.why = std::string("cannot be read: ") + std::strerror(errno);
      return c;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  auto parsed = parse_slot_state(bytes);
  if (!parsed) {
    c.kind = Copy::kInvalid;
    c.why = parsed.error().message();
    return c;
  }
  c.kind = Copy::kValid;
  c.state = std::move(*parsed);
  return c;
}

// The copy holding the newest valid record, -1 when none is valid. On equal
// seqs .0 counts as the newer: read() uses it and write() rewrites .1 first.
int newest_valid(const Copy (&c)[2]) {
  const bool v0 = c[0].kind == Copy::kValid, v1 = c[1].kind == Copy::kValid;
  if (v0 && v1) return c[1].state.seq > c[0].state.seq ? 1 : 0;
  if (v0) return 0;
  if (v1) return 1;
  return -1;
}

std::string copy_problem(const Copy& c) {
  return c.kind == Copy::kMissing ? "missing" : c.why;
}

std::string suffix(int i) {
  return "." + std::to_string(i);
}

// One copy: the whole block at offset 0, then fsync; the directory too when
// the file is new, so the copy's name is as durable as its bytes.
Status write_copy(const std::string& path, const std::string& bytes) {
  const std::string dir = sys::parent_of(path);
  if (!sys::is_dir(dir)) {
    if (auto s = sys::mkdir_p(dir); !s) return s;
    if (auto s = sys::fsync_path(sys::parent_of(dir)); !s) return s;
  }
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  auto fd = sys::open(path, O_WRONLY | O_CREAT, 0644);
  if (!fd) return fd.error();
  LOGD("pwrite(%s, %zu bytes at 0)", path.c_str(), bytes.size());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd->get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write slot state copy " + path);
    if (n == 0) return plain_error("write slot state copy " + path + ": no progress");
    done += static_cast<size_t>(n);
  }
  // Only a file that somehow grew past a record needs its tail cut.
  if (::fstat(fd->get(), &st) != 0) return errno_error("fstat " + path);
  if (st.st_size > static_cast<off_t>(bytes.size()) && ::ftruncate(fd->get(), static_cast<off_t>(bytes.size())) != 0)
    return errno_error("truncate slot state copy " + path);
  if (::fsync(fd->get()) != 0) return errno_error("fsync slot state copy " + path);
  if (!existed) return sys::fsync_path(dir);
  return {};
}

}  // namespace

SlotReading SlotStore::read() const {
  SlotReading r = read_record();
  if (!bootloader_read || r.health == StateHealth::kUnavailable) return r;
  // bootloader = uboot: the bootloader's order, statuses and tries count.
  std::string why;
  if (auto e = bootloader_read(why))
    r.state = with_boot_env(r.state, *e);
  else
    r.detail += (r.detail.empty() ? "" : "; ") + why + "; the record's slot states are used";
  return r;
}

SlotReading SlotStore::read_record() const {
  Copy c[2] = {read_copy(copy_path(0)), read_copy(copy_path(1))};
  SlotReading r;
  const int n = newest_valid(c);
  if (n < 0) {
    if (c[0].kind == Copy::kMissing && c[1].kind == Copy::kMissing) {
      r.health = StateHealth::kMissing;
      return r;
    }
    r.health = StateHealth::kUnreadable;
    r.detail = copy_path(0) + ": " + copy_problem(c[0]) + "; " + copy_path(1) + ": " + copy_problem(c[1]);
    return r;
  }
  r.state = c[n].state;
  const int o = other_slot(n);
  const std::string using_it = "; using " + suffix(n) + " (seq " + std::to_string(c[n].state.seq) + ")";
  if (c[o].kind != Copy::kValid) {
    r.health = StateHealth::kOneCopy;
    r.detail = copy_path(o) + ": " + copy_problem(c[o]) + using_it;
  } else if (c[o].state.seq != c[n].state.seq) {
    r.health = StateHealth::kOneCopy;
    r.detail = copy_path(o) + ": older (seq " + std::to_string(c[o].state.seq) + ", a write was cut short?)" + using_it;
  } else if (c[o].state != c[n].state) {
    r.health = StateHealth::kOneCopy;
    r.detail =
        copy_path(0) + " and " + suffix(1) + " differ with the same seq " + std::to_string(c[n].state.seq) + using_it;
  } else {
    r.health = StateHealth::kOk;
  }
  return r;
}

Status SlotStore::write(SlotState state, const std::string& what) {
  Copy c[2] = {read_copy(copy_path(0)), read_copy(copy_path(1))};
  const int n = newest_valid(c);
  const uint64_t newest_seq = n < 0 ? 0 : c[n].state.seq;
  if (newest_seq == std::numeric_limits<uint64_t>::max())
    return plain_error("slot state seq " + std::to_string(newest_seq) + " cannot grow");
  state.seq = newest_seq + 1;

  // Never put on flash what would not read back as the same state.
  const std::string bytes = serialize_slot_state(state);
  auto back = parse_slot_state(bytes);
  if (!back)
    return plain_error("refusing to write the slot state (" + describe(state) + "): " + back.error().message());
  if (*back != state)
    return plain_error("refusing to write the slot state (" + describe(state) + "): it would read back as " +
                       describe(*back));

  // The copy holding the newest valid record stays untouched until the other is durable.
  const int first = n < 0 ? 0 : other_slot(n);
  if (auto s = write_copy(copy_path(first), bytes); !s) return s;
  crash_point("state-" + what + "-between-copies");
  if (auto s = write_copy(copy_path(other_slot(first)), bytes); !s) return s;
  if (!bootloader_write) return {};
  // The bootloader state last: it decides what boots, so its write commits the change.
  crash_point("state-" + what + "-before-bootloader");
  if (auto s = bootloader_write(boot_env_of(state)); !s)
    return plain_error("the slot record is written but the bootloader state is not (" + s.error().message() +
                       "): the bootloader boots by its state as it was; `strata status` shows both");
  return {};
}

}  // namespace strata
