// Will this root tree boot under strata? The checks a host tool runs over a
// root a user brings (their Debian, Buildroot or Yocto output) before it is
// packed into an image, with the same config and the same path resolution the
// PID-1 uses at boot, so what it says is what the boot would do. Pure: the
// tree is reached through callbacks, so every case is unit-tested without one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "resolve.h"

namespace strata {

struct RootFinding {
  enum Severity { kNote, kError } severity = kError;
  std::string path;     // the configured path inside the root, as the config names it
  std::string message;  // what is wrong (or worth knowing) and what the boot would do
};

struct RootTree {
  // Resolves a path inside the root the way strata-init does (RESOLVE_IN_ROOT).
  std::function<Resolution(const std::string& path)> resolve;
  // Whether a resolved regular file (no links on the way) has an execute bit.
  std::function<bool(const std::string& path)> executable;
};

// The mount points strata-init moves into the new root before switching.
inline constexpr const char* kRootMountPoints[] = {"/dev", "/proc", "/sys", "/run"};

// Errors are what would fail or degrade the boot: the configured init missing
// or not executable, a mount point that is missing or not a plain directory, a
// read-only bind or persistent path strata-init would skip (a read-only bind
// the image lacks included; a missing persistent path is created at boot). Notes say where a
// configured path is reached through links (resolved inside the root).
std::vector<RootFinding> check_root(const Config& config, const RootTree& tree);

bool has_errors(const std::vector<RootFinding>& findings);

}  // namespace strata
