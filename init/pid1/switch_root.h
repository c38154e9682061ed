// Makes the new root the root: moves /dev /proc /sys /run into it, switches
// (pivot_root where / is not the initramfs, else MS_MOVE + chroot), frees the
// initramfs without crossing into other filesystems, reopens the console.
#pragma once

#include <string>

#include "result.h"

namespace strata {

Status switch_root(const std::string& newroot);

// Deletes everything below the directory `dirfd` that lives on device `dev`.
// Directories on another device (mount points) are left alone.
void delete_tree_on_device(int dirfd, dev_t dev);

}  // namespace strata
