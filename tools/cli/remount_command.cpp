// `strata remount rw|ro PATH`: opens or closes a read-only mount (a
// read-only bind, the slot image directory) for maintenance.
#include <cstdio>

#include "commands.h"
#include "paths.h"
#include "write_window.h"

namespace cli {

int remount_command(const std::string& mode, const std::string& path) {
  if (mode != "rw" && mode != "ro") return fail("remount: '" + mode + "' is not rw or ro");
  if (auto s = strata::remount(path, mode == "ro", strata::paths::kLock); !s)
    return fail("remount " + mode + " " + path + ": " + s.error().message());
  std::printf("strata: %s is now %s\n", path.c_str(), mode == "ro" ? "read-only" : "read-write");
  return 0;
}

}  // namespace cli
