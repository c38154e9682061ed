// Device-mapper through its ioctls on /dev/mapper/control (there is no static
// libdevmapper): create a device, load a table, resume it, read its status,
// remove it. Enough for dm-verity lowers; the table text comes from core/verity.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "result.h"
#include "verity.h"

namespace strata {

struct DmDevice {
  std::string name;  // as given to DM_DEV_CREATE
  std::string path;  // <dev_dir>/dm-<minor>: the node devtmpfs made, or one made here
  dev_t dev = 0;
};

// DM_DEV_CREATE + DM_TABLE_LOAD (one read-only target over [0, sectors)) +
// DM_DEV_SUSPEND (resume: the table goes live). On any failure the half-made
// device is removed again.
Result<DmDevice> dm_create(const std::string& name, const std::string& target, uint64_t sectors,
                           const std::string& params, const std::string& dev_dir = "/dev");
// Loads a new table and resumes, which swaps it in (the device stays open).
Status dm_reload(const std::string& name, const std::string& target, uint64_t sectors, const std::string& params);
// DM_TABLE_STATUS: the live target's status text (dm-verity: "V" verified so far, "C" corruption seen).
Result<std::string> dm_status(const std::string& name);
// DM_DEV_REMOVE. ENXIO (no such device) counts as done.
Status dm_remove(const std::string& name);

// A verity device over `device` (data and hash tree on it): dm_create with
// verity_table_params(), named `name`.
Result<DmDevice> dm_create_verity(const std::string& name, const std::string& device, const VerityParams& v,
                                  VerityOnCorruption mode, const std::string& dev_dir = "/dev");

// Reads `path` from start to end (a verity device: every block checked against
// the tree); the error names the byte offset of the first failed read.
Status read_all(const std::string& path);

}  // namespace strata
