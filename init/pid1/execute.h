// Runs the mount part of a boot plan: lower (device, or image on a loop
// device), upper, overlay, read-only binds. Each mount is remembered so a
// failed attempt can be undone before the next one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plan.h"
#include "result.h"

namespace strata {

struct StageTime {
  std::string stage;
  int64_t ms = 0;
};

// A configured read-only bind or persistent path, as the boot left it: bound
// (at the place it resolved to inside the new root) or skipped, and why.
struct BindOutcome {
  std::string kind;  // "read-only bind" or "persistent path"
  std::string path;  // as configured
  std::string at;    // where it is bound ("" when skipped)
  std::string why;   // why it was skipped ("" when bound)
};

class Executor {
 public:
  // `root` prefixes every path, so host tests run the executor in a scratch dir.
  explicit Executor(std::string root = "") : root_(std::move(root)) {}
  ~Executor() = default;

  // Called before each stage with its name; strata.break hooks in here.
  std::function<void(const std::string& stage)> before_stage;

  // Mounts the data partition at /run/strata/data ahead of the plan: the A/B
  // slot record on it is a fact the plan is decided from. mount_layers then
  // uses this mount.
  Status mount_data_partition(const std::string& device, const std::string& fstype);
  Status mount_layers(const BootPlan& plan);
  // A/B: keeps the slot storage read-only outside updates (BLKROSET on the
  // partitions, a read-only mount over the image directory).
  void protect_slots(const BootPlan& plan, std::vector<std::string>& warnings);
  // Warnings for configured binds that do not exist in the lower.
  Status bind_paths(const BootPlan& plan, std::vector<std::string>& warnings);
  // Unmounts everything this executor mounted, newest first.
  void undo();

  const std::vector<StageTime>& times() const { return times_; }
  // Why the data partition could not be used, when that made the attempt fail.
  const std::string& data_error() const { return data_error_; }
  // Why the lower could not be mounted, when that made the attempt fail (fallback-slot).
  const std::string& lower_error() const { return lower_error_; }
  // What was done to the data partition (reset, lower change, seeding).
  const std::vector<std::string>& actions() const { return actions_; }
  // Every configured bind and persistent path: made or skipped (status, `strata status`).
  const std::vector<BindOutcome>& binds() const { return binds_; }
  // Paths skipped while mounting the layers (preserve paths that cannot be
  // resolved inside the upper): the boot goes on, degraded.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Called at named points of a reset; strata.crash_at simulates a power cut there.
  std::function<void(const std::string& point)> crash_point = [](const std::string&) {};
  std::string path(const std::string& p) const { return root_ + p; }
  std::string loop_device() const { return loop_device_; }
  // The verity device this attempt made, "" for none.
  const std::string& verity_name() const { return verity_name_; }
  const std::string& verity_device() const { return verity_device_; }

 private:
  Status mount_tracked(const std::string& src, const std::string& target, const std::string& fstype,
                       unsigned long flags, const std::string& data = "");
  Status mount_lower(const BootPlan& plan);  // and reads the image's init through
  Status mount_lower_image(const BootPlan& plan);
  // Sets up plan.verity over `device`, reads it through once, returns the dm node.
  Result<std::string> open_verity(const BootPlan& plan, const std::string& device);
  Status mount_upper_and_overlay(const BootPlan& plan);
  Status mount_data(const BootPlan& plan);
  Status write_slot_record(const BootPlan& plan);
  Status bind_persistent(const BootPlan& plan, std::vector<std::string>& warnings);
  // Where configured `path` is mounted: resolved inside the new root. `why` is
  // set when it cannot be (dangling link, loop, not a directory...).
  struct BindPoint {
    std::string at;       // inside the new root, no symlinks on the way
    bool create = false;  // missing, with no link on the way: made as named
    std::string why;
  };
  BindPoint bind_point(const std::string& configured) const;
  // The pristine image's directory at `at`, reached with no symlink, or "".
  std::string image_dir(const std::string& at) const;
  // Records a skipped path: console, warnings and binds().
  void skip_bind(const char* kind, const std::string& configured, const std::string& why,
                 std::vector<std::string>& warnings);

  std::string root_;
  std::vector<std::string> mounted_;
  std::vector<StageTime> times_;
  std::string loop_device_;
  std::string verity_name_;  // the device-mapper device undo() removes
  std::string verity_device_;
  std::string data_error_;
  std::string lower_error_;
  bool data_mounted_ = false;
  std::vector<std::string> actions_;
  std::vector<BindOutcome> binds_;
  std::vector<std::string> warnings_;
};

}  // namespace strata
