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

class Executor {
 public:
  // `root` prefixes every path, so host tests run the executor in a scratch dir.
  explicit Executor(std::string root = "") : root_(std::move(root)) {}
  ~Executor() = default;

  // Called before each stage with its name; strata.break hooks in here.
  std::function<void(const std::string& stage)> before_stage;

  Status mount_layers(const BootPlan& plan);
  // Warnings for configured binds that do not exist in the lower.
  Status bind_paths(const BootPlan& plan, std::vector<std::string>& warnings);
  // Unmounts everything this executor mounted, newest first.
  void undo();

  const std::vector<StageTime>& times() const { return times_; }
  // Why the data partition could not be used, when that made the attempt fail.
  const std::string& data_error() const { return data_error_; }
  // What was done to the data partition (reset, lower change, seeding).
  const std::vector<std::string>& actions() const { return actions_; }
  // Called at named points of a reset; strata.crash_at simulates a power cut there.
  std::function<void(const std::string& point)> crash_point = [](const std::string&) {};
  std::string path(const std::string& p) const { return root_ + p; }
  std::string loop_device() const { return loop_device_; }

 private:
  Status mount_tracked(const std::string& src, const std::string& target, const std::string& fstype,
                       unsigned long flags, const std::string& data = "");
  Status mount_lower(const BootPlan& plan);
  Status mount_upper_and_overlay(const BootPlan& plan);
  Status mount_data(const BootPlan& plan);
  Status bind_persistent(const BootPlan& plan, std::vector<std::string>& warnings);

  std::string root_;
  std::vector<std::string> mounted_;
  std::vector<StageTime> times_;
  std::string loop_device_;
  std::string data_error_;
  std::vector<std::string> actions_;
};

}  // namespace strata
