// An update bundle: a 4096-byte header (manifest, optional ed25519
// signature) followed by the root image, so it can be streamed
// (`wget -O- URL | strata update -`) and checked before a byte is written.
//
//   strata-bundle 1\n
//   version=2.1\n            required: [A-Za-z0-9._+~:-], 1..64 chars
//   size=12345678\n          required: image bytes after the header, > 0
//   sha256=<64 hex>\n        required: of the image bytes
//   compatible=<name>\n      optional: the board the image is for
//   min_version=<version>\n  optional: once installed, nothing older installs
//   keys=<64 hex>[,...]\n     optional: the public keys the device trusts after
//                            this update (key rotation, README "Security")
//   verity=sha256 4096 ...\n optional: the image's dm-verity parameters (core/verity.h),
//                            the hash tree inside the image's bytes
//   signature=<128 hex>\n    optional, up to kMaxSignatures lines, last: each an
//                            ed25519 signature over every byte before the first
//   NUL padding to 4096 bytes
//
// Keys may appear in any order but once each (signature= excepted); unknown
// keys are refused (a newer format must not be half-understood).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "verity.h"

namespace strata {

inline constexpr size_t kBundleHeaderSize = 4096;
inline constexpr size_t kMaxSignatures = 8;
inline constexpr size_t kMaxTrustedKeys = 8;  // in keys= and in the slot record

struct Manifest {
  std::string version;
  uint64_t size = 0;
  std::string sha256;                  // 64 lowercase hex
  std::string compatible;              // "" any board
  std::string min_version;             // "" none; never newer than version
  std::vector<std::string> keys;       // 64 lowercase hex each; empty: the trusted keys stay as they are
  std::optional<VerityParams> verity;  // none: the image has no hash tree
};

struct BundleHeader {
  Manifest manifest;
  std::string signed_text;              // the bytes every signature covers
  std::vector<std::string> signatures;  // 64 raw bytes each; none when unsigned
};

// Parses a header block (exactly kBundleHeaderSize bytes, else an error).
// Never throws, whatever the bytes.
Result<BundleHeader> parse_bundle_header(std::string_view block);

// Checks that one of the signatures is by a public key (64 hex chars). An
// unsigned bundle, a malformed key or a mismatch is an error saying which.
Status verify_bundle_signature(const BundleHeader& h, std::string_view public_key_hex);
// The keys of `candidates` (64 hex each) that signed the bundle, in their order.
std::vector<std::string> signing_keys(const BundleHeader& h, const std::vector<std::string>& candidates);

// A public key list as keys= and [update] public_key write it: 64-hex keys
// separated by commas or blanks, 1..kMaxTrustedKeys, no key twice. Lowercased.
Result<std::vector<std::string>> parse_key_list(std::string_view text, const std::string& what);
std::string key_list_text(const std::vector<std::string>& keys);  // comma-separated

// The header block for `m`, signed by each secret key (128 hex); unsigned with none.
Result<std::string> make_bundle_header(const Manifest& m, const std::vector<std::string>& secret_keys_hex);
// One key, or unsigned when `secret_key_hex` is empty.
Result<std::string> make_bundle_header(const Manifest& m, std::string_view secret_key_hex);

struct KeyPair {
  std::string public_hex;  // 64 hex chars: goes into [update] public_key
  std::string secret_hex;  // 128 hex chars: stays on the build host
};
KeyPair generate_keypair();

}  // namespace strata
