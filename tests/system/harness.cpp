#include "harness.h"

#include <CppUTest/TestHarness.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "data_layout.h"

#ifndef STRATA_SYSTEM_FIXTURE_DIR
#error "STRATA_SYSTEM_FIXTURE_DIR must name the fixture directory in the build tree"
#endif

namespace systest {
namespace {

int g_report_fd = -1;  // the child's end of the report pipe
long g_checks = 0;     // checks made in the child

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; k++) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP || type == FTW_D)
    ::rmdir(path);
  else
    ::unlink(path);
  return 0;
}

void remove_tree(const std::string& path) {
  // FTW_MOUNT: never cross into another filesystem; FTW_PHYS: never follow links.
  ::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

// name -> backing file, for every attached loop device.
std::map<std::string, std::string> attached_loops() {
  std::map<std::string, std::string> out;
  if (DIR* d = ::opendir("/sys/block")) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("loop", 0) != 0) continue;
      std::string file = "/sys/block/" + name + "/loop/backing_file";
      if (path_exists(file)) out[name] = read_text(file);
    }
    ::closedir(d);
  }
  return out;
}

bool ours(const std::string& backing) {
  return backing.find("/strata-sys-") != std::string::npos ||
         backing.find(STRATA_SYSTEM_FIXTURE_DIR) != std::string::npos;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

[[noreturn]] void child_main(const std::function<void(Ctx&)>& body, const std::string& scratch, int report_fd) {
  g_report_fd = report_fd;
  int code = 0;
  try {
    if (::unshare(CLONE_NEWNS) != 0) fail(__FILE__, __LINE__, std::string("unshare(CLONE_NEWNS): ") + strerror(errno));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      fail(__FILE__, __LINE__, std::string("make / private: ") + strerror(errno));
    Ctx ctx{scratch};
    body(ctx);
  } catch (const ChildFailure& f) {
    write_all(report_fd, "FAIL: " + f.message + "\n");
    code = 1;
  } catch (const std::exception& e) {
    write_all(report_fd, std::string("FAIL: exception: ") + e.what() + "\n");
    code = 1;
  }
  write_all(report_fd, "CHECKS: " + std::to_string(g_checks) + "\n");
  fflush(stdout);
  fflush(stderr);
  ::_exit(code);  // no atexit handlers, no leak check of the parent's copy
}

}  // namespace

void fail(const char* file, int line, const std::string& what) {
  throw ChildFailure{std::string(file) + ":" + std::to_string(line) + ": " + what};
}

void counted() {
  g_checks++;
}

void note(const std::string& text) {
  if (g_report_fd >= 0)
    write_all(g_report_fd, "NOTE: " + text + "\n");
  else
    fprintf(stderr, "NOTE: %s\n", text.c_str());
}

void run_isolated(const std::function<void(Ctx&)>& body, int timeout_s) {
  const std::string host_mounts_before = mountinfo_text();
  const auto loops_before = attached_loops();

  char tmpl[] = "/tmp/strata-sys-XXXXXX";
  if (!::mkdtemp(tmpl)) FAIL(("mkdtemp: " + std::string(strerror(errno))).c_str());
  const std::string scratch = tmpl;

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) FAIL("pipe2");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) FAIL("fork");
  if (pid == 0) {
    ::close(fds[0]);
    child_main(body, scratch, fds[1]);
  }
  ::close(fds[1]);

  std::string report;
  bool timed_out = false;
  const long deadline = now_ms() + timeout_s * 1000L;
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child is gone (the write end is close-on-exec)
    report.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  // Loop devices the test attached must come free (autoclear) once its
  // namespace, and with it every mount, is gone.
  std::string leaked;
  const long loop_deadline = now_ms() + 3000;
  for (;;) {
    leaked.clear();
    for (const auto& [name, file] : attached_loops()) {
      auto it = loops_before.find(name);
      if (ours(file) && (it == loops_before.end() || it->second != file)) leaked += " " + name + " (" + file + ")";
    }
    if (leaked.empty() || now_ms() > loop_deadline) break;
    ::usleep(20 * 1000);
  }
  remove_tree(scratch);
  const std::string host_mounts_after = mountinfo_text();

  {
    std::istringstream in(report);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("NOTE: ", 0) == 0) fprintf(stderr, "  %s\n", line.c_str());
      if (line.rfind("CHECKS: ", 0) == 0)
        for (long n = std::atol(line.c_str() + 8); n > 0; n--) UtestShell::getCurrent()->countCheck();
    }
  }
  if (timed_out) FAIL(("test body ran past " + std::to_string(timeout_s) + " s and was killed\n" + report).c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || report.find("FAIL: ") != std::string::npos)
    FAIL(("child failed (" + describe_status(status) + ")\n" + report).c_str());
  if (!leaked.empty()) FAIL(("loop devices left attached after the test:" + leaked).c_str());
  if (host_mounts_before != host_mounts_after)
    FAIL(("the host's mount table changed during the test\nbefore:\n" + host_mounts_before + "after:\n" +
          host_mounts_after)
             .c_str());
  if (path_exists(scratch)) FAIL(("scratch directory " + scratch + " could not be removed").c_str());
}

