// strata's configuration: built-in defaults, then the INI file, then
// strata.<section>.<key>=value words from the kernel command line.
// Bad input never stops a boot: each problem becomes a Diagnostic naming
// where it was and which default is used instead.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cmdline.h"
#include "verity.h"

namespace strata {

enum class UpperMode { kTmpfs, kNone, kPersistent };
enum class FailurePolicy { kRescue, kReboot };
// What a persistent upper falls back to when the data partition is unusable.
enum class DataFailure { kTmpfs, kReadonly, kRescue };
// What happens to a persistent upper when the lower image changed under it.
enum class LowerChange { kKeep, kDiscard, kPreserve };
// What a factory reset removes: the overlay's upper, or that and the persistent paths.
enum class ResetTier { kOverlay, kAll };
// Where the A/B root images live: none (one root, [root]), two partitions, or
// two image files on the data partition.
enum class SlotMode { kNone, kPartitions, kFiles };
// Who picks the A/B slot and counts its tries: strata-init from its record
// (none), or U-Boot's boot script (uboot: a slot is a group of kernel,
// initramfs and root; strata-init boots the strata.slot= U-Boot passes).
enum class Bootloader { kNone, kUBoot };
// dm-verity lowers: off; on (a slot with a trusted root hash boots through a
// verity device, one without boots plain with a warning); required (a slot
// without one is not booted).
enum class VerityMode { kOff, kOn, kRequired };

// Stages at which strata.break=<stage> opens a shell before going on.
inline constexpr const char* kStages[] = {"modules", "devices", "mount", "binds", "switch"};

struct Config {
  // [boot]
  std::string init = "/sbin/init";
  FailurePolicy on_failure = FailurePolicy::kRescue;
  bool fallback_slot = false;  // on_failure = fallback-slot, ...: try the other good slot first
  int reboot_delay_s = 10;
  int device_timeout_ms = 10000;
  // Modules of the board's list the running system needs beyond this boot's mounts.
  std::vector<std::string> boot_modules;
  // [root]
  std::string root_source = "PARTLABEL=root-a";
  std::string root_fstype = "auto";
  std::string root_image;  // empty: the source holds the filesystem itself
  std::string root_image_fstype = "auto";
  VerityMode verity = VerityMode::kOff;
  // Without A/B slots: the root's verity parameters, trusted as the initramfs is.
  std::optional<VerityParams> root_verity;
  // [upper]
  UpperMode upper_mode = UpperMode::kTmpfs;
  std::string upper_size = "50%";
  uint64_t upper_inodes = 0;  // 0: the kernel's default
  LowerChange on_lower_change = LowerChange::kKeep;
  std::vector<std::string> preserve;  // with on_lower_change = preserve
  // [data]
  std::string data_source = "LABEL=data";
  std::string data_fstype = "auto";
  DataFailure on_data_failure = DataFailure::kTmpfs;
  // [binds]
  std::vector<std::string> readonly_binds;
  bool bind_nosuid = true, bind_nodev = true, bind_noexec = false;
  // [persist]
  std::vector<std::string> persist_paths;
  bool persist_add_new = false;  // new_files = add: copy files a new image ships that are missing
  // [reset]
  ResetTier reset_tier = ResetTier::kOverlay;
  // [slots]
  SlotMode slot_mode = SlotMode::kNone;
  std::string slot_source[2] = {"PARTLABEL=root-a", "PARTLABEL=root-b"};  // with mode = partitions
  int slot_tries = 3;
  Bootloader bootloader = Bootloader::kNone;
  std::string bootstate_source = "PARTLABEL=bootstate";  // the bootloader state pair (bootloader = uboot)
  // [update]
  std::vector<std::string> update_public_keys;  // 64 hex each: ed25519 keys bundles are signed with (none: not checked)
  bool update_allow_downgrade = false;
  std::string update_compatible;  // bundles for another board are refused ("": any)
  // command line only
  std::set<std::string> break_at;
  bool debug = false;
  bool reset = false;    // strata.reset=1|overlay|all
  std::string crash_at;  // strata.crash_at=<point>: fault injection for power-cut tests
  // What U-Boot's boot script said (strata.slot=, strata.trial=,
  // strata.bootfallback=, strata.bootstate=none; bootloader = uboot).
  std::optional<int> boot_slot, boot_trial_left, boot_fallback_from;
  bool boot_state_missing = false;
};

struct Diagnostic {
  std::string where;    // "/etc/strata/strata.ini:12" or "kernel command line"
  std::string message;  // what is wrong and what is used instead
};

struct LoadedConfig {
  Config config;
  std::vector<Diagnostic> diagnostics;
  std::map<std::string, std::string> values;  // "section.key" -> text in effect, for messages
};

// Parses INI text (named `file` in messages) over the defaults, then applies
// the command-line words. Pure: no I/O.
LoadedConfig load_config(std::string_view ini_text, const std::string& file, const std::vector<CmdlineWord>& cmdline);

// Every key with its default, for --check and the README.
std::string describe_keys();

const char* to_string(UpperMode m);
const char* to_string(FailurePolicy p);
const char* to_string(DataFailure d);
const char* to_string(LowerChange c);
const char* to_string(ResetTier t);
const char* to_string(SlotMode m);
const char* to_string(Bootloader b);
const char* to_string(VerityMode m);
// "fallback-slot, reboot", as the config says it.
std::string describe_failure(bool fallback_slot, FailurePolicy p);

}  // namespace strata
