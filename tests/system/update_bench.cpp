// strata_update_bench: how fast `strata update` (install_update()) streams a
// bundle into a partition slot, against the device's own write speed. On a
// loop device (read-write, no direct I/O) over a file on a real filesystem
// (default /var/tmp; tmpfs is refused), N runs each of:
//
//   write    the image bytes written to the device with plain write() in
//            256 KiB chunks, then fsync: the device's write speed through the
//            page cache, what `dd bs=256K conv=fsync` measures
//   update   install_update() reading the bundle (header + the same bytes)
//            from a pipe that a writer thread fills: its streaming part
//            (UpdateResult::seconds: read, hash, write, fsync) and its total
//            (also the slot record, the write window and the read-back)
//   sha256   Sha256 over the same bytes in memory, 256 KiB at a time, with
//            the engine strata uses (OpenSSL's) and with libsodium's portable
//            C (the engine before) for comparison
//
// The page cache is dropped (host-wide) before each write and update run.
// Needs root. Prints a summary on stderr and one JSON line on stdout
// (tools/bench keeps it as out/<board>/bench-update.json).
//
//   strata_update_bench [--reps N] [--device-mib 256] [--image-mib 192] [--dir /var/tmp]
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bundle.h"
#include "data_image.h"
#include "sha256.h"
#include "slot_state.h"
#include "slot_store.h"
#include "update.h"
#include "write_window.h"

namespace {

constexpr size_t kChunk = 256 << 10;  // as install_update's

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// What has to be undone on every way out, signals included: the paths are
// set once before the handlers are installed, the handler only makes
// async-signal-safe calls on them.
struct Scratch {
  std::string root, backing, state0, state1, lock;
  int device_fd = -1;  // the loop device, held open
};
Scratch g;

void cleanup() {
  if (g.device_fd >= 0) {
    int zero = 0;
    (void)::ioctl(g.device_fd, BLKROSET, &zero);  // the flag would outlive the detach
    (void)::ioctl(g.device_fd, LOOP_CLR_FD, 0);
    ::close(g.device_fd);
    g.device_fd = -1;
  }
  for (const std::string* p : {&g.backing, &g.state0, &g.state1, &g.lock})
    if (!p->empty()) ::unlink(p->c_str());
  if (!g.root.empty()) ::rmdir(g.root.c_str());
}

void on_signal(int sig) {
  cleanup();
  ::_exit(128 + sig);
}

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "strata_update_bench: %s\n", what.c_str());
  cleanup();
  std::exit(1);
}

bool write_all(int fd, const char* buf, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, buf, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    buf += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void drop_caches() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "3\n", 2) != 2) die(std::string("drop_caches: ") + strerror(errno));
  ::close(fd);
}

std::string fs_name(long magic) {
  switch (magic) {
    case EXT4_SUPER_MAGIC:
      return "ext4";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case F2FS_SUPER_MAGIC:
      return "f2fs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlay";
    default: {
      char b[32];
      std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(magic));
      return b;
    }
  }
}

