// The failure ladder's last rungs: a rescue shell on the console, or a
// visible countdown and a reboot. PID 1 never returns from a failure any
// other way.
#pragma once

#include <string>

#include "result.h"

namespace strata {

// Runs `shell` on the console with `banner` above the prompt and waits for it.
// An error when the shell could not be started at all.
Status run_shell(const std::string& shell, const std::string& banner);

// Counts down on the console, syncs and reboots. Never returns.
[[noreturn]] void reboot_after(int seconds, const std::string& reason);

}  // namespace strata