// ---- fixtures --------------------------------------------------------------

namespace {

std::string build_fixtures(Fixtures& f) {
  // One directory per run, so two runs at once do not rebuild each other's
  // images; those of runs that are gone are removed.
  const std::string top = STRATA_SYSTEM_FIXTURE_DIR;
  if (DIR* d = ::opendir(top.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("run-", 0) != 0) continue;
      pid_t pid = static_cast<pid_t>(std::atol(n.c_str() + 4));
      if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) remove_tree(top + "/" + n);
    }
    ::closedir(d);
  }
  f.dir = top + "/run-" + std::to_string(::getpid());
  const std::string tree = f.dir + "/tree", src = f.dir + "/source-tree";
  remove_tree(f.dir);
  if (sh("mkdir -p " + quote(tree) + " " + quote(src + "/images")) != 0) return "cannot create " + f.dir;
  // The root tree: plain files, a nested dir, an executable, and an empty
  // directory that tests mount over to check recursive binds.
  for (const char* d : {"/etc/sub", "/usr/bin", "/opt/app", "/var/lib/mnt", "/data"})
    if (sh("mkdir -p " + quote(tree + d)) != 0) return std::string("mkdir ") + d;
  write_text(tree + "/etc/marker", "lower\n");
  write_text(tree + "/etc/hostname", "strata-test\n");
  write_text(tree + "/etc/sub/deep.txt", "deep\n");
  write_text(tree + "/usr/bin/tool", "#!/bin/sh\necho tool\n");
  ::chmod((tree + "/usr/bin/tool").c_str(), 0755);
  write_text(tree + "/opt/app/config", "app\n");
  write_text(tree + "/var/lib/state", "state\n");
  write_text(tree + "/data/file", "data\n");

  f.squashfs = f.dir + "/root.squashfs";
  f.erofs = f.dir + "/root.erofs";
  f.ext4 = f.dir + "/root.ext4";
  f.source_ext4 = f.dir + "/source.ext4";
  // Tool output goes to a log; its tail is shown when a tool fails.
  const std::string log = f.dir + "/build.log";
  auto run = [&](const std::string& what, const std::string& cmd) -> std::string {
    if (sh(cmd + " >>" + quote(log) + " 2>&1") == 0) return "";
    return what + " failed: " + cmd + "\n" + read_text(log);
  };
  std::string e;
  if (!(e = run("mksquashfs",
                "mksquashfs " + quote(tree) + " " + quote(f.squashfs) + " -noappend -all-root -no-progress -quiet"))
           .empty())
    return e;
  if (!(e = run("mkfs.erofs", "mkfs.erofs --quiet --all-root " + quote(f.erofs) + " " + quote(tree))).empty()) return e;
  if (!(e = run("mkfs.ext4", "mkfs.ext4 -q -F -L strata-root -d " + quote(tree) + " " + quote(f.ext4) + " 16M"))
           .empty())
    return e;
  if (!(e = run("cp", "cp " + quote(f.squashfs) + " " + quote(src + "/images/root.squashfs"))).empty()) return e;
  write_text(src + "/README", "source partition\n");
  if (!(e = run("mkfs.ext4", "mkfs.ext4 -q -F -L strata-src -d " + quote(src) + " " + quote(f.source_ext4) + " 32M"))
           .empty())
    return e;
  return "";
}

Fixtures g_fixtures;
bool g_fixtures_built = false;

}  // namespace

void remove_fixtures() {
  if (g_fixtures_built && !g_fixtures.dir.empty()) remove_tree(g_fixtures.dir);
}

const Fixtures& fixtures() {
  static Fixtures& f = g_fixtures;
  static std::string error;
  static bool& built = g_fixtures_built;
  if (!built) {
    built = true;
    long t0 = now_ms();
    error = build_fixtures(f);
    if (error.empty()) fprintf(stderr, "  fixtures built in %s (%ld ms)\n", f.dir.c_str(), now_ms() - t0);
  }
  if (!error.empty()) FAIL(("building the fixture images: " + error).c_str());
  return f;
}

// ---- helpers ---------------------------------------------------------------

bool MountEntry::has_option(const std::string& opt) const {
  std::istringstream in(options);
  for (std::string o; std::getline(in, o, ',');)
    if (o == opt) return true;
  return false;
}

std::string mountinfo_text() {
  return read_text("/proc/self/mountinfo");
}

std::vector<MountEntry> mountinfo() {
  std::vector<MountEntry> out;
  std::istringstream in(mountinfo_text());
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    if (w.size() < 10) continue;
    MountEntry m;
    m.id = std::atoi(w[0].c_str());
    m.parent = std::atoi(w[1].c_str());
    m.root = unescape_octal(w[3]);
    m.mount_point = unescape_octal(w[4]);
    m.options = w[5];
    size_t i = 6;
    while (i < w.size() && w[i] != "-") i++;
    if (i + 2 >= w.size()) continue;
    m.fstype = w[i + 1];
    m.source = unescape_octal(w[i + 2]);
    m.super_options = i + 3 < w.size() ? w[i + 3] : "";
    out.push_back(m);
  }
  return out;
}

