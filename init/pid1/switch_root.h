// Makes the new root the root: moves /dev /proc /sys /run into it, switches
// (pivot_root where / is not the initramfs, else MS_MOVE + chroot), frees the
// initramfs without crossing into other filesystems, reopens the console.
#pragma once

#include <string>

#include "result.h"

namespace strata {

// kBackground: a child at the lowest priority deletes the initramfs's files
// while the real init starts (it outlives us as the real init's child); the
// memory comes back a little later, the boot does not wait for it.
enum class FreeInitramfs { kNow, kBackground };

Status switch_root(const std::string& newroot, FreeInitramfs how = FreeInitramfs::kNow);

// Deletes everything below the directory `dirfd` that lives on device `dev`.
// Directories on another device (mount points) are left alone.
void delete_tree_on_device(int dirfd, dev_t dev);

}  // namespace strata
