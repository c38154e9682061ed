#include "bundle.h"

#include <sodium.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "sha256.h"
#include "text.h"
#include "version.h"

namespace strata {

namespace {

constexpr std::string_view kMagic = "strata-bundle 1";
constexpr std::array<std::string_view, 9> kKeys = {"version", "size",   "sha256", "compatible", "min_version",
                                                   "keys",    "verity", "image",  "signature"};
enum Key { kVersion, kSize, kSha256, kCompatible, kMinVersion, kKeyList, kVerity, kImage, kSignature };

// libsodium asks for sodium_init() before its signing functions. Only here,
// not in Sha256: it blocks in getrandom(2) until the kernel's RNG is seeded,
// which is fine for `strata update` and the host tool but not for early boot.
// The static runs it once (thread-safe); sodium_init itself is idempotent.
void sodium_ready() {
  static const int rc = sodium_init();
  (void)rc;  // -1 only without an entropy source, and randombytes aborts then anyway
}

// version= and compatible=: a restricted alphabet, so a value can never break
// a line of the header, a message or a file name.
Status check_name(std::string_view key, std::string_view v) {
  const std::string k(key);
  if (v.empty()) return plain_error(k + " is empty");
  if (v.size() > kMaxNameLength)
    return plain_error(k + " " + quoted(v) + " is longer than " + std::to_string(kMaxNameLength) + " characters");
  for (char c : v)
    if (!is_name_char(c))
      return plain_error(k + " " + quoted(v) + " contains " + quoted_char(c) +
                         ", which is not allowed (only letters, digits and . _ + ~ : -)");
  // "-" alone is how the slot record writes "no version": never a real one.
  if (v == "-") return plain_error(k + " is \"-\", which is reserved (it means none)");
  return {};
}

Result<uint64_t> parse_size(std::string_view v) {
  if (v.empty()) return plain_error("size is empty");
  // Digits only: from_chars would stop at the first non-digit, strtoull takes '+', '-' and blanks.
  for (char c : v)
    if (c < '0' || c > '9') return plain_error("size " + quoted(v) + " is not a whole number of bytes");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range || end != v.data() + v.size())
    return plain_error("size " + quoted(v) + " is too large");
  if (n == 0) return plain_error("size is 0: the image must not be empty");
  return n;
}

// min_version= names a version no newer than the bundle's own: a bundle that
// would forbid itself is a mistake in the build, caught there.
Status check_min_version(const std::string& min, const std::string& version) {
  if (min.empty()) return {};
  if (auto s = check_name("min_version", min); !s) return s;
  if (compare_versions(min, version) > 0)
    return plain_error("min_version " + quoted(min) + " is newer than the bundle's version " + quoted(version) +
                       ": the bundle would refuse itself");
  return {};
}

// 64 hex digits of either case, kept lowercase so equal hashes compare equal.
Result<std::string> parse_sha256(std::string_view v) {
  auto raw = from_hex(v, crypto_hash_sha256_BYTES, "sha256");
  if (!raw) return raw.error();
  return to_hex(raw->data(), raw->size());
}

// The hash tree is part of the image the manifest's sha256 covers: data and
// tree must both lie inside its size.
Status check_verity(const std::optional<VerityParams>& v, uint64_t size) {
  if (!v) return {};
  if (v->data_blocks * v->data_block_size > size)
    return plain_error("verity: " + std::to_string(v->data_blocks) + " data blocks do not fit in the image's " +
                       std::to_string(size) + " bytes");
  if (v->hash_start * v->hash_block_size >= size)
    return plain_error("verity: the hash tree (block " + std::to_string(v->hash_start) + ") starts past the image's " +
                       std::to_string(size) + " bytes");
  return {};
}

// image=NAME SIZE SHA256: one image of a group.
Result<BundleImage> parse_image(std::string_view v) {
  const size_t s1 = v.find(' '), s2 = s1 == std::string_view::npos ? s1 : v.find(' ', s1 + 1);
  if (s2 == std::string_view::npos || v.find(' ', s2 + 1) != std::string_view::npos)
    return plain_error("image " + quoted(v) + " is not 'NAME SIZE SHA256' (three words, one blank between)");
  BundleImage img;
  img.name = std::string(v.substr(0, s1));
  if (img.name != kBootImage && img.name != kRootImage)
    return plain_error("image name " + quoted(img.name) +
                       " is unknown (known: boot, root; was the bundle made by a newer strata-bundle?)");
  auto size = parse_size(v.substr(s1 + 1, s2 - s1 - 1));
  if (!size) return plain_error("image " + img.name + ": " + size.error().message());
  img.size = *size;
  auto sha = parse_sha256(v.substr(s2 + 1));
  if (!sha) return plain_error("image " + img.name + ": " + sha.error().message());
  img.sha256 = *sha;
  return img;
}

// A group's images as a whole: a boot and a root image, each once, whose
// sizes add up without wrapping (a forged size must not make the total small).
Status check_group(const std::vector<BundleImage>& images) {
  uint64_t total = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (images[j].name == images[i].name) return plain_error("image " + images[i].name + " is listed twice");
    if (images[i].size > UINT64_MAX - total)
      return plain_error("the images' sizes add up to more than " + std::to_string(UINT64_MAX) + " bytes");
    total += images[i].size;
  }
  bool boot = false, root = false;
  for (const auto& img : images) (img.name == kBootImage ? boot : root) = true;
  if (!root) return plain_error("the group has no root image (image=root SIZE SHA256)");
  if (!boot)
    return plain_error("the group has no boot image: a root image alone is written as size= and sha256= lines");
  return {};
}

