// An update bundle: a 4096-byte header (manifest, optional ed25519
// signature) followed by the images it lists, end to end, so it can be
// streamed (`wget -O- URL | strata update -`) and checked before a byte is
// written. Two forms, told apart by their lines:
//
// - one root image (every bundle before groups, and still the form for
//   [slots] bootloader = none): size= and sha256= describe it;
// - a group (bootloader = uboot: a slot is its boot partition plus its root):
//   one image= line per image, in stream order, and no size= or sha256=.
//
//   strata-bundle 1\n
//   version=2.1\n            required: [A-Za-z0-9._+~:-], 1..64 chars
//   size=12345678\n          one-image form, required: image bytes after the header, > 0
//   sha256=<64 hex>\n        one-image form, required: of the image bytes
//   image=boot 4194304 <64 hex>\n
//                            group form, once per image in stream order: its
//                            name (boot: a slot's boot partition, vfat with
//                            kernel, initramfs, cmdline.txt; root: the root
//                            image), size (> 0) and sha256; root is required
//   compatible=<name>\n      optional: the board the image is for
//   min_version=<version>\n  optional: once installed, nothing older installs
//   keys=<64 hex>[,...]\n     optional: the public keys the device trusts after
//                            this update (key rotation, README "Security")
//   verity=sha256 4096 ...\n optional: the root image's dm-verity parameters (core/verity.h),
//                            the hash tree inside the image's bytes
//   signature=<128 hex>\n    optional, up to kMaxSignatures lines, last: each an
//                            ed25519 signature over every byte before the first
//   NUL padding to 4096 bytes
//
// Keys may appear in any order but once each (signature= and image= excepted;
// each image name once); unknown keys and image names are refused (a newer
// format must not be half-understood: a strata without groups refuses a
// group bundle at image=, it never installs its root alone).
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

// The names an image= line may carry.
inline constexpr std::string_view kBootImage = "boot";
inline constexpr std::string_view kRootImage = "root";

struct BundleImage {
  std::string name;  // kBootImage or kRootImage
  uint64_t size = 0;
  std::string sha256;  // 64 lowercase hex
  bool operator==(const BundleImage&) const = default;
};

struct Manifest {
  std::string version;
  uint64_t size = 0;   // the root image's
  std::string sha256;  // the root image's, 64 lowercase hex (the slot record's image id)
  // Every image in stream order. Parsed: always set (the one-image form gives
  // one root image). Made: empty or one root image writes the one-image form
  // from size and sha256; more writes the group form (size and sha256 are
  // then taken from its root image).
  std::vector<BundleImage> images;
  std::string compatible;              // "" any board
  std::string min_version;             // "" none; never newer than version
  std::vector<std::string> keys;       // 64 lowercase hex each; empty: the trusted keys stay as they are
  std::optional<VerityParams> verity;  // none: the image has no hash tree
};

// The image named `name`, or null.
const BundleImage* find_image(const Manifest& m, std::string_view name);
// Whether the bundle carries a boot image (the group form with boot=).
bool has_boot_image(const Manifest& m);
// The bytes of every image after the header (no overflow: the parser
// refuses a group whose sizes add up past 2^64 - 1).
uint64_t images_size(const Manifest& m);

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
