// The decision: a pure function from facts (config, command line, probed
// devices) to a boot plan. No I/O here, so it is unit-tested without root and
// printed on the host with --plan.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "device_spec.h"
#include "slot_state.h"
#include "verity.h"

namespace strata {

struct Facts {
  Config config;
  std::vector<Diagnostic> diagnostics;  // from reading the config and command line
  std::vector<BlockDevice> devices;     // what probing found
  bool device_wait_timed_out = false;
  int device_wait_ms = 0;
  // Set when an attempt found the data partition unusable (mount or probe
  // failed); the next decision applies [data] on_failure.
  std::string data_error;
  // A/B: the slot record, read from the data partition before deciding.
  SlotReading slots;
  // A slot whose root could not be mounted in this boot, and why (fallback-slot).
  std::optional<int> failed_slot;
  std::string failed_slot_why;
};

struct BindPlan {
  std::string path;    // as configured; resolved inside the new root at boot (resolve.h)
  std::string source;  // the pristine lower's copy as named, for --plan; the executor binds the
                       // image's directory at the resolved path
  bool nosuid = true, nodev = true, noexec = false;
};

struct BootPlan {
  // When non-empty the root cannot be mounted: what is wrong, for the console.
  std::string fatal;

  // Lower layer.
  std::string root_spec;     // as configured: PARTLABEL=root-a
  std::string root_device;   // resolved: /dev/vda1
  std::string root_fstype;   // squashfs, erofs, ext4 (image case: the source's type)
  std::string image;         // image file on the source, "" for none
  std::string image_fstype;  // "" means probe the loop device at mount time

  UpperMode upper_mode = UpperMode::kTmpfs;             // what this boot uses
  UpperMode configured_upper_mode = UpperMode::kTmpfs;  // what the config asked for
  std::string tmpfs_options;                            // data for the tmpfs upper mount
  std::string overlay_options;                          // overlay options besides the layer dirs

  std::vector<BindPlan> binds;

  // Data partition: persistent upper and persistent paths.
  bool use_data = false;
  std::string data_spec, data_device, data_fstype;
  bool reset = false;  // strata.reset on the command line (a request file can add one)
  ResetTier reset_tier = ResetTier::kOverlay;
  LowerChange on_lower_change = LowerChange::kKeep;
  std::vector<std::string> preserve;
  std::vector<std::string> persist_paths;
  bool persist_add_new = false;
  std::string crash_at;

  // A/B slots ([slots] mode != none).
  SlotMode slot_mode = SlotMode::kNone;
  int slot = -1;                              // the slot this boot runs
  std::optional<SlotState> slot_write;        // made durable before the lower is mounted
  std::string slot_write_what;                // names that write (crash points, log)
  SlotState slot_state;                       // the record as it stands once written
  Bootloader bootloader = Bootloader::kNone;  // uboot: U-Boot chose p.slot and counts its tries
  std::string bootstate_device;               // uboot: the partition of its state ("" not found)
  std::string boot_devices[2];                // uboot: each slot's boot partition (boot-a, boot-b; "" not found)
  StateHealth slot_health = StateHealth::kMissing;
  std::vector<std::string> slot_reasons;  // why this slot (console, status)
  std::string slot_devices[2];            // partition slots: kept read-only (BLKROSET)
  bool image_on_data = false;             // file slots: the image is on the mounted data partition
  bool fallback_slot = false;

  // dm-verity: set when the lower is mounted through a verity device over
  // root_device (or the image's loop device) named verity_name.
  VerityMode verity_mode = VerityMode::kOff;
  std::optional<VerityParams> verity;
  std::string verity_name;

  // What the mounts above need besides the storage modules (module_plan.h):
  // filesystem types, "loop", "dm-verity"; loaded once this plan is made.
  std::set<std::string> modules;

  std::string init;
  FailurePolicy on_failure = FailurePolicy::kRescue;
  int reboot_delay_s = 10;
  std::set<std::string> break_at;
  bool debug = false;

  // Anything that made this boot differ from what was configured.
  std::vector<std::string> warnings;
  bool degraded = false;
};

// The devices the boot must wait for before it can decide.
std::vector<DeviceSpec> required_devices(const Config& config);
// Every device the config names: the required ones, then those the plan uses
// when present (bootloader = uboot: the boot state and each slot's boot
// partition). PID 1 probes only devices that can be one of these.
std::vector<DeviceSpec> named_devices(const Config& config);

// True when the boot needs the data partition (a persistent upper or paths,
// or the A/B slot record).
bool wants_data(const Config& config);

// The data partition among the probed devices, with its filesystem type, or
// why it cannot be used.
struct DataLocation {
  const BlockDevice* device = nullptr;
  std::string fstype;
  std::string error;
};
DataLocation locate_data(const Config& config, const std::vector<BlockDevice>& devices);

// The image file of a file slot, relative to the data partition's root.
std::string slot_image_path(int slot);

BootPlan decide(const Facts& facts);

// Human-readable plan, as --plan prints it.
std::string format_plan(const BootPlan& plan);

}  // namespace strata
