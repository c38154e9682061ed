// The logger: "strata: ..." lines to /dev/kmsg with a syslog level, or to
// stderr when not running as PID 1 (host tools, tests).
#pragma once

#include <string>

namespace strata::log {

enum Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// Sends log lines to /dev/kmsg from now on (after /dev is mounted).
void use_kmsg();
// Debug lines (every syscall of the executor) are dropped unless enabled.
void set_debug(bool on);
bool debug_enabled();

void write(Level level, const std::string& line);
void printf(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Writes straight to the console, whatever the kernel's console log level:
// for what a person at the console must see (fatal errors, degraded boots).
void console(const std::string& text);

}  // namespace strata::log

#define LOGE(...) ::strata::log::printf(::strata::log::kError, __VA_ARGS__)
#define LOGW(...) ::strata::log::printf(::strata::log::kWarning, __VA_ARGS__)
#define LOGN(...) ::strata::log::printf(::strata::log::kNotice, __VA_ARGS__)
#define LOGI(...) ::strata::log::printf(::strata::log::kInfo, __VA_ARGS__)
#define LOGD(...)                                                                                  \
  do {                                                                                             \
    if (::strata::log::debug_enabled()) ::strata::log::printf(::strata::log::kDebug, __VA_ARGS__); \
  } while (0)
