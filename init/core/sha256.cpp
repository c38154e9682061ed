#include "sha256.h"

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "text.h"

namespace strata {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The low-level SHA256_* calls, deprecated in OpenSSL 3 in favour of EVP,
// link only the hash and its CPU dispatch (armcap/ia32cap); EVP would bring
// the provider machinery, hundreds of KB in a static binary, for the same code.
static_assert(sizeof(SHA256_CTX) <= Sha256Engine::kStateBytes);
const Sha256Engine kOpenSsl{
    "openssl",
    [](void* st) { SHA256_Init(static_cast<SHA256_CTX*>(st)); },
    [](void* st, const void* data, size_t size) { SHA256_Update(static_cast<SHA256_CTX*>(st), data, size); },
    [](void* st, unsigned char out[32]) { SHA256_Final(out, static_cast<SHA256_CTX*>(st)); },
};
const Sha256Engine* g_engine = &kOpenSsl;

}  // namespace

const Sha256Engine& openssl_sha256_engine() {
  return kOpenSsl;
}

void set_sha256_engine(const Sha256Engine* engine) {
  g_engine = engine ? engine : &kOpenSsl;
}

const Sha256Engine& sha256_engine() {
  return *g_engine;
}

Sha256::Sha256() : engine_(g_engine) {
  engine_->init(state_);
}

std::string Sha256::hex() {
  unsigned char out[32];
  engine_->final(state_, out);
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
