// Where things live while strata runs. Everything under /run/strata stays
// reachable in the new root, because /run is moved there whole.
#pragma once

namespace strata::paths {
inline constexpr const char* kConfig = "/etc/strata/strata.ini";
inline constexpr const char* kModuleList = "/lib/modules/strata.load";
inline constexpr const char* kNewRoot = "/newroot";
inline constexpr const char* kRunStrata = "/run/strata";
inline constexpr const char* kSource = "/run/strata/source";  // partition holding an image file
inline constexpr const char* kLower = "/run/strata/lower";
inline constexpr const char* kUpperFs = "/run/strata/upper";  // the filesystem of the upper layer
inline constexpr const char* kUpperDir = "/run/strata/upper/data";
inline constexpr const char* kWorkDir = "/run/strata/upper/work";
inline constexpr const char* kStatus = "/run/strata/status";
// The config as this boot read it, for the CLI (the initramfs is gone after the switch).
inline constexpr const char* kConfigCopy = "/run/strata/strata.ini";
// Taken by every process that opens a write window on slot storage or remounts.
inline constexpr const char* kLock = "/run/strata/update.lock";
inline constexpr const char* kRescueShell = "/bin/sh";
}  // namespace strata::paths
