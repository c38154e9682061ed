// libFuzzer: parse_verity on arbitrary bytes (the verity line of a bundle's
// manifest, of the slot record and of [root] verity_params). What parses
// keeps the kernel's limits, formats to a line no longer than a record
// reserves and parses back to the same parameters; a rejection says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = strata::parse_verity(text);
  if (!parsed.ok()) {
    if (parsed.error().message().empty()) abort();
    return 0;
  }
  const strata::VerityParams& v = *parsed;
  for (uint32_t bs : {v.data_block_size, v.hash_block_size})
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0) abort();
  if (v.data_blocks == 0 || v.root_hash.size() != 64 || v.salt.size() > 256 || v.salt.size() % 2) abort();
  // The tree must not overlap the data it covers.
  if (v.hash_start * v.hash_block_size < v.data_blocks * v.data_block_size) abort();

  const std::string line = strata::format_verity(v);
  if (line.size() > strata::kMaxVerityLength) abort();
  if (line.find('\n') != std::string::npos) abort();
  auto back = strata::parse_verity(line);
  if (!back.ok() || !(*back == v)) abort();

  const std::string table = strata::verity_table_params("/dev/vda1", v, strata::VerityOnCorruption::kRestart);
  if (table.find(v.root_hash) == std::string::npos) abort();
  if (strata::verity_sectors(v) != v.data_blocks * (v.data_block_size / 512)) abort();
  return 0;
}