// The one validator behind the parser and make_bundle_header: make never
// writes what parse would refuse. Returns m with the hash in lowercase.
Result<Manifest> checked(const Manifest& given) {
  Manifest m = given;
  if (m.images.size() > 1) {
    for (auto& img : m.images) {
      if (img.name != kBootImage && img.name != kRootImage)
        return plain_error("image name " + quoted(img.name) + " is unknown (known: boot, root)");
      if (img.size == 0) return plain_error("image " + img.name + ": size is 0: the image must not be empty");
      auto sha = parse_sha256(img.sha256);
      if (!sha) return plain_error("image " + img.name + ": " + sha.error().message());
      img.sha256 = *sha;
    }
    if (auto s = check_group(m.images); !s) return s.error();
    const BundleImage& root = *find_image(m, kRootImage);
    m.size = root.size;
    m.sha256 = root.sha256;
  } else if (m.images.size() == 1) {
    if (m.images[0].name != kRootImage) return plain_error("the group has no root image (image=root SIZE SHA256)");
    m.size = m.images[0].size;
    m.sha256 = m.images[0].sha256;
  }
  if (auto s = check_name("version", m.version); !s) return s.error();
  if (m.size == 0) return plain_error("size is 0: the image must not be empty");
  auto sha = parse_sha256(m.sha256);
  if (!sha) return sha.error();
  if (m.images.size() <= 1) m.images = {BundleImage{std::string(kRootImage), m.size, *sha}};
  if (!m.compatible.empty())
    if (auto s = check_name("compatible", m.compatible); !s) return s.error();
  if (auto s = check_min_version(m.min_version, m.version); !s) return s.error();
  if (m.verity) {
    auto v = parse_verity(format_verity(*m.verity));
    if (!v) return v.error();
  }
  if (auto s = check_verity(m.verity, m.size); !s) return s.error();
  Manifest out = m;
  out.sha256 = *sha;
  if (!m.keys.empty()) {
    auto keys = parse_key_list(key_list_text(m.keys), "keys");
    if (!keys) return keys.error();
    out.keys = *keys;
  }
  return out;
}

}  // namespace

const BundleImage* find_image(const Manifest& m, std::string_view name) {
  for (const auto& img : m.images)
    if (img.name == name) return &img;
  return nullptr;
}

bool has_boot_image(const Manifest& m) {
  return find_image(m, kBootImage) != nullptr;
}

uint64_t images_size(const Manifest& m) {
  if (m.images.empty()) return m.size;
  uint64_t total = 0;
  for (const auto& img : m.images) total += img.size;
  return total;
}

