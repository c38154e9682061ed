// libsodium's portable SHA-256 as a Sha256 engine. Not the default: a
// separate object, so that programs that never name it (the PID-1) do not
// link libsodium's core for it.
#include <sodium.h>

#include "sha256.h"

namespace strata {
namespace {

// No sodium_init() here, on purpose: it seeds libsodium's RNG with a blocking
// getrandom(2); SHA-256 needs neither randomness nor libsodium's CPU dispatch.
static_assert(sizeof(crypto_hash_sha256_state) <= Sha256Engine::kStateBytes);
const Sha256Engine kSodium{
    "libsodium",
    [](void* st) { crypto_hash_sha256_init(static_cast<crypto_hash_sha256_state*>(st)); },
    [](void* st, const void* data, size_t size) {
      crypto_hash_sha256_update(static_cast<crypto_hash_sha256_state*>(st), static_cast<const unsigned char*>(data),
                                size);
    },
    [](void* st, unsigned char out[32]) { crypto_hash_sha256_final(static_cast<crypto_hash_sha256_state*>(st), out); },
};

}  // namespace

const Sha256Engine& sodium_sha256_engine() {
  return kSodium;
}

}  // namespace strata
