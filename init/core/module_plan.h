// Which kernel modules a boot loads, and when. The initramfs builder
// (tools/modorder.py) writes /lib/modules/strata.load: one
// "<level> <path> [<for>[,<for>...]]" line per module, dependencies first,
// where <for> names the board modules (board.conf's BOARD_MODULES) that pull
// it in. Storage modules load first, before the probe; a filesystem, loop or
// dm-verity module only once the plan says this boot mounts something that
// needs it. Pure: unit-tested, shown by --plan.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace strata {

struct BootPlan;

struct ModuleEntry {
  int level = 0;
  std::string path;
  std::vector<std::string> needed_by;  // board module names; empty: always (a list without them)
};

// Pure: parses the list; bad lines are reported in `errors`.
std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<std::string>& errors);

// What a board module is for: a filesystem type ("squashfs", "ext4", "overlay"),
// "loop", "dm-verity" (device-mapper and the hashes it uses), or "" for storage
// and anything else, which loads before the probe.
std::string module_need(const std::string& board_module);

// What the plan mounts: the filesystem types, "loop" for an image lower,
// "dm-verity" for a verity lower. An image of a probed type needs every
// lower filesystem the list has (squashfs and erofs).
std::set<std::string> plan_module_needs(const BootPlan& plan);

// The modules of `list` for `needs` (empty set: the storage modules, those
// that load before the probe), in level order, skipping paths in `loaded`.
std::vector<ModuleEntry> select_modules(const std::vector<ModuleEntry>& list, const std::set<std::string>& needs,
                                        const std::set<std::string>& loaded = {});

// "overlay, squashfs" for logs and --plan; "none" when empty.
std::string format_needs(const std::set<std::string>& needs);

}  // namespace strata
