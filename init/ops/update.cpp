#include "update.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "bundle.h"
#include "sha256.h"
#include "slot_store.h"
#include "stream_writer.h"
#include "sys.h"
#include "write_window.h"

namespace strata {
namespace {

constexpr size_t kChunk = 256 << 10;  // big enough for the device to stream, small enough for a board's RAM
constexpr size_t kDepth = 8;          // chunks in flight between reading, hashing and writing (2 MiB)

// Reads until `size` bytes or end of input; a signal (EINTR) ends it early
// so the caller can look at `interrupted`.
Result<size_t> read_some(int fd, char* buf, size_t size, const UpdateOptions& o) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR && !o.interrupted()) continue;
      if (errno == EINTR) break;
      return errno_error("read the bundle");
    }
    got += static_cast<size_t>(n);
  }
  return got;
}

// The bytes a slot can hold.
Result<uint64_t> slot_capacity(const UpdateTarget& t) {
  if (t.capacity) return t.capacity;
  if (!t.file) {
    auto fd = sys::open(t.path, O_RDONLY | O_CLOEXEC);
    if (!fd) return fd.error();
    uint64_t bytes = 0;
    if (::ioctl(fd->get(), BLKGETSIZE64, &bytes) != 0) return errno_error("BLKGETSIZE64 " + t.path);
    return bytes;
  }
  // A file slot: the free space, plus what the old image gives back.
  struct statvfs vfs {};
  if (::statvfs(t.window.c_str(), &vfs) != 0) return errno_error("statvfs " + t.window);
  uint64_t bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  struct stat st {};
  if (::stat(t.path.c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  return bytes;
}

// Hashes `size` bytes of what is on the storage now, not in the page cache.
Result<std::string> read_back(const std::string& path, uint64_t size, bool device, const UpdateOptions& o,
                              const std::string& phase) {
  auto fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (!fd) return fd.error();
  // Drop the cached copy so the hash is of what the storage returns.
  if (device) (void)::ioctl(fd->get(), BLKFLSBUF, 0);
  (void)::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_DONTNEED);
  std::unique_ptr<char[]> buf(new char[kChunk]);
  Sha256 h;
  uint64_t left = size;
  o.progress(phase.c_str(), 0, size);
  while (left > 0) {
    size_t want = left < kChunk ? static_cast<size_t>(left) : kChunk;
    ssize_t n = ::read(fd->get(), buf.get(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read back " + path);
    if (n == 0) return plain_error("read back " + path + ": ends " + std::to_string(left) + " bytes early");
    h.update(buf.get(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
    o.progress(phase.c_str(), size - left, size);
  }
  return h.hex();
}

// A storage error after the target was marked bad: the message says so.
Error stays_bad(const Error& e, int slot) {
  return plain_error(e.message() + "; the update stops, " + slot_word(slot) + " stays marked bad");
}

// Where one image of a bundle goes.
struct ImageDest {
  std::string path;    // the block device, or the image file
  bool file = false;   // an image file on the data partition
  std::string window;  // the device, or the mount that holds the file
  std::string points;  // crash point prefix: "update-" (root), "update-boot-"
  std::string what;    // "image" (root), "boot image": in messages
};

// "boot image 4194304 bytes to /dev/vda7, root image ... to /dev/vda2" for the log.
std::string describe_images(const Manifest& m, const UpdateTarget& t) {
  std::string out;
  for (const auto& img : m.images)
    out += (out.empty() ? "" : ", ") + img.name + " " + std::to_string(img.size) + " bytes to " +
           (img.name == kBootImage ? t.boot_path : t.path);
  return out;
}

// One image of `size` bytes from `in` into `d`: open its window, stream while
// hashing, compare, fsync, read back and hash again, close the window. Every
// error says the target stays marked bad. The last image (`total`: every
// image's bytes, else 0) also waits for the end of the stream first: a
// longer stream is not the bundle the manifest describes.
Status write_image(int in, const ImageDest& d, uint64_t size, const std::string& sha256, int slot,
                   const UpdateOptions& o, uint64_t total, UpdateResult& result) {
  auto window = d.file ? WriteWindow::open_mount(d.window) : WriteWindow::open_device(d.path);
  if (!window) return window.error();
  o.crash_point(d.points + "window-open");

  const int flags = d.file ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_WRONLY | O_CLOEXEC;
  auto out = sys::open(d.path, flags, 0644);
  if (!out) return stays_bad(out.error(), slot);
  if (d.file) {
    // Claim the space now: a full partition is refused before the stream, not midway.
    if (int e = ::posix_fallocate(out->get(), 0, static_cast<off_t>(size)); e != 0)
      return stays_bad(Error{e, "reserve " + std::to_string(size) + " bytes for " + d.path}, slot);
  }

  // One pass over the stream: this thread reads a chunk while the writer's
  // threads hash the one before and put the ones before that on the storage.
  // Progress phases: "writing", "verifying" for the root, "... boot" for the boot image.
  const std::string suffix = d.what == "image" ? "" : " boot";
  const std::string writing = "writing" + suffix;
  auto t0 = std::chrono::steady_clock::now();
  Sha256 hash;
  uint64_t done = 0;
  int quarter = 1;
  {
    StreamWriter writer(out->get(), d.path, kChunk, kDepth, &hash);
    o.progress(writing.c_str(), 0, size);
    while (done < size) {
      char* buf = writer.buffer();
      if (!buf) break;  // a write failed: finish() says why
      const size_t want = size - done < kChunk ? static_cast<size_t>(size - done) : kChunk;
      auto n = read_some(in, buf, want, o);
      if (!n) return n.error();
      if (o.interrupted()) return plain_error("interrupted by a signal; " + slot_word(slot) + " stays marked bad");
      if (*n == 0)
        return plain_error("the bundle ended after " + std::to_string(done) + " of " + std::to_string(size) + " " +
                           d.what + " bytes (cut download?); " + slot_word(slot) + " stays marked bad");
      writer.submit(buf, *n);
      done += *n;
      o.progress(writing.c_str(), done, size);
      while (quarter < 4 && done * 4 >= size * quarter) {
        const uint64_t mark = size * quarter / 4;
        writer.wait_written(mark);  // a cut "at 25 %" finds that much handed to the kernel
        o.crash_point(d.points + "streamed-" + std::to_string(25 * quarter++));
      }
    }
    if (auto s = writer.finish(); !s) return stays_bad(s.error(), slot);
  }
  if (total > 0) {
    char extra = 0;
    auto more = read_some(in, &extra, 1, o);
    if (o.interrupted()) return plain_error("interrupted by a signal; " + slot_word(slot) + " stays marked bad");
    if (!more) return Error{more.error().err, more.error().context + "; " + slot_word(slot) + " stays marked bad"};
    if (*more > 0)
      return plain_error("the bundle holds more bytes than its manifest's size (" + std::to_string(total) + "); " +
                         slot_word(slot) + " stays marked bad");
  }
  const std::string got = hash.hex();
  result.bytes += done;
  if (got != sha256)
    return plain_error("the " + d.what + "'s sha256 is " + got + ", the manifest says " + sha256 +
                       ": the bundle is corrupt; " + slot_word(slot) + " stays marked bad");
  o.crash_point(d.points + "streamed");
  if (::fsync(out->get()) != 0) return stays_bad(errno_error("fsync " + d.path), slot);
  if (d.file)
    if (auto s = sys::fsync_path(d.window); !s) return stays_bad(s.error(), slot);
  out->reset();
  result.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  o.crash_point(d.points + "synced");

  auto again = read_back(d.path, size, !d.file, o, "verifying" + suffix);
  if (!again) return stays_bad(again.error(), slot);
  if (*again != sha256)
    return plain_error("read back from " + d.path + ": sha256 " + *again + " differs from what was written (" + sha256 +
                       "): the storage is failing; " + slot_word(slot) + " stays marked bad");
  o.crash_point(d.points + "verified");

  if (auto s = window->close(); !s)
    return plain_error("cannot make " + d.path + " read-only again: " + s.error().message() + "; " + slot_word(slot) +
                       " stays marked bad");
  o.crash_point(d.points + "window-closed");
  return {};
}

}  // namespace

Result<UpdateResult> install_update(int in, const UpdateTarget& t, const UpdateOptions& o, SlotStore& store) {
  // Refusals that need nothing read yet.
  if (t.slot != 0 && t.slot != 1) return plain_error("no target slot to write");
  if (t.running != 0 && t.running != 1)
    return plain_error("cannot tell which slot is running (no A/B slots in /run/strata/status); nothing written");
  if (o.tries < 1 || o.tries > kMaxTries)
    return plain_error("tries " + std::to_string(o.tries) + " is not 1.." + std::to_string(kMaxTries) +
                       "; nothing written");
  if (t.slot == t.running)
    return plain_error(slot_word(t.slot) + " is the running slot: an update writes the other slot; nothing written");

  auto lock = StorageLock::acquire(o.lock_path);
  if (!lock) return lock.error();

  // The header: everything that can be checked before a byte is written.
  std::string block(kBundleHeaderSize, '\0');
  auto got = read_some(in, block.data(), block.size(), o);
  if (!got) return got.error();
  if (o.interrupted()) return plain_error("interrupted by a signal; nothing written");
  if (*got < kBundleHeaderSize)
    return plain_error("the bundle ends inside its header (" + std::to_string(*got) +
                       " bytes): not a strata bundle, or cut short; nothing written");
  auto header = parse_bundle_header(block);
  if (!header) return plain_error("not a valid bundle: " + header.error().message() + "; nothing written");
  const Manifest& m = header->manifest;
  SlotReading reading = store.read();
  if (reading.health == StateHealth::kUnreadable || reading.health == StateHealth::kUnavailable)
    return plain_error("the slot record cannot be read (" + reading.detail +
                       "); run `strata mark-good` on this working system to write a fresh one; nothing written");
  if (auto s = check_update_policy(*header, reading.state, t.running, t.slot, o.policy); !s)
    return plain_error(s.error().message() + "; nothing written");
  if (!o.compatible.empty() && m.compatible != o.compatible)
    return plain_error("the bundle is for '" + (m.compatible.empty() ? std::string("(any board)") : m.compatible) +
                       "', this device takes '" + o.compatible + "' ([update] compatible); nothing written");
  const bool group = !t.boot_path.empty();
  if (group && !has_boot_image(m))
    return plain_error("the bundle holds a root image only, and with [slots] bootloader = uboot a slot is a group (" +
                       t.boot_path + ": kernel, initramfs, command line; " + t.path +
                       ": root): the root alone would boot with the kernel and initramfs " + slot_word(t.slot) +
                       " holds now, maybe of another release or none; make a group bundle (tools/mkbundle --boot, " +
                       "strata-bundle create --boot); nothing written");
  if (!group && has_boot_image(m))
    return plain_error(
        "the bundle is a group with a boot image (kernel, initramfs) for boards whose bootloader boots a kernel per "
        "slot ([slots] bootloader = uboot); this board's slots are root images under one fixed kernel, so its root "
        "alone could run under a kernel it was not built for; install a root-image bundle; nothing written");
  auto capacity = slot_capacity(t);
  if (!capacity) return capacity.error();
  if (m.size > *capacity && t.file)
    return plain_error("not enough space for the image: it needs " + std::to_string(m.size) + " bytes on " + t.window +
                       ", " + std::to_string(*capacity) + " are available (free space plus " + slot_word(t.slot) +
                       "'s old image); free " + std::to_string(m.size - *capacity) +
                       " bytes (`strata factory-reset` discards the uppers); nothing written");
  if (m.size > *capacity)
    return plain_error("the image (" + std::to_string(m.size) + " bytes) is larger than " + slot_word(t.slot) + " (" +
                       std::to_string(*capacity) + " bytes at " + t.path + "); nothing written");
  if (group) {
    UpdateTarget boot;
    boot.path = t.boot_path;
    boot.capacity = t.boot_capacity;
    auto boot_capacity = slot_capacity(boot);
    if (!boot_capacity) return boot_capacity.error();
    const uint64_t boot_size = find_image(m, kBootImage)->size;
    if (boot_size > *boot_capacity)
      return plain_error("the boot image (" + std::to_string(boot_size) + " bytes) is larger than " +
                         slot_word(t.slot) + "'s boot partition (" + std::to_string(*boot_capacity) + " bytes at " +
                         t.boot_path + "); nothing written");
  }

  const SlotInfo& running = reading.state.slot[t.running];
  if (running.status != SlotStatus::kGood)
    return plain_error(slot_word(t.running) + " (running) is " + to_string(running.status) +
                       ", not good: an update needs a good slot to fall back to; run `strata mark-good` (or " +
                       "`strata rollback`) first; nothing written");

  // From here on the target is marked bad (in the record and, with
  // bootloader = uboot, in the bootloader's state): a cut at any instant
  // leaves it unbootable, never half-booted.
  if (group)
    o.say("installing version " + m.version + " into " + slot_word(t.slot) + ": " + std::to_string(m.images.size()) +
          " images (" + describe_images(m, t) + ")");
  else
    o.say("installing version " + m.version + " (" + std::to_string(m.size) + " bytes) into " + slot_word(t.slot) +
          " (" + t.path + ")");
  SlotState marked = begin_update(reading.state, t.slot);
  if (auto s = store.write(marked, "update-begin"); !s) return s.error();
  marked = store.read().state;
  o.crash_point("update-marked-bad");

  // Each image in stream order, each through its own window; the trial
  // below only after the last one is read back.
  UpdateResult result;
  result.version = m.version;
  result.sha256 = m.sha256;
  for (const BundleImage& img : m.images) {
    ImageDest d;
    if (img.name == kBootImage) {
      d = {t.boot_path, false, t.boot_path, "update-boot-", "boot image"};
      o.say("writing the boot image (" + std::to_string(img.size) + " bytes) to " + t.boot_path);
    } else {
      d = {t.path, t.file, t.window, "update-", "image"};
      if (group) o.say("writing the root image (" + std::to_string(img.size) + " bytes) to " + t.path);
    }
    const uint64_t trailing = &img == &m.images.back() ? images_size(m) : 0;
    if (auto s = write_image(in, d, img.size, img.sha256, t.slot, o, trailing, result); !s) return s.error();
    result.images++;
  }
  if (o.seed_upper) {
    if (auto s = o.seed_upper(t.running, t.slot); !s)
      return plain_error("cannot prepare " + slot_word(t.slot) + "'s upper: " + s.error().message() + "; " +
                         slot_word(t.slot) + " stays marked bad");
    o.crash_point("update-seeded");
  }

  SlotState trial = finish_update(marked, t.slot, o.tries, {m.sha256, m.version, m.min_version, m.keys, m.verity});
  if (auto s = store.write(trial, "update-finish"); !s) return s.error();
  o.crash_point("update-done");
  return result;
}

}  // namespace strata
