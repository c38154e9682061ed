// Harness for the host system tests: every test body runs in a forked child
// that has its own private mount namespace and a scratch directory, so the
// real executor and syscall wrappers can mount, bind and switch root without
// touching the host. The child reports failures and notes through a pipe.
#pragma once

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "data_image.h"
#include "loop_device.h"
#include "plan.h"
#include "result.h"
#include "unique_fd.h"

namespace systest {

// ---- what a test body gets -------------------------------------------------

struct Ctx {
  std::string scratch;  // mkdtemp'd directory under /tmp, removed afterwards
};

// Thrown by the CHECK macros below inside the child; caught by run_isolated.
struct ChildFailure {
  std::string message;
};

[[noreturn]] void fail(const char* file, int line, const std::string& what);
// Counts one check; the total is reported to CppUTest by the parent.
void counted();
// An informational line shown in the test output (not a failure).
void note(const std::string& text);

template <typename T>
std::string show(const T& v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
inline std::string show(const std::string& v) {
  return "\"" + v + "\"";
}
inline std::string show(const char* v) {
  return v ? show(std::string(v)) : "(null)";
}
inline std::string show(bool v) {
  return v ? "true" : "false";
}

// Runs `body` in a forked child: unshare(CLONE_NEWNS), "/" made recursively
// private, a fresh scratch dir. Fails the current CppUTest test with the
// child's message when the body fails, crashes or runs past `timeout_s`.
// Afterwards checks that the host's mount table did not change and that no
// loop device attached by the test is left behind.
void run_isolated(const std::function<void(Ctx&)>& body, int timeout_s = 30);

// ---- fixtures (built once per test run into the build dir) ----------------

struct Fixtures {
  std::string dir;
  std::string squashfs, erofs, ext4;  // the same root tree in three formats
  std::string source_ext4;            // ext4 holding /images/root.squashfs
};
// Builds on first use (in the parent, before forking); fails the test when a
// tool is missing or fails.
const Fixtures& fixtures();
// Removes this run's fixture directory (at the end of main).
void remove_fixtures();

// ---- helpers usable in the child ------------------------------------------

struct MountEntry {
  int id = 0, parent = 0;
  std::string root, mount_point, options;  // options: per-mount (rw,nosuid,...)
  std::string fstype, source, super_options;
  bool has_option(const std::string& opt) const;
};
std::vector<MountEntry> mountinfo();
// The topmost mount whose mount point is exactly `path`.
std::optional<MountEntry> mount_at(const std::string& path);
std::string mountinfo_text();

// Runs a command through /bin/sh; returns its exit status (-1 on failure to run).
int sh(const std::string& command);
std::string quote(const std::string& s);

std::string read_text(const std::string& path);  // "" when it cannot be read
void write_text(const std::string& path, const std::string& data);
bool path_exists(const std::string& path);  // lstat
// Tries to create `path` (O_CREAT|O_EXCL); returns 0 on success (the file is
// removed again) or the errno.
int try_create(const std::string& path);

// The /sys/block/loopN name for /dev/loopN or <anything>/loopN.
std::string loop_name(const std::string& dev);
// True while /sys/block/<name>/loop/backing_file exists.
bool loop_attached(const std::string& name);
// Waits up to `ms` for the loop device to be detached.
bool wait_loop_free(const std::string& name, int ms = 3000);

long now_ms();

// A read-write loop device (attach_loop only attaches read-only), detached
// when it goes out of scope, with BLKROSET cleared first: the flag belongs to
// the block device and outlives the attachment.
struct RwLoop {
  std::string path;
  strata::UniqueFd fd;
  RwLoop() = default;
  RwLoop(RwLoop&&) = default;
  RwLoop& operator=(RwLoop&& o) noexcept;
  ~RwLoop() { detach(); }
  void detach();
};
// Fails the test when no loop device can be attached.
RwLoop attach_rw(const std::string& image);

// attach_loop() that fails the test when it fails.
strata::LoopDevice attach_or_fail(const std::string& image);

// The test's data partition: an ext4 image of `size_mb` MiB mounted at
// <scratch>/run/strata/data (umask 022, the modes the checks expect), or the test fails.
DataDisk scratch_data_disk(const Ctx& c, int size_mb = 32, long inodes = 0);
// A plan as decide() makes it for a tmpfs upper (same overlay options).
strata::BootPlan tmpfs_plan(const std::string& device, const std::string& fstype);
// The executor prefixes /dev too (for the image loop device): gives the
// scratch root a recursive bind of the real /dev.
void bind_dev_into(const std::string& root);
// Mounts a fresh tmpfs (source name `name`) at `dir`, creating it.
void mount_tmpfs(const std::string& dir, const std::string& name = "strata-test", const std::string& options = "");

}  // namespace systest

#define SYS_CHECK(cond)                                                   \
  do {                                                                    \
    ::systest::counted();                                                 \
    if (!(cond)) ::systest::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define SYS_CHECK_MSG(cond, msg)                                                                 \
  do {                                                                                           \
    ::systest::counted();                                                                        \
    if (!(cond)) ::systest::fail(__FILE__, __LINE__, std::string("CHECK(" #cond "): ") + (msg)); \
  } while (0)

#define SYS_EQ(expected, actual)                                                                                       \
  do {                                                                                                                 \
    ::systest::counted();                                                                                              \
    const auto& sys_e_ = (expected);                                                                                   \
    const auto& sys_a_ = (actual);                                                                                     \
    if (!(sys_e_ == sys_a_))                                                                                           \
      ::systest::fail(                                                                                                 \
          __FILE__, __LINE__,                                                                                          \
          "EQ(" #expected ", " #actual "): expected " + ::systest::show(sys_e_) + ", got " + ::systest::show(sys_a_)); \
  } while (0)

// For strata::Status / strata::Result<T>: fails with the error's message.
#define SYS_OK(result)                                                                                     \
  do {                                                                                                     \
    ::systest::counted();                                                                                  \
    const auto& sys_r_ = (result);                                                                         \
    if (!sys_r_.ok()) ::systest::fail(__FILE__, __LINE__, "OK(" #result "): " + sys_r_.error().message()); \
  } while (0)
