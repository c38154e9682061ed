#include "verity.h"

#include <charconv>
#include <vector>

#include "text.h"

namespace strata {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') j++;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool block_size_ok(uint64_t n) {
  return n >= 512 && n <= 65536 && (n & (n - 1)) == 0;
}

}  // namespace

std::string format_verity(const VerityParams& v) {
  return v.algorithm + " " + std::to_string(v.data_block_size) + " " + std::to_string(v.hash_block_size) + " " +
         std::to_string(v.data_blocks) + " " + std::to_string(v.hash_start) + " " + v.root_hash + " " +
         (v.salt.empty() ? "-" : v.salt);
}

Result<VerityParams> parse_verity(std::string_view text) {
  auto w = words(text);
  if (w.size() != 7)
    return plain_error(
        "verity: expected 7 fields (sha256 DATA_BLOCK HASH_BLOCK DATA_BLOCKS HASH_START ROOT SALT), got " +
        std::to_string(w.size()) + " in " + quoted(text));
  VerityParams v;
  // Only sha256: the kernel module list and the tools ship nothing else.
  if (w[0] != "sha256") return plain_error("verity: algorithm " + quoted(w[0]) + " is not sha256");
  uint64_t dbs = 0, hbs = 0;
  if (!parse_u64(w[1], dbs) || !block_size_ok(dbs))
    return plain_error("verity: data block size " + quoted(w[1]) + " is not a power of two in 512..65536");
  if (!parse_u64(w[2], hbs) || !block_size_ok(hbs))
    return plain_error("verity: hash block size " + quoted(w[2]) + " is not a power of two in 512..65536");
  v.data_block_size = static_cast<uint32_t>(dbs);
  v.hash_block_size = static_cast<uint32_t>(hbs);
  if (!parse_u64(w[3], v.data_blocks) || v.data_blocks == 0 || v.data_blocks > (uint64_t{1} << 40))
    return plain_error("verity: data block count " + quoted(w[3]) + " is not a number in 1..2^40");
  if (!parse_u64(w[4], v.hash_start) || v.hash_start > (uint64_t{1} << 40))
    return plain_error("verity: hash start " + quoted(w[4]) + " is not a number in 0..2^40");
  // The tree follows the data on the same device: it must not overlap it.
  if (v.hash_start * v.hash_block_size < v.data_blocks * v.data_block_size)
    return plain_error("verity: the hash tree (block " + std::to_string(v.hash_start) + ") starts inside the data (" +
                       std::to_string(v.data_blocks) + " blocks)");
  if (w[5].size() != 64 || !is_lower_hex(w[5]))
    return plain_error("verity: root hash " + quoted(w[5]) + " is not 64 lowercase hex digits");
  v.root_hash = std::string(w[5]);
  if (w[6] != "-") {
    if (w[6].size() > 256 || w[6].size() % 2 || !is_lower_hex(w[6]))
      return plain_error("verity: salt " + quoted(w[6]) + " is not '-' or up to 256 lowercase hex digits");
    v.salt = std::string(w[6]);
  }
  return v;
}

std::string verity_table_params(const std::string& device, const VerityParams& v, VerityOnCorruption mode) {
  std::string t = "1 " + device + " " + device + " " + std::to_string(v.data_block_size) + " " +
                  std::to_string(v.hash_block_size) + " " + std::to_string(v.data_blocks) + " " +
                  std::to_string(v.hash_start) + " " + v.algorithm + " " + v.root_hash + " " +
                  (v.salt.empty() ? "-" : v.salt);
  if (mode == VerityOnCorruption::kRestart) t += " 1 restart_on_corruption";
  return t;
}

}  // namespace strata
