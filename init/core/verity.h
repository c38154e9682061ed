// dm-verity parameters of a root image: what veritysetup printed when the
// hash tree was appended, carried in a bundle's signed manifest and in the
// slot record, and turned into a device-mapper table here. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"

namespace strata {

struct VerityParams {
  uint32_t data_block_size = 4096;  // bytes, a power of two, 512..65536
  uint32_t hash_block_size = 4096;
  uint64_t data_blocks = 0;  // the image's size in data blocks (the hash tree starts after them)
  uint64_t hash_start = 0;   // the tree's first block (the verity superblock), in hash blocks
  std::string algorithm = "sha256";
  std::string root_hash;  // hex, lowercase, 64 digits for sha256
  std::string salt;       // hex, lowercase, "" or up to 256 digits ("-" in a table)
  bool operator==(const VerityParams&) const = default;
};

// One line of text, the form the manifest and the record carry:
//   sha256 <data_block_size> <hash_block_size> <data_blocks> <hash_start> <root_hash> <salt|->
std::string format_verity(const VerityParams& v);
// That line -> the parameters, or what is wrong with it. Never throws.
Result<VerityParams> parse_verity(std::string_view text);

// The longest line format_verity makes (a record reserves this much per slot).
inline constexpr size_t kMaxVerityLength = 6 + 3 * 6 + 2 * 21 + 64 + 256 + 8;

// What the device does when a block does not match its hash.
enum class VerityOnCorruption {
  kEio,      // the read fails with EIO (the kernel's default)
  kRestart,  // the kernel restarts the machine (restart_on_corruption)
};

// The verity target's parameters (Documentation/admin-guide/device-mapper/verity.rst,
// version 1): data and hash on the same device, the tree after the data.
std::string verity_table_params(const std::string& device, const VerityParams& v, VerityOnCorruption mode);
// The size the device-mapper target covers, in 512-byte sectors.
inline uint64_t verity_sectors(const VerityParams& v) {
  return v.data_blocks * (v.data_block_size / 512);
}

}  // namespace strata
