// Streaming SHA-256, hex out: the one SHA-256 interface of the project.
// OpenSSL's libcrypto does the work by default: it uses the CPU's SHA
// instructions (x86 SHA-NI, ARMv8 crypto extensions) where they exist, and
// its static SHA-256 is small. libsodium's portable C stays available as a
// second engine (sha256_sodium.cpp), for comparisons: the update benchmark,
// the unit tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "result.h"

namespace strata {

// An implementation of SHA-256 over an opaque state of at most kStateBytes.
struct Sha256Engine {
  static constexpr size_t kStateBytes = 256;
  const char* name;
  void (*init)(void* state);
  void (*update)(void* state, const void* data, size_t size);
  void (*final)(void* state, unsigned char out[32]);
};

const Sha256Engine& openssl_sha256_engine();
const Sha256Engine& sodium_sha256_engine();  // sha256_sodium.cpp: linked only where named
// The engine new Sha256 objects use (set it before threads hash); nullptr: OpenSSL's.
void set_sha256_engine(const Sha256Engine* engine);
const Sha256Engine& sha256_engine();

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size) { engine_->update(state_, data, size); }
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finishes: call once
 private:
  const Sha256Engine* engine_;
  alignas(16) unsigned char state_[Sha256Engine::kStateBytes];
};

std::string to_hex(const void* data, size_t size);
// Exactly `bytes` bytes of lower- or upper-case hex, or an error naming `what`.
Result<std::string> from_hex(std::string_view hex, size_t bytes, const std::string& what);

}  // namespace strata
