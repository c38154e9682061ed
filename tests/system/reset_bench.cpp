// strata_reset_bench: the boot-time cost of a factory reset
// (DataPartition::reset(): a few renames and a syncfs) against deleting the
// same upper with `rm -rf`, for uppers of 1k, 10k and 100k empty files on an
// ext4 image on a loop device. Needs root; runs in a private mount
// namespace. Prints a Markdown table and one JSON line on stdout.
//
//   strata_reset_bench [--reps N] [--sizes 1000,10000,100000] [--cold]
//
// --cold drops the page cache (host-wide) before each timed step, as at a
// boot, where nothing of the data partition is cached yet.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data_image.h"
#include "data_layout.h"
#include "persist.h"
#include "sys.h"

namespace fs = std::filesystem;
namespace data = strata::data;

namespace {

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string g_root;  // the scratch dir, removed on the way out

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "strata_reset_bench: %s\n", what.c_str());
  if (!g_root.empty()) {
    ::umount2((g_root + data::kMount).c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(g_root, ec);
  }
  std::exit(1);
}

void syncfs_at(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) die("syncfs " + dir + ": " + strerror(errno));
  ::close(fd);
}

void drop_caches() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "3\n", 2) != 2) die(std::string("drop_caches: ") + strerror(errno));
  ::close(fd);
}

// fork + exec rm -rf `path`; its wall time in ms.
double rm_rf(const std::string& path) {
  double t0 = now_ms();
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::execlp("rm", "rm", "-rf", "--", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  double t = now_ms() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("rm -rf " + path + " failed");
  return t;
}

std::vector<std::string> trash_entries(const strata::DataPartition& dp) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dp.p(data::kTrash), ec)) out.push_back(e.path().string());
  return out;
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

std::string ms(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v < 10 ? "%.2f" : "%.0f", v);
  return b;
}

std::string json_list(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v[i]);
    out += (i ? "," : "") + std::string(b);
  }
  return out + "]";
}

struct Row {
  long files;
  std::vector<double> reset, rm, rm_sync;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  bool cold = false;
  std::vector<long> sizes = {1000, 10000, 100000};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--cold") {
      cold = true;
    } else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::string list = argv[++i];
      for (size_t pos = 0; pos <= list.size();) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        if (comma > pos) sizes.push_back(std::atol(list.substr(pos, comma - pos).c_str()));
        pos = comma + 1;
      }
    } else {
      fprintf(stderr, "usage: %s [--reps N] [--sizes 1000,10000,100000] [--cold]\n", argv[0]);
      return 2;
    }
  }
  if (::geteuid() != 0) {
    fprintf(stderr, "strata_reset_bench: needs root (loop devices, mounts)\n");
    return 77;
  }
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    die(std::string("private mount namespace: ") + strerror(errno));

  char tmpl[] = "/tmp/strata-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) die("mkdtemp");
  const std::string root = g_root = tmpl;
  const long most = *std::max_element(sizes.begin(), sizes.end());
  systest::DataDisk disk;
  if (auto e = systest::setup_data_disk(disk, root + "/data.img", root + data::kMount, 256, most + most / 10 + 2000);
      !e.empty())
    die(e);
  strata::DataPartition dp(root);

  std::vector<Row> rows;
  for (long n : sizes) {
    Row row{n, {}, {}, {}};
    for (int r = 0; r < reps; r++) {
      const std::string up = dp.p(data::kUpper);
      double t0 = now_ms();
      if (auto e = systest::make_tree(up + "/data", n); !e.empty()) die(e);
      if (auto s = strata::sys::mkdir_p(up + "/work/work"); !s) die(s.error().message());
      if (auto s = dp.request_reset(strata::ResetTier::kOverlay); !s) die(s.error().message());
      syncfs_at(disk.mnt);
      fprintf(stderr, "  %ld files: tree made in %.0f ms\n", n, now_ms() - t0);
      if (cold) drop_caches();

      std::vector<std::string> log;
      t0 = now_ms();
      if (auto s = dp.reset(strata::ResetTier::kOverlay, log); !s) die("reset: " + s.error().message());
      row.reset.push_back(now_ms() - t0);
      auto trash = trash_entries(dp);
      if (strata::sys::exists(up) || trash.size() != 1) die("reset did not move the upper into the trash");

      syncfs_at(disk.mnt);
      if (cold) drop_caches();
      double rm = rm_rf(trash[0]);
      t0 = now_ms();
      syncfs_at(disk.mnt);
      row.rm.push_back(rm);
      row.rm_sync.push_back(rm + now_ms() - t0);
      if (!trash_entries(dp).empty()) die("rm -rf left the trash entry");
    }
    rows.push_back(row);
  }

  printf(
      "reset of a persistent upper: DataPartition::reset() vs rm -rf; ext4 on a loop device, %s page cache, "
      "%d runs each, empty files in directories of 1000\n\n",
      cold ? "cold (dropped)" : "warm", reps);
  printf(
      "| files | reset() ms, median (min-max) | rm -rf ms, median (min-max) | rm -rf + syncfs ms, median | "
      "rm -rf / reset() |\n");
  printf("|---:|---:|---:|---:|---:|\n");
  for (const auto& row : rows) {
    Stats a = stats(row.reset), b = stats(row.rm), c = stats(row.rm_sync);
    printf("| %ld | %s (%s-%s) | %s (%s-%s) | %s | %.0fx |\n", row.files, ms(a.median).c_str(), ms(a.min).c_str(),
           ms(a.max).c_str(), ms(b.median).c_str(), ms(b.min).c_str(), ms(b.max).c_str(), ms(c.median).c_str(),
           a.median > 0 ? b.median / a.median : 0.0);
  }
  std::string json = std::string("{\"bench\":\"strata_reset\",\"fs\":\"ext4-loop\",\"cache\":\"") +
                     (cold ? "cold" : "warm") + "\",\"reps\":" + std::to_string(reps) + ",\"results\":[";
  for (size_t i = 0; i < rows.size(); i++) {
    json += (i ? "," : "") + std::string("{\"files\":") + std::to_string(rows[i].files) +
            ",\"reset_ms\":" + json_list(rows[i].reset) + ",\"rm_rf_ms\":" + json_list(rows[i].rm) +
            ",\"rm_rf_syncfs_ms\":" + json_list(rows[i].rm_sync) + "}";
  }
  printf("\n%s]}\n", json.c_str());

  ::umount(disk.mnt.c_str());
  disk.loop.fd.reset();
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
