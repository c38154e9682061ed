#include "sha256.h"

#include "text.h"

namespace strata {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// No sodium_init() here, on purpose: it seeds libsodium's RNG with a blocking
// getrandom(2), and the PID 1 hashes (image_id.cpp) before the kernel's RNG may
// be ready. SHA-256 needs neither randomness nor libsodium's CPU dispatch;
// bundle.cpp calls sodium_init() before it signs or verifies.
Sha256::Sha256() {
  crypto_hash_sha256_init(&st_);
}

void Sha256::update(const void* data, size_t size) {
  crypto_hash_sha256_update(&st_, static_cast<const unsigned char*>(data), size);
}

std::string Sha256::hex() {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st_, out);
  return to_hex(out, sizeof out);
}

std::string to_hex(const void* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0xf];
  }
  return out;
}

Result<std::string> from_hex(std::string_view hex, size_t bytes, const std::string& what) {
  const std::string expected = what + " is not " + std::to_string(2 * bytes) + " hex digits";
  if (hex.size() != 2 * bytes) return plain_error(expected + " (it has " + std::to_string(hex.size()) + " characters)");
  std::string out(bytes, '\0');
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t at = hi < 0 ? i : i + 1;
      return plain_error(expected + " (" + quoted_char(hex[at]) + " at position " + std::to_string(at + 1) + ")");
    }
    out[i / 2] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace strata