Result<BundleHeader> parse_bundle_header(std::string_view block) {
  auto fail = [](const std::string& why) { return plain_error("bundle header: " + why); };
  if (block.size() != kBundleHeaderSize)
    return fail("it is " + std::to_string(block.size()) + " bytes, not " + std::to_string(kBundleHeaderSize));

  // The magic first: the likeliest mistake is a file that is no bundle at all.
  const std::string_view first = block.substr(0, block.find_first_of(std::string_view("\n\0", 2)));
  if (first != kMagic) {
    constexpr std::string_view kFamily = "strata-bundle ";
    if (first.starts_with(kFamily) && first.size() <= kFamily.size() + 8)
      return fail("format " + quoted(first) + " is not supported (this strata reads '" + std::string(kMagic) +
                  "'): a newer strata-bundle made it?");
    return fail("not a strata bundle: it does not start with the line '" + std::string(kMagic) + "'");
  }

  // The text runs to the first NUL; only NUL padding may follow it.
  const size_t nul = block.find('\0');
  const std::string_view text = block.substr(0, nul);
  auto line_of = [&](size_t offset) {
    size_t n = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) n += text[i] == '\n';
    return n;
  };
  if (nul != std::string_view::npos) {
    if (const size_t junk = block.find_first_not_of('\0', nul); junk != std::string_view::npos) {
      if (text.back() != '\n') return fail("line " + std::to_string(line_of(nul)) + ": contains a NUL byte");
      return fail("garbage after the manifest: byte " + std::to_string(junk) +
                  " is not NUL (the header is padded with NUL bytes only)");
    }
  }
  if (text.back() != '\n')
    return fail("line " + std::to_string(line_of(text.size())) + ": does not end with a newline");

  BundleHeader h;
  std::array<size_t, kKeys.size()> seen{};                  // line of each key, 0: not seen
  std::vector<std::pair<std::string, size_t>> image_lines;  // image= lines: name, line
  for (size_t pos = first.size() + 1, n = 2; pos < text.size(); ++n) {
    const size_t end = text.find('\n', pos);  // found: text ends with '\n'
    const std::string_view line = text.substr(pos, end - pos);
    auto at = [&](const std::string& why) { return fail("line " + std::to_string(n) + ": " + why); };
    if (seen[kSignature] && !line.starts_with("signature="))
      return at("a line after signature= (signatures must be the last lines: they cover everything before them)");
    if (line.empty()) return at("is empty");
    if (line.back() == '\r') return at("ends with a carriage return (lines must end with \\n alone)");
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return at(quoted(line) + " is not key=value");
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    size_t k = 0;
    while (k < kKeys.size() && kKeys[k] != key) ++k;
    if (k == kKeys.size())
      return at("unknown key " + quoted(key) +
                " (known: version, size, sha256, image, compatible, min_version, keys, verity, signature; was the "
                "bundle made by a newer strata-bundle?)");
    if (seen[k] && k != kSignature && k != kImage)
      return at(std::string(key) + " is given twice (first on line " + std::to_string(seen[k]) + ")");
    if (!seen[k]) seen[k] = n;
    switch (k) {
      case kVersion:
      case kCompatible:
        if (auto s = check_name(key, value); !s) return at(s.error().message());
        (k == kVersion ? h.manifest.version : h.manifest.compatible) = std::string(value);
        break;
      case kSize: {
        auto size = parse_size(value);
        if (!size) return at(size.error().message());
        h.manifest.size = *size;
        break;
      }
      case kSha256: {
        auto sha = parse_sha256(value);
        if (!sha) return at(sha.error().message());
        h.manifest.sha256 = *sha;
        break;
      }
      case kMinVersion:
        if (auto s = check_name(key, value); !s) return at(s.error().message());
        h.manifest.min_version = std::string(value);
        break;
      case kKeyList: {
        auto keys = parse_key_list(value, "keys");
        if (!keys) return at(keys.error().message());
        h.manifest.keys = *keys;
        break;
      }
      case kVerity: {
        auto v = parse_verity(value);
        if (!v) return at(v.error().message());
        h.manifest.verity = *v;
        break;
      }
      case kImage: {
        auto img = parse_image(value);
        if (!img) return at(img.error().message());
        for (const auto& [name, line] : image_lines)
          if (name == img->name)
            return at("image " + name + " is given twice (first on line " + std::to_string(line) + ")");
        image_lines.emplace_back(img->name, n);
        h.manifest.images.push_back(*img);
        break;
      }
      case kSignature: {
        if (h.signatures.size() == kMaxSignatures)
          return at("more than " + std::to_string(kMaxSignatures) + " signatures");
        auto sig = from_hex(value, crypto_sign_BYTES, "signature");
        if (!sig) return at(sig.error().message());
        h.signatures.push_back(*sig);
        if (h.signatures.size() == 1) h.signed_text = std::string(text.substr(0, pos));
        break;
      }
    }
    pos = end + 1;
  }
  if (seen[kImage]) {
    // The group form: the images' lines replace size= and sha256=.
    if (!seen[kVersion]) return fail("no version= line (version is required)");
    for (Key k : {kSize, kSha256})
      if (seen[k])
        return fail("line " + std::to_string(seen[k]) + ": " + std::string(kKeys[k]) +
                    "= in a bundle with image= lines (line " + std::to_string(seen[kImage]) +
                    "): the two forms cannot be mixed");
    if (auto s = check_group(h.manifest.images); !s) return fail(s.error().message());
    const BundleImage& root = *find_image(h.manifest, kRootImage);
    h.manifest.size = root.size;
    h.manifest.sha256 = root.sha256;
  } else {
    for (Key k : {kVersion, kSize, kSha256})
      if (!seen[k]) return fail("no " + std::string(kKeys[k]) + "= line (version, size and sha256 are required)");
    h.manifest.images = {BundleImage{std::string(kRootImage), h.manifest.size, h.manifest.sha256}};
  }
  if (auto s = check_min_version(h.manifest.min_version, h.manifest.version); !s)
    return fail("line " + std::to_string(seen[kMinVersion]) + ": " + s.error().message());
  if (auto s = check_verity(h.manifest.verity, h.manifest.size); !s)
    return fail("line " + std::to_string(seen[kVerity]) + ": " + s.error().message());
  if (!seen[kSignature]) h.signed_text = std::string(text);  // what a signature would cover
  return h;
}

