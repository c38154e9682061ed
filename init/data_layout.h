// What strata keeps on the data partition, under /strata. Shared by the
// PID-1 and the on-device CLI, which sees the same tree at the same path
// (/run/strata/data moves into the new root with /run).
#pragma once

namespace strata::data {
inline constexpr const char* kMount = "/run/strata/data";
inline constexpr const char* kTop = "/run/strata/data/strata";
inline constexpr const char* kUpper = "/run/strata/data/strata/upper";  // holds data/ and work/
inline constexpr const char* kLowerId = "/run/strata/data/strata/upper.lower-id";
inline constexpr const char* kPersist = "/run/strata/data/strata/persist";  // one tree per persistent path
inline constexpr const char* kTrash = "/run/strata/data/strata/trash";      // moved aside, deleted later
inline constexpr const char* kResetRequest = "/run/strata/data/strata/reset-request";
}  // namespace strata::data
