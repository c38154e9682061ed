// Monotonic milliseconds, for stage timings and timeouts (microseconds for module loads). 64-bit on every
// architecture (a 32-bit long would wrap after 24.8 days).
#pragma once

#include <time.h>

#include <cstdint>

namespace strata {

inline int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace strata
