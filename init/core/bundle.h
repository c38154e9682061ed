// An update bundle: a 4096-byte header (manifest, optional ed25519
// signature) followed by the root image, so it can be streamed
// (`wget -O- URL | strata update -`) and checked before a byte is written.
//
//   strata-bundle 1\n
//   version=2.1\n            required: [A-Za-z0-9._+~:-], 1..64 chars
//   size=12345678\n          required: image bytes after the header, > 0
//   sha256=<64 hex>\n        required: of the image bytes
//   compatible=<name>\n      optional: the board the image is for
//   signature=<128 hex>\n    optional: ed25519 over every byte before this line
//   NUL padding to 4096 bytes
//
// Keys may appear in any order but once each; unknown keys are refused (a
// newer format must not be half-understood).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"

namespace strata {

inline constexpr size_t kBundleHeaderSize = 4096;

struct Manifest {
  std::string version;
  uint64_t size = 0;
  std::string sha256;      // 64 lowercase hex
  std::string compatible;  // "" any board
};

struct BundleHeader {
  Manifest manifest;
  std::string signed_text;  // the bytes the signature covers
  std::string signature;    // 64 raw bytes, "" when unsigned
};

// Parses a header block (exactly kBundleHeaderSize bytes, else an error).
// Never throws, whatever the bytes.
Result<BundleHeader> parse_bundle_header(std::string_view block);

// Checks the signature against a public key (64 hex chars). An unsigned
// bundle, a malformed key or a mismatch is an error saying which.
Status verify_bundle_signature(const BundleHeader& h, std::string_view public_key_hex);

// The header block for `m`, signed when `secret_key_hex` (128 hex) is not empty.
Result<std::string> make_bundle_header(const Manifest& m, std::string_view secret_key_hex);

struct KeyPair {
  std::string public_hex;  // 64 hex chars: goes into [update] public_key
  std::string secret_hex;  // 128 hex chars: stays on the build host
};
KeyPair generate_keypair();

}  // namespace strata
