// strata's configuration: built-in defaults, then the INI file, then
// strata.<section>.<key>=value words from the kernel command line.
// Bad input never stops a boot: each problem becomes a Diagnostic naming
// where it was and which default is used instead.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cmdline.h"

namespace strata {

enum class UpperMode { kTmpfs, kNone };
enum class FailurePolicy { kRescue, kReboot };

// Stages at which strata.break=<stage> opens a shell before going on.
inline constexpr const char* kStages[] = {"modules", "devices", "mount", "binds", "switch"};

struct Config {
  // [boot]
  std::string init = "/sbin/init";
  FailurePolicy on_failure = FailurePolicy::kRescue;
  int reboot_delay_s = 10;
  int device_timeout_ms = 10000;
  // [root]
  std::string root_source = "PARTLABEL=root-a";
  std::string root_fstype = "auto";
  std::string root_image;  // empty: the source holds the filesystem itself
  std::string root_image_fstype = "auto";
  // [upper]
  UpperMode upper_mode = UpperMode::kTmpfs;
  std::string upper_size = "50%";
  uint64_t upper_inodes = 0;  // 0: the kernel's default
  // [binds]
  std::vector<std::string> readonly_binds;
  bool bind_nosuid = true, bind_nodev = true, bind_noexec = false;
  // command line only
  std::set<std::string> break_at;
  bool debug = false;
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
LoadedConfig load_config(std::string_view ini_text, const std::string& file,
                         const std::vector<CmdlineWord>& cmdline);

// Every key with its default, for --check and the README.
std::string describe_keys();

const char* to_string(UpperMode m);
const char* to_string(FailurePolicy p);

}  // namespace strata