namespace {

bool signed_by(const BundleHeader& h, const std::string& public_key_raw) {
  sodium_ready();
  for (const auto& sig : h.signatures)
    if (sig.size() == crypto_sign_BYTES &&
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                    reinterpret_cast<const unsigned char*>(h.signed_text.data()), h.signed_text.size(),
                                    reinterpret_cast<const unsigned char*>(public_key_raw.data())) == 0)
      return true;
  return false;
}

}  // namespace

Status verify_bundle_signature(const BundleHeader& h, std::string_view public_key_hex) {
  auto pk = from_hex(public_key_hex, crypto_sign_PUBLICKEYBYTES, "[update] public_key");
  if (!pk) return pk.error();
  if (h.signatures.empty())
    return plain_error("the bundle is not signed, and this device requires a signature ([update] public_key is set)");
  if (!signed_by(h, *pk))
    return plain_error("bad signature: the bundle was not signed by the key in [update] public_key, or it was altered");
  return {};
}

std::vector<std::string> signing_keys(const BundleHeader& h, const std::vector<std::string>& candidates) {
  std::vector<std::string> out;
  for (const auto& k : candidates) {
    auto pk = from_hex(k, crypto_sign_PUBLICKEYBYTES, "key");
    if (pk && signed_by(h, *pk)) out.push_back(k);
  }
  return out;
}