std::optional<MountEntry> mount_at(const std::string& path) {
  std::optional<MountEntry> found;
  for (auto& m : mountinfo())
    if (m.mount_point == path) found = m;  // later lines are mounted on top
  return found;
}

int sh(const std::string& command) {
  int st = std::system(command.c_str());
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_text(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(__FILE__, __LINE__, "create " + path + ": " + strerror(errno));
  write_all(fd, data);
  ::close(fd);
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

int try_create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  ::unlink(path.c_str());
  return 0;
}

std::string loop_name(const std::string& dev) {
  size_t slash = dev.rfind('/');
  return slash == std::string::npos ? dev : dev.substr(slash + 1);
}

bool loop_attached(const std::string& name) {
  return path_exists("/sys/block/" + name + "/loop/backing_file");
}

bool wait_loop_free(const std::string& name, int ms) {
  const long deadline = now_ms() + ms;
  while (loop_attached(name)) {
    if (now_ms() > deadline) return false;
    ::usleep(10 * 1000);
  }
  return true;
}

long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

strata::LoopDevice attach_or_fail(const std::string& image) {
  auto r = strata::attach_loop(image);
  if (!r) fail(__FILE__, __LINE__, "attach_loop(" + image + "): " + r.error().message());
  return std::move(*r);
}

strata::BootPlan tmpfs_plan(const std::string& device, const std::string& fstype) {
  strata::BootPlan p;
  p.root_spec = "test:" + device;
  p.root_device = device;
  p.root_fstype = fstype;
  p.upper_mode = strata::UpperMode::kTmpfs;
  p.tmpfs_options = "mode=0755,size=16m";
  p.overlay_options = "index=off,metacopy=off,redirect_dir=nofollow,xino=off";
  return p;
}

void bind_dev_into(const std::string& root) {
  const std::string dev = root + "/dev";
  if (::mkdir(dev.c_str(), 0755) != 0 && errno != EEXIST) fail(__FILE__, __LINE__, "mkdir " + dev);
  if (::mount("/dev", dev.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    fail(__FILE__, __LINE__, "bind /dev to " + dev + ": " + strerror(errno));
}

void mount_tmpfs(const std::string& dir, const std::string& name, const std::string& options) {
  if (sh("mkdir -p " + quote(dir)) != 0) fail(__FILE__, __LINE__, "mkdir -p " + dir);
  if (::mount(name.c_str(), dir.c_str(), "tmpfs", 0, options.empty() ? nullptr : options.c_str()) != 0)
    fail(__FILE__, __LINE__, "mount tmpfs on " + dir + ": " + strerror(errno));
}

RwLoop& RwLoop::operator=(RwLoop&& o) noexcept {
  detach();
  path = std::move(o.path);
  fd = std::move(o.fd);
  return *this;
}

void RwLoop::detach() {
  if (!fd.valid()) return;
  int zero = 0;
  ::ioctl(fd.get(), BLKROSET, &zero);
  ::ioctl(fd.get(), LOOP_CLR_FD, 0);
  fd.reset();
}

RwLoop attach_rw(const std::string& image) {
  strata::UniqueFd backing(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing.valid()) fail(__FILE__, __LINE__, "open " + image + ": " + strerror(errno));
  strata::UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) fail(__FILE__, __LINE__, std::string("open /dev/loop-control: ") + strerror(errno));
  for (int attempt = 0; attempt < 8; attempt++) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) fail(__FILE__, __LINE__, std::string("LOOP_CTL_GET_FREE: ") + strerror(errno));
    RwLoop loop;
    loop.path = "/dev/loop" + std::to_string(n);
    loop.fd = strata::UniqueFd(::open(loop.path.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop.fd.valid()) fail(__FILE__, __LINE__, "open " + loop.path + ": " + strerror(errno));
    loop_config cfg{};
    cfg.fd = static_cast<__u32>(backing.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(loop.fd.get(), LOOP_CONFIGURE, &cfg) == 0) {
      int zero = 0;  // a previous user may have left BLKROSET on this device
      ::ioctl(loop.fd.get(), BLKROSET, &zero);
      return loop;
    }
    if (errno != EBUSY) fail(__FILE__, __LINE__, "LOOP_CONFIGURE " + loop.path + ": " + strerror(errno));
    loop.fd.reset();
  }
  fail(__FILE__, __LINE__, "no free loop device for " + image);
}

DataDisk scratch_data_disk(const Ctx& c, int size_mb, long inodes) {
  ::umask(022);
  DataDisk d;
  if (auto e = setup_data_disk(d, c.scratch + "/data.img", c.scratch + strata::data::kMount, size_mb, inodes);
      !e.empty())
    fail(__FILE__, __LINE__, e);
  return d;
}

}  // namespace systest
