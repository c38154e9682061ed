// The `strata` commands, one file each.
#pragma once

#include <string>
#include <vector>

#include "context.h"

namespace cli {

int status_command(const Context& c, bool json);
int factory_reset_command(const Context& c, bool all, bool reboot);
// mark-good, mark-bad, rollback: changes to the slot record.
int slot_command(const Context& c, const std::string& which, bool reboot);
// `progress`: auto, terminal, lines, json or none (core/progress.h).
int update_command(const Context& c, const std::string& source, const std::string& slot, const std::string& progress);
// Runs the health checks in `dir` on a trial boot, then mark-good, or mark-bad and reboot.
int confirm_command(const Context& c, const std::string& dir, int timeout_s, bool reboot);
// RAUC's custom bootloader backend (get-primary, set-primary, get-state, set-state, get-current).
int rauc_backend_command(const Context& c, const std::vector<std::string>& args);
// The Mender update module for the "strata" payload type (STATE FILES_DIR).
int mender_command(const Context& c, const std::vector<std::string>& args);
int remount_command(const std::string& mode, const std::string& path);

}  // namespace cli