Result<std::vector<std::string>> parse_key_list(std::string_view text, const std::string& what) {
  std::vector<std::string> keys;
  size_t i = 0;
  auto sep = [](char c) { return c == ',' || c == ' ' || c == '\t'; };
  while (i < text.size()) {
    while (i < text.size() && sep(text[i])) ++i;
    size_t e = i;
    while (e < text.size() && !sep(text[e])) ++e;
    if (e == i) break;
    const std::string_view word = text.substr(i, e - i);
    auto raw = from_hex(word, crypto_sign_PUBLICKEYBYTES, what + " key " + std::to_string(keys.size() + 1));
    if (!raw) return raw.error();
    const std::string key = to_hex(raw->data(), raw->size());
    for (const auto& k : keys)
      if (k == key) return plain_error(what + ": key " + key.substr(0, 16) + "... is listed twice");
    if (keys.size() == kMaxTrustedKeys)
      return plain_error(what + ": more than " + std::to_string(kMaxTrustedKeys) + " keys");
    keys.push_back(key);
    i = e;
  }
  if (keys.empty()) return plain_error(what + " is empty: give 1 to " + std::to_string(kMaxTrustedKeys) + " keys");
  return keys;
}

std::string key_list_text(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

Result<std::string> make_bundle_header(const Manifest& m, std::string_view secret_key_hex) {
  if (secret_key_hex.empty()) return make_bundle_header(m, std::vector<std::string>{});
  return make_bundle_header(m, std::vector<std::string>{std::string(secret_key_hex)});
}

Result<std::string> make_bundle_header(const Manifest& m, const std::vector<std::string>& secret_keys_hex) {
  auto mm = checked(m);
  if (!mm) return plain_error("manifest: " + mm.error().message());
  if (secret_keys_hex.size() > kMaxSignatures)
    return plain_error(std::to_string(secret_keys_hex.size()) + " signing keys: a bundle holds at most " +
                       std::to_string(kMaxSignatures) + " signatures");
  std::string text = std::string(kMagic) + "\nversion=" + mm->version + "\n";
  if (mm->images.size() > 1) {
    for (const auto& img : mm->images)
      text += "image=" + img.name + " " + std::to_string(img.size) + " " + img.sha256 + "\n";
  } else {
    text += "size=" + std::to_string(mm->size) + "\nsha256=" + mm->sha256 + "\n";
  }
  if (!mm->compatible.empty()) text += "compatible=" + mm->compatible + "\n";
  if (!mm->min_version.empty()) text += "min_version=" + mm->min_version + "\n";
  if (!mm->keys.empty()) text += "keys=" + key_list_text(mm->keys) + "\n";
  if (mm->verity) text += "verity=" + format_verity(*mm->verity) + "\n";

  const std::string signed_text = text;
  for (const std::string& secret_key_hex : secret_keys_hex) {
    sodium_ready();
    auto sk = from_hex(secret_key_hex, crypto_sign_SECRETKEYBYTES, "the secret key");
    if (!sk) return sk.error();
    auto* key = reinterpret_cast<unsigned char*>(sk->data());
    // An ed25519 secret key is seed + public key; a damaged one would sign
    // bundles no device accepts, so check the halves belong together.
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], again[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, again, key);
    sodium_memzero(again, sizeof again);
    if (sodium_memcmp(pk, key + crypto_sign_SEEDBYTES, sizeof pk) != 0) {
      sodium_memzero(key, sk->size());
      return plain_error("the secret key is damaged: its public half does not match its seed");
    }
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(),
                         key);
    sodium_memzero(key, sk->size());
    text += "signature=" + to_hex(sig, sizeof sig) + "\n";
  }
  if (text.size() > kBundleHeaderSize)
    return plain_error("the manifest is " + std::to_string(text.size()) + " bytes, more than the " +
                       std::to_string(kBundleHeaderSize) + "-byte header holds");
  text.resize(kBundleHeaderSize, '\0');
  // Cheap, and makes "never a header the parser refuses" a fact, not a hope.
  if (auto p = parse_bundle_header(text); !p)
    return plain_error("internal error: the header made is refused: " + p.error().message());
  return text;
}

KeyPair generate_keypair() {
  sodium_ready();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  KeyPair kp{to_hex(pk, sizeof pk), to_hex(sk, sizeof sk)};
  sodium_memzero(sk, sizeof sk);
  return kp;
}

}  // namespace strata
