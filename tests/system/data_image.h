// A writable data partition for the persistence tests and the reset
// benchmark: an ext4 image file on a read-write loop device. No CppUTest in
// here, so strata_reset_bench uses it too.
#pragma once

#include <string>

#include "loop_device.h"
#include "result.h"

namespace systest {

// Creates `image` (sparse, `size_mb` MiB) and formats it as ext4 with
// `inodes` inodes (0: mkfs's default). Returns "" or what went wrong,
// with mkfs's output.
std::string make_ext4_image(const std::string& image, int size_mb, long inodes = 0);

// Attaches `image` read-write to a free loop device with autoclear: the
// device goes away at the last close once no mount holds it.
strata::Result<strata::LoopDevice> attach_loop_rw(const std::string& image);

// An ext4 image on a read-write loop device, mounted.
struct DataDisk {
  strata::LoopDevice loop;  // held open: the device stays while the test runs, autoclear frees it after
  std::string image, mnt;
};
// Makes `image`, attaches it and mounts it (MS_NOATIME) at `mnt`, made if
// missing. Returns "" or what went wrong.
std::string setup_data_disk(DataDisk& d, const std::string& image, const std::string& mnt, int size_mb,
                            long inodes = 0);
// Unmounts and mounts again: what a reboot does to the data partition.
std::string remount_data_disk(const DataDisk& d);

// Creates `count` empty files under `dir` (made with its parents if missing), `per_dir` to a
// subdirectory d0000, d0001, ... Returns "" or what went wrong.
std::string make_tree(const std::string& dir, long count, long per_dir = 1000);

// Entries under `dir` (files, directories, links; `dir` itself not counted),
// without crossing into other filesystems. -1 when `dir` cannot be read.
long count_entries(const std::string& dir);

}  // namespace systest
