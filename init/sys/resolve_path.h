// Resolving a configured path inside a directory on the real filesystem:
// core/resolve.h's walk, each step asked of the kernel with openat2(2)
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (so even a racing change cannot make
// a step leave the root), or with fstatat/readlinkat under the root's fd on
// kernels without openat2 (ENOSYS, before 5.6). The walk itself is ours on
// both, so a dangling link and a path that is simply missing stay apart.
#pragma once

#include <string>

#include "resolve.h"
#include "result.h"

namespace strata::sys {

enum class ResolveWith { kBest, kFstatat };

// An error only when `root` cannot be opened; what the walk met is in the Resolution.
Result<Resolution> resolve_in_root(const std::string& root, const std::string& path,
                                   ResolveWith with = ResolveWith::kBest);

}  // namespace strata::sys
