// Streaming SHA-256 (libsodium), hex out.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "result.h"

namespace strata {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finishes: call once
 private:
  crypto_hash_sha256_state st_;
};

std::string to_hex(const void* data, size_t size);
// Exactly `bytes` bytes of lower- or upper-case hex, or an error naming `what`.
Result<std::string> from_hex(std::string_view hex, size_t bytes, const std::string& what);

}  // namespace strata