std::string read_first_line(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char b[256];
    if (std::fgets(b, sizeof b, f)) out = b;
    std::fclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// (a) plain write() of the image to the device, then fsync.
double plain_write(const std::string& device, const std::vector<char>& image) {
  if (auto s = strata::set_block_readonly(device, false); !s) die(s.error().message());
  double t0 = now_s();
  int fd = ::open(device.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open " + device + ": " + strerror(errno));
  for (size_t off = 0; off < image.size(); off += kChunk) {
    const size_t n = std::min(kChunk, image.size() - off);
    if (!write_all(fd, image.data() + off, n)) die("write " + device + ": " + strerror(errno));
  }
  if (::fsync(fd) != 0) die("fsync " + device + ": " + strerror(errno));
  ::close(fd);
  return now_s() - t0;
}

struct UpdateRun {
  double stream, total;
};

// (b) install_update() from a pipe a writer thread fills with the bundle.
UpdateRun update(const std::string& device, const std::string& header, const std::vector<char>& image,
                 const std::string& sha256) {
  strata::SlotStore store(g.root + "/slot-state");
  // A freshly flashed device: a good and running, b the target.
  if (auto s = store.write(strata::initial_slot_state(), "bench"); !s) die("slot record: " + s.error().message());
  // Slot storage is read-only outside an update; install_update opens the window.
  if (auto s = strata::set_block_readonly(device, true); !s) die(s.error().message());

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) die(std::string("pipe: ") + strerror(errno));
  strata::UpdateTarget target;
  target.slot = 1;
  target.running = 0;
  target.path = device;
  strata::UpdateOptions options;
  options.lock_path = g.lock;
  options.say = [](const std::string& line) { fprintf(stderr, "    update: %s\n", line.c_str()); };

  double t0 = now_s();
  std::thread writer([&] {
    // Ends early with EPIPE when install_update stops reading (SIGPIPE is ignored).
    if (write_all(p[1], header.data(), header.size())) {
      for (size_t off = 0; off < image.size(); off += kChunk)
        if (!write_all(p[1], image.data() + off, std::min(kChunk, image.size() - off))) break;
    }
    ::close(p[1]);
  });
  auto result = strata::install_update(p[0], target, options, store);
  double total = now_s() - t0;
  ::close(p[0]);
  writer.join();
  if (!result) die("install_update: " + result.error().message());
  if (result->bytes != image.size() || result->sha256 != sha256) die("install_update wrote something else");
  auto ro = strata::block_readonly(device);
  if (!ro || !*ro) die("install_update left " + device + " writable");
  return {result->seconds, total};
}

// (c) SHA-256 alone over the image in memory, with `engine`.
double hash_only(const std::vector<char>& image, const std::string& sha256, const strata::Sha256Engine& engine) {
  const strata::Sha256Engine& was = strata::sha256_engine();
  strata::set_sha256_engine(&engine);
  double t0 = now_s();
  strata::Sha256 h;
  strata::set_sha256_engine(&was);
  for (size_t off = 0; off < image.size(); off += kChunk)
    h.update(image.data() + off, std::min(kChunk, image.size() - off));
  std::string hex = h.hex();
  double t = now_s() - t0;
  if (hex != sha256) die("sha256 differs between two passes over the same bytes");
  return t;
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

std::string json_list(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", v[i]);
    out += (i ? "," : "") + std::string(b);
  }
  return out + "]";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

void summary_line(const char* what, const std::vector<double>& v, double mib, double base) {
  Stats s = stats(v);
  fprintf(stderr, "  %-42s %7.3f s (%.3f-%.3f)  %7.1f MiB/s", what, s.median, s.min, s.max, mib / s.median);
  if (base > 0) fprintf(stderr, "  %.2fx the plain write's speed", base / s.median);
  fprintf(stderr, "\n");
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  long device_mib = 256, image_mib = 192;
  std::string dir = "/var/tmp";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--device-mib" && i + 1 < argc) {
      device_mib = std::atol(argv[++i]);
    } else if (a == "--image-mib" && i + 1 < argc) {
      image_mib = std::atol(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--reps N] [--device-mib 256] [--image-mib 192] [--dir /var/tmp]\n", argv[0]);
      return 2;
    }
  }
  if (image_mib <= 0 || device_mib < image_mib) {
    fprintf(stderr, "strata_update_bench: the image (%ld MiB) must be > 0 and fit the device (%ld MiB)\n", image_mib,
            device_mib);
    return 2;
  }
  if (::geteuid() != 0) {
    fprintf(stderr, "strata_update_bench: needs root (loop devices, BLKROSET, drop_caches)\n");
    return 77;
  }
  struct statfs sfs {};
  if (::statfs(dir.c_str(), &sfs) != 0) die("statfs " + dir + ": " + strerror(errno));
  const std::string fs_type = fs_name(static_cast<long>(sfs.f_type));
  if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)
    die(dir + " is " + fs_type + ": the backing file must be on storage (--dir)");

  std::string tmpl = dir + "/strata-update-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("mkdtemp in " + dir + ": " + strerror(errno));
  g.root = tmpl;
  g.backing = g.root + "/device.img";
  g.state0 = g.root + "/slot-state.0";
  g.state1 = g.root + "/slot-state.1";
  g.lock = g.root + "/update.lock";
  ::signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, on_signal);

  // The backing file written in full once, so every run overwrites allocated
  // blocks, as on a partition.
  {
    int fd = ::open(g.backing.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) die("create " + g.backing + ": " + strerror(errno));
    std::vector<char> zeros(1 << 20, 0);
    for (long i = 0; i < device_mib; i++)
      if (!write_all(fd, zeros.data(), zeros.size())) die("write " + g.backing + ": " + strerror(errno));
    if (::fsync(fd) != 0) die("fsync " + g.backing + ": " + strerror(errno));
    ::close(fd);
  }
  auto loop = systest::attach_loop_rw(g.backing);
  if (!loop) die("attach " + g.backing + ": " + loop.error().message());
  g.device_fd = loop->fd.release();
  const std::string device = loop->path;
  if (::ioctl(g.device_fd, LOOP_SET_DIRECT_IO, 0UL) != 0)
    die("LOOP_SET_DIRECT_IO 0 " + device + ": " + strerror(errno));
  const std::string sysfs = "/sys/block/" + device.substr(device.rfind('/') + 1);
  const std::string dio = read_first_line(sysfs + "/loop/dio");

  // The image: random bytes (getrandom), and its bundle header (unsigned).
  const size_t image_bytes = static_cast<size_t>(image_mib) << 20;
  std::vector<char> image(image_bytes);
  for (size_t off = 0; off < image_bytes;) {
    ssize_t n = ::getrandom(image.data() + off, image_bytes - off, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die(std::string("getrandom: ") + strerror(errno));
    off += static_cast<size_t>(n);
  }
  strata::Manifest m;
  m.version = "bench";
  m.size = image_bytes;
  {
    strata::Sha256 h;
    h.update(image.data(), image.size());
    m.sha256 = h.hex();
  }
  auto header = strata::make_bundle_header(m, "");
  if (!header) die("bundle header: " + header.error().message());
  int pipe_bytes = 0;
  {
    int p[2];
    if (::pipe(p) == 0) {
      pipe_bytes = ::fcntl(p[0], F_GETPIPE_SZ);
      ::close(p[0]);
      ::close(p[1]);
    }
  }
  fprintf(stderr,
          "strata_update_bench: %ld MiB image into %s (%ld MiB, %s in %s, direct I/O %s), %d runs each, "
          "page cache dropped before each write and update run\n",
          image_mib, device.c_str(), device_mib, fs_type.c_str(), dir.c_str(), dio.empty() ? "?" : dio.c_str(), reps);

  // Interleaved, so a drift of the host's load spreads over all three.
  std::vector<double> write_s, stream_s, total_s, sha_s, sodium_s;
  for (int r = 0; r < reps; r++) {
    drop_caches();
    write_s.push_back(plain_write(device, image));
    drop_caches();
    UpdateRun u = update(device, *header, image, m.sha256);
    stream_s.push_back(u.stream);
    total_s.push_back(u.total);
    sha_s.push_back(hash_only(image, m.sha256, strata::sha256_engine()));
    sodium_s.push_back(hash_only(image, m.sha256, strata::sodium_sha256_engine()));
    fprintf(stderr, "  run %d: write %.3f s, update stream %.3f s (total %.3f s), sha256 %.3f s (libsodium %.3f s)\n",
            r + 1, write_s.back(), u.stream, u.total, sha_s.back(), sodium_s.back());
  }

  const double mib = static_cast<double>(image_mib);
  const double base = stats(write_s).median;
  fprintf(stderr, "\nmedian (min-max) over %d runs, %ld MiB:\n", reps, image_mib);
  summary_line("plain write() + fsync", write_s, mib, 0);
  summary_line("update: stream (read, hash, write, fsync)", stream_s, mib, base);
  summary_line("update: total (with the read-back)", total_s, mib, base);
  summary_line("sha256 alone (in memory)", sha_s, mib, 0);
  summary_line("sha256 alone, libsodium (in memory)", sodium_s, mib, 0);

  utsname un{};
  ::uname(&un);
  std::string json = std::string("{\"bench\":\"strata_update\",\"fs\":") + json_string(fs_type + "-loop") +
                     ",\"dir\":" + json_string(dir) + ",\"host_kernel\":" + json_string(un.release) +
                     ",\"loop_dio\":" + json_string(dio) + ",\"device_mib\":" + std::to_string(device_mib) +
                     ",\"image_mib\":" + std::to_string(image_mib) + ",\"chunk_kib\":" + std::to_string(kChunk >> 10) +
                     ",\"pipe_kib\":" + std::to_string(pipe_bytes >> 10) +
                     ",\"sha256_engine\":" + json_string(strata::sha256_engine().name) +
                     ",\"cache\":\"dropped\",\"reps\":" + std::to_string(reps) +
                     ",\"results\":{\"write_s\":" + json_list(write_s) + ",\"update_stream_s\":" + json_list(stream_s) +
                     ",\"update_total_s\":" + json_list(total_s) + ",\"sha256_s\":" + json_list(sha_s) +
                     ",\"sha256_sodium_s\":" + json_list(sodium_s) + "}}";
  printf("%s\n", json.c_str());

  if (auto s = strata::set_block_readonly(device, false); !s) die(s.error().message());
  cleanup();
  return 0;
}
