// libFuzzer: update bundle headers. Whatever the bytes, the parser returns a
// value or an error; what it accepts, make_bundle_header writes back into a
// header that parses to the same manifest; checking a signature never crashes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bundle.h"

namespace {

// The public half of the key that signed corpus/bundle/signed*.bin (its
// secret was thrown away), so the good-signature path is reached too.
constexpr std::string_view kPublicKey = "5d7b8341020809a4baf9a5d6d7d7624f9349e5733d83ab28cc533fdf45637659";

bool same(const strata::Manifest& a, const strata::Manifest& b) {
  return a.version == b.version && a.size == b.size && a.sha256 == b.sha256 && a.compatible == b.compatible &&
         a.min_version == b.min_version && a.keys == b.keys && a.images == b.images;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Anything but a whole block is refused as it is.
  if (size != strata::kBundleHeaderSize && strata::parse_bundle_header(input).ok()) abort();

  std::string block(input.substr(0, strata::kBundleHeaderSize));
  block.resize(strata::kBundleHeaderSize, '\0');
  auto h = strata::parse_bundle_header(block);
  if (!h) {
    if (h.error().message().empty()) abort();
    return 0;
  }
  if (!block.starts_with(h->signed_text)) abort();
  if (h->signatures.size() > strata::kMaxSignatures) abort();
  for (const auto& sig : h->signatures)
    if (sig.size() != 64) abort();
  if (h->manifest.keys.size() > strata::kMaxTrustedKeys) abort();
  if (h->manifest.size == 0 || h->manifest.sha256.size() != 64 || h->manifest.version.empty()) abort();
  // The images: one root (the one-image form) or a boot and a root image,
  // each non-empty; size and sha256 are the root image's.
  const auto& images = h->manifest.images;
  const strata::BundleImage* root = strata::find_image(h->manifest, strata::kRootImage);
  if (!root || root->size != h->manifest.size || root->sha256 != h->manifest.sha256) abort();
  if (images.size() != (strata::has_boot_image(h->manifest) ? 2u : 1u)) abort();
  uint64_t total = 0;
  for (const auto& img : images) {
    if (img.size == 0 || img.sha256.size() != 64 || img.size > UINT64_MAX - total) abort();
    total += img.size;
  }
  if (strata::images_size(h->manifest) != total) abort();

  auto made = strata::make_bundle_header(h->manifest, "");
  if (!made || made->size() != strata::kBundleHeaderSize) abort();
  auto again = strata::parse_bundle_header(*made);
  if (!again || !same(h->manifest, again->manifest) || !again->signatures.empty()) abort();

  // Unsigned never verifies; signed ones may (the corpus's own do).
  const strata::Status s = strata::verify_bundle_signature(*h, kPublicKey);
  if (s.ok() && h->signatures.empty()) abort();
  if (s.ok() != !strata::signing_keys(*h, {std::string(kPublicKey)}).empty()) abort();
  if (!s.ok() && s.error().message().empty()) abort();
  if (strata::verify_bundle_signature(*h, "not a key").ok()) abort();
  if (strata::verify_bundle_signature(*again, kPublicKey).ok()) abort();
  return 0;
}
