// Update bundle headers (parse, make, signatures) and the SHA-256/hex helpers.
#include <CppUTest/TestHarness.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <utility>

#include "bundle.h"
#include "helpers.h"
#include "sha256.h"

using namespace strata;
using strata::test::contains;

namespace {

const std::string kSha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Header text padded with NULs to a whole header block.
std::string block(std::string text) {
  text.resize(kBundleHeaderSize, '\0');
  return text;
}

// The manifest lines after the magic, before any signature.
std::string lines(const std::string& version = "2.1", const std::string& size = "123", const std::string& sha = kSha) {
  return "version=" + version + "\nsize=" + size + "\nsha256=" + sha + "\n";
}

std::string header(const std::string& body) {
  return block("strata-bundle 1\n" + body);
}

Manifest manifest(const std::string& compatible = "") {
  Manifest m;
  m.version = "2.1";
  m.size = 123;
  m.sha256 = kSha;
  m.compatible = compatible;
  return m;
}

void check_equal(const Manifest& a, const Manifest& b) {
  CHECK_EQUAL(a.version, b.version);
  UNSIGNED_LONGLONGS_EQUAL(a.size, b.size);
  CHECK_EQUAL(a.sha256, b.sha256);
  CHECK_EQUAL(a.compatible, b.compatible);
}

BundleHeader parsed(const std::string& blk) {
  auto h = parse_bundle_header(blk);
  CHECK_TRUE_TEXT(h.ok(), h.ok() ? "" : h.error().message().c_str());
  return *h;
}

// The block is refused with a message that holds `reason`.
void refused(const std::string& blk, const std::string& reason) {
  auto h = parse_bundle_header(blk);
  CHECK_FALSE_TEXT(h.ok(), ("accepted; expected: " + reason).c_str());
  const std::string msg = h.error().message();
  CHECK_TRUE_TEXT(contains(msg, reason), (msg + "\n  lacks: " + reason).c_str());
  CHECK_TRUE_TEXT(msg.starts_with("bundle header: "), msg.c_str());
}

void make_refused(const Manifest& m, const std::string& reason, const std::string& key = "") {
  auto h = make_bundle_header(m, key);
  CHECK_FALSE_TEXT(h.ok(), ("made; expected: " + reason).c_str());
  CHECK_TRUE_TEXT(contains(h.error().message(), reason), (h.error().message() + "\n  lacks: " + reason).c_str());
}

std::string made(const Manifest& m, const std::string& key = "") {
  auto h = make_bundle_header(m, key);
  CHECK_TRUE_TEXT(h.ok(), h.ok() ? "" : h.error().message().c_str());
  return *h;
}

}  // namespace

TEST_GROUP(Bundle){};

TEST(Bundle, RoundTripUnsigned) {
  const std::string blk = made(manifest());
  LONGS_EQUAL(kBundleHeaderSize, blk.size());
  CHECK_EQUAL(header(lines()), blk);
  BundleHeader h = parsed(blk);
  check_equal(manifest(), h.manifest);
  LONGS_EQUAL(0, h.signatures.size());
  CHECK_EQUAL("strata-bundle 1\n" + lines(), h.signed_text);
}

TEST(Bundle, RoundTripWithCompatibleAndSignature) {
  const KeyPair kp = generate_keypair();
  const std::string blk = made(manifest("qemu-aarch64"), kp.secret_hex);
  BundleHeader h = parsed(blk);
  check_equal(manifest("qemu-aarch64"), h.manifest);
  LONGS_EQUAL(1, h.signatures.size());
  LONGS_EQUAL(64, h.signatures[0].size());
  CHECK_EQUAL("strata-bundle 1\n" + lines() + "compatible=qemu-aarch64\n", h.signed_text);
  CHECK_TRUE(blk.starts_with(h.signed_text + "signature="));
}

TEST(Bundle, KeysInAnyOrderAndUppercaseHashKeptLowercase) {
  std::string upper = kSha;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BundleHeader h = parsed(header("compatible=b\nsha256=" + upper + "\nsize=7\nversion=1\n"));
  CHECK_EQUAL(kSha, h.manifest.sha256);
  UNSIGNED_LONGLONGS_EQUAL(7, h.manifest.size);
  CHECK_EQUAL(std::string("b"), h.manifest.compatible);
}

TEST(Bundle, LimitsThatAreAccepted) {
  const std::string v64(64, 'v');
  BundleHeader h = parsed(header(lines(v64, "18446744073709551615") + "compatible=A-z0.9_+~:-\n"));
  CHECK_EQUAL(v64, h.manifest.version);
  UNSIGNED_LONGLONGS_EQUAL(UINT64_MAX, h.manifest.size);
  CHECK_EQUAL(std::string("A-z0.9_+~:-"), h.manifest.compatible);
}

TEST(Bundle, RefusesABlockOfTheWrongSize) {
  refused(header(lines()).substr(0, 4095), "it is 4095 bytes, not 4096");
  refused(header(lines()) + '\0', "it is 4097 bytes, not 4096");
  refused("", "it is 0 bytes, not 4096");
}

TEST(Bundle, RefusesWhatIsNoBundle) {
  refused(block(""), "not a strata bundle: it does not start with the line 'strata-bundle 1'");
  refused(block("hsqs\x01\x02"), "not a strata bundle");
  refused(block("Strata-bundle 1\n" + lines()), "not a strata bundle");
  refused(std::string(kBundleHeaderSize, 'x'), "not a strata bundle");
  refused(block("strata-bundle 2\n" + lines()), "format 'strata-bundle 2' is not supported");
  refused(block("strata-bundle 1\r\n" + lines()), "is not supported");
  refused(block("strata-bundle 1"), "line 1: does not end with a newline");
}

TEST(Bundle, RefusesBadLines) {
  refused(header(lines() + "\n"), "line 5: is empty");
  refused(header("version=1\r\nsize=1\nsha256=" + kSha + "\n"), "line 2: ends with a carriage return");
  refused(header(lines() + "compatible\n"), "line 5: 'compatible' is not key=value");
  refused(header(lines() + "arch=arm64\n"), "line 5: unknown key 'arch'");
  refused(header(lines() + "Version=2\n"), "line 5: unknown key 'Version'");
  refused(header(lines() + "=2\n"), "line 5: unknown key ''");
  refused(header(lines() + "version=3\n"), "line 5: version is given twice (first on line 2)");
  refused(header(lines() + "compatible=a\ncompatible=a\n"), "line 6: compatible is given twice (first on line 5)");
  refused(header(lines() + "size=1"), "line 5: does not end with a newline");
}

TEST(Bundle, RefusesNulInsideAndGarbageAfterTheText) {
  std::string blk = header(lines());
  blk[20] = '\0';
  refused(blk, "line 2: contains a NUL byte");
  blk = header(lines());
  blk[kBundleHeaderSize - 1] = 'x';
  refused(blk, "garbage after the manifest: byte 4095 is not NUL");
  blk = header(lines());
  blk[("strata-bundle 1\n" + lines()).size() + 1] = '\n';
  refused(blk, "garbage after the manifest");
  // No NUL at all: the last line runs to the end of the block.
  std::string full = "strata-bundle 1\n" + lines() + "compatible=";
  full.resize(kBundleHeaderSize, 'a');
  refused(full, "line 5: does not end with a newline");
}

TEST(Bundle, RefusesAMissingRequiredKey) {
  refused(header("size=1\nsha256=" + kSha + "\n"), "no version= line (version, size and sha256 are required)");
  refused(header("version=1\nsha256=" + kSha + "\n"), "no size= line");
  refused(header("version=1\nsize=1\n"), "no sha256= line");
  refused(header(""), "no version= line");
}

TEST(Bundle, RefusesABadSize) {
  refused(header(lines("1", "0")), "line 3: size is 0: the image must not be empty");
  refused(header(lines("1", "")), "line 3: size is empty");
  refused(header(lines("1", "+5")), "line 3: size '+5' is not a whole number of bytes");
  refused(header(lines("1", "-5")), "size '-5' is not a whole number of bytes");
  refused(header(lines("1", " 5")), "is not a whole number of bytes");
  refused(header(lines("1", "5 ")), "is not a whole number of bytes");
  refused(header(lines("1", "0x10")), "is not a whole number of bytes");
  refused(header(lines("1", "1e6")), "is not a whole number of bytes");
  refused(header(lines("1", "18446744073709551616")), "line 3: size '18446744073709551616' is too large");
  refused(header(lines("1", std::string(40, '9'))), "is too large");
}

TEST(Bundle, RefusesABadSha256) {
  refused(header(lines("1", "1", kSha.substr(1))), "line 4: sha256 is not 64 hex digits (it has 63 characters)");
  refused(header(lines("1", "1", kSha + "0")), "line 4: sha256 is not 64 hex digits (it has 65 characters)");
  refused(header(lines("1", "1", "g" + kSha.substr(1))), "line 4: sha256 is not 64 hex digits ('g' at position 1)");
  refused(header(lines("1", "1", "")), "sha256 is not 64 hex digits (it has 0 characters)");
}

TEST(Bundle, RefusesABadVersionOrCompatible) {
  refused(header(lines("")), "line 2: version is empty");
  refused(header(lines(std::string(65, 'v'))), "line 2: version 'vvvv");
  refused(header(lines(std::string(65, 'v'))), "is longer than 64 characters");
  refused(header(lines("2.1 beta")), "line 2: version '2.1 beta' contains ' ', which is not allowed");
  refused(header(lines("../x")), "contains '/'");
  refused(header(lines("caf\xc3\xa9")), "version 'caf\\xc3\\xa9' contains 0xc3");
  refused(header(lines() + "compatible=\n"), "line 5: compatible is empty");
  refused(header(lines() + "compatible=a,b\n"), "line 5: compatible 'a,b' contains ','");
  refused(header(lines() + "compatible=" + std::string(65, 'c') + "\n"), "is longer than 64 characters");
}

TEST(Bundle, RefusesAMisplacedOrMalformedSignature) {
  const std::string sig(128, 'a');
  refused(header("signature=" + sig + "\n" + lines()), "line 3: a line after signature=");
  refused(header(lines() + "signature=" + sig + "\ncompatible=x\n"), "signatures must be the last lines");
  refused(header(lines() + "signature=" + sig + "\nsignature=" + sig + "\nkeys=x\n"),
          "line 7: a line after signature=");
  refused(header(lines() + "signature=" + sig.substr(2) + "\n"),
          "line 5: signature is not 128 hex digits (it has 126 characters)");
  refused(header(lines() + "signature=" + sig.substr(1) + "z\n"),
          "signature is not 128 hex digits ('z' at position 128)");
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += "signature=" + sig + "\n";
  refused(header(lines() + nine), "line 13: more than 8 signatures");
}

TEST(Bundle, UnknownKeysAreRefusedWhereverTheyAre) {
  refused(header("foo=bar\n" + lines()), "line 2: unknown key 'foo'");
}

TEST(Bundle, MakeRefusesWhatTheParserWouldRefuse) {
  Manifest m = manifest();
  m.version = "";
  make_refused(m, "manifest: version is empty");
  m = manifest();
  m.version = "1 2";
  make_refused(m, "manifest: version '1 2' contains ' '");
  m = manifest();
  m.version = "1\nsize=9";
  make_refused(m, "contains 0x0a");
  m = manifest();
  m.size = 0;
  make_refused(m, "manifest: size is 0");
  m = manifest();
  m.sha256 = "abc";
  make_refused(m, "manifest: sha256 is not 64 hex digits");
  m = manifest();
  m.compatible = std::string(65, 'c');
  make_refused(m, "manifest: compatible");
  m = manifest();
  m.compatible = "a\nsignature=";
  make_refused(m, "compatible 'a\\x0asignature=' contains 0x0a");
}

TEST(Bundle, MakeWritesTheHashInLowercase) {
  Manifest m = manifest();
  for (auto& c : m.sha256) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  check_equal(manifest(), parsed(made(m)).manifest);
}

TEST(Bundle, MakeRefusesABadSecretKey) {
  make_refused(manifest(), "the secret key is not 128 hex digits (it has 3 characters)", "abc");
  const KeyPair kp = generate_keypair();
  make_refused(manifest(), "the secret key is not 128 hex digits", kp.public_hex);
  std::string damaged = kp.secret_hex;
  damaged[100] = damaged[100] == '0' ? '1' : '0';  // in the public half
  make_refused(manifest(), "the secret key is damaged", damaged);
}

TEST_GROUP(BundleSignature) {
  KeyPair kp;
  void setup() override {
    kp = generate_keypair();
  }
};

TEST(BundleSignature, KeyPairShape) {
  LONGS_EQUAL(64, kp.public_hex.size());
  LONGS_EQUAL(128, kp.secret_hex.size());
  CHECK_TRUE(from_hex(kp.public_hex, 32, "k").ok());
  CHECK_TRUE(kp.secret_hex.ends_with(kp.public_hex));  // libsodium: seed + public key
  CHECK_TRUE(generate_keypair().public_hex != kp.public_hex);
}

TEST(BundleSignature, GoodSignatureVerifies) {
  BundleHeader h = parsed(made(manifest("board"), kp.secret_hex));
  Status s = verify_bundle_signature(h, kp.public_hex);
  CHECK_TRUE_TEXT(s.ok(), s.ok() ? "" : s.error().message().c_str());
  std::string upper = kp.public_hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK_TRUE(verify_bundle_signature(h, upper).ok());
}

TEST(BundleSignature, WrongKeyIsRefused) {
  BundleHeader h = parsed(made(manifest(), kp.secret_hex));
  Status s = verify_bundle_signature(h, generate_keypair().public_hex);
  CHECK_FALSE(s.ok());
  CHECK_EQUAL(
      std::string("bad signature: the bundle was not signed by the key in [update] public_key, or it was altered"),
      s.error().message());
}

TEST(BundleSignature, AlteredManifestIsRefused) {
  const std::string blk = made(manifest(), kp.secret_hex);
  // Every byte the signature covers matters; a changed one that still parses must fail verification.
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"version=2.1", "version=2.2"},
                                 {"size=123", "size=124"},
                                 {"sha256=e3", "sha256=f3"},
                                 {"sha256=e3", "sha256=E3"}}) {
    std::string altered = blk;
    altered.replace(altered.find(from), from.size(), to);
    BundleHeader h = parsed(altered);
    Status s = verify_bundle_signature(h, kp.public_hex);
    CHECK_FALSE_TEXT(s.ok(), to.c_str());
    CHECK_TRUE(contains(s.error().message(), "bad signature"));
  }
  // A flipped bit of the signature itself.
  std::string altered = blk;
  const size_t at = altered.find("signature=") + 10;
  altered[at] = altered[at] == '0' ? '1' : '0';
  CHECK_FALSE(verify_bundle_signature(parsed(altered), kp.public_hex).ok());
}

TEST(BundleSignature, UnsignedBundleIsRefusedWhenAKeyIsSet) {
  Status s = verify_bundle_signature(parsed(made(manifest())), kp.public_hex);
  CHECK_FALSE(s.ok());
  CHECK_EQUAL(
      std::string("the bundle is not signed, and this device requires a signature ([update] public_key is set)"),
      s.error().message());
}

TEST(BundleSignature, MalformedPublicKeyIsNamed) {
  BundleHeader h = parsed(made(manifest(), kp.secret_hex));
  Status s = verify_bundle_signature(h, "xyz");
  CHECK_FALSE(s.ok());
  CHECK_EQUAL(std::string("[update] public_key is not 64 hex digits (it has 3 characters)"), s.error().message());
  s = verify_bundle_signature(h, kp.secret_hex);
  CHECK_TRUE(contains(s.error().message(), "[update] public_key is not 64 hex digits"));
  s = verify_bundle_signature(h, "");
  CHECK_TRUE(contains(s.error().message(), "[update] public_key"));
}

TEST(BundleSignature, ForgedSignatureOfWrongLengthIsRefused) {
  BundleHeader h = parsed(made(manifest(), kp.secret_hex));
  h.signatures[0].pop_back();  // only a caller can do this; the parser never does
  CHECK_FALSE(verify_bundle_signature(h, kp.public_hex).ok());
}

// Every test of the group runs with each engine: OpenSSL's (the default) and
// libsodium's; teardown puts the default back.
TEST_GROUP(Sha256){void teardown() override{set_sha256_engine(nullptr);
}
}
;

namespace {

const Sha256Engine* const kEngines[] = {&sodium_sha256_engine(), &openssl_sha256_engine()};

}  // namespace

TEST(Sha256, DefaultIsOpensslAndEnginesSwitch) {
  STRCMP_EQUAL("openssl", sha256_engine().name);
  set_sha256_engine(&sodium_sha256_engine());
  STRCMP_EQUAL("libsodium", sha256_engine().name);
  set_sha256_engine(nullptr);
  STRCMP_EQUAL("openssl", sha256_engine().name);
}

TEST(Sha256, KnownVectors) {
  for (const Sha256Engine* e : kEngines) {
    set_sha256_engine(e);
    CHECK_EQUAL(kSha, Sha256().hex());
    Sha256 abc;
    abc.update("abc");
    CHECK_EQUAL(std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), abc.hex());
    Sha256 two_blocks;
    two_blocks.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    CHECK_EQUAL(std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), two_blocks.hex());
    // A million 'a' (FIPS 180-2): many blocks, through the engines' bulk paths.
    Sha256 million;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(chunk);
    CHECK_EQUAL(std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), million.hex());
  }
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>(i * 7);
  for (const Sha256Engine* e : kEngines) {
    set_sha256_engine(e);
    Sha256 one;
    one.update(data);
    const std::string expected = one.hex();
    for (size_t cut : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{299}, size_t{300}}) {
      Sha256 two;
      two.update(data.data(), cut);
      two.update(data.data() + cut, data.size() - cut);
      CHECK_EQUAL(expected, two.hex());
    }
    Sha256 bytes;
    for (char c : data) bytes.update(&c, 1);
    CHECK_EQUAL(expected, bytes.hex());
  }
}

TEST(Sha256, ToHexAndBack) {
  const std::string raw("\x00\x01\xab\xff", 4);
  CHECK_EQUAL(std::string("0001abff"), to_hex(raw.data(), raw.size()));
  CHECK_EQUAL(std::string(""), to_hex("", 0));
  auto back = from_hex("0001ABff", 4, "x");
  CHECK_TRUE(back.ok());
  CHECK_TRUE(raw == *back);
  auto empty = from_hex("", 0, "x");
  CHECK_TRUE(empty.ok());
  CHECK_EQUAL(std::string(""), *empty);
}

TEST(Sha256, FromHexErrorsNameWhat) {
  auto r = from_hex("abc", 2, "the key");
  CHECK_FALSE(r.ok());
  CHECK_EQUAL(std::string("the key is not 4 hex digits (it has 3 characters)"), r.error().message());
  r = from_hex("abcde", 2, "the key");
  CHECK_EQUAL(std::string("the key is not 4 hex digits (it has 5 characters)"), r.error().message());
  r = from_hex("ab g", 2, "the key");
  CHECK_EQUAL(std::string("the key is not 4 hex digits (' ' at position 3)"), r.error().message());
  r = from_hex("abcg", 2, "the key");
  CHECK_EQUAL(std::string("the key is not 4 hex digits ('g' at position 4)"), r.error().message());
  r = from_hex(std::string("ab\0c", 4), 2, "k");
  CHECK_EQUAL(std::string("k is not 4 hex digits (0x00 at position 3)"), r.error().message());
  r = from_hex("0x12", 2, "k");
  CHECK_EQUAL(std::string("k is not 4 hex digits ('x' at position 2)"), r.error().message());
}

// ---- min_version, keys and several signatures (anti-rollback, key rotation) ----

TEST(Bundle, MinVersionAndKeysRoundTrip) {
  const KeyPair k1 = generate_keypair(), k2 = generate_keypair();
  Manifest m = manifest();
  m.min_version = "2.0";
  m.keys = {k1.public_hex, k2.public_hex};
  const std::string blk = made(m);
  CHECK_TRUE(contains(blk, "\nmin_version=2.0\nkeys=" + k1.public_hex + "," + k2.public_hex + "\n"));
  BundleHeader h = parsed(blk);
  CHECK_EQUAL(std::string("2.0"), h.manifest.min_version);
  LONGS_EQUAL(2, h.manifest.keys.size());
  CHECK_EQUAL(k1.public_hex, h.manifest.keys[0]);
  CHECK_EQUAL(k2.public_hex, h.manifest.keys[1]);
}

TEST(Bundle, RefusesABadMinVersion) {
  refused(header(lines() + "min_version=3\n"), "line 5: min_version '3' is newer than the bundle's version '2.1'");
  refused(header(lines() + "min_version=\n"), "line 5: min_version is empty");
  refused(header(lines() + "min_version=1 0\n"), "contains ' '");
  refused(header(lines() + "min_version=1\nmin_version=1\n"), "line 6: min_version is given twice");
  CHECK_TRUE(parse_bundle_header(header(lines() + "min_version=2.1\n")).ok());  // equal: fine
  CHECK_TRUE(parse_bundle_header(header(lines() + "min_version=2.1~rc1\n")).ok());
  Manifest m = manifest();
  m.min_version = "2.2";
  make_refused(m, "the bundle would refuse itself");
}

TEST(Bundle, RefusesABadKeyList) {
  const std::string k(64, 'a');
  refused(header(lines() + "keys=\n"), "keys is empty");
  refused(header(lines() + "keys=" + k.substr(1) + "\n"), "keys key 1 is not 64 hex digits");
  refused(header(lines() + "keys=" + k + "," + k + "\n"), "is listed twice");
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + std::string(63, 'a') + static_cast<char>('0' + i);
  refused(header(lines() + "keys=" + nine + "\n"), "more than 8 keys");
  BundleHeader h = parsed(header(lines() + "keys=" + std::string(64, 'A') + ", " + std::string(64, 'b') + "\n"));
  CHECK_EQUAL(k, h.manifest.keys[0]);  // lowercased
}

TEST(Bundle, SeveralSignaturesEachCoverTheManifest) {
  const KeyPair k1 = generate_keypair(), k2 = generate_keypair(), k3 = generate_keypair();
  auto blk = make_bundle_header(manifest(), std::vector<std::string>{k1.secret_hex, k2.secret_hex});
  CHECK_TRUE(blk.ok());
  BundleHeader h = parsed(*blk);
  LONGS_EQUAL(2, h.signatures.size());
  CHECK_EQUAL("strata-bundle 1\n" + lines(), h.signed_text);
  CHECK_TRUE(verify_bundle_signature(h, k1.public_hex).ok());
  CHECK_TRUE(verify_bundle_signature(h, k2.public_hex).ok());
  CHECK_FALSE(verify_bundle_signature(h, k3.public_hex).ok());
  const auto by = signing_keys(h, {k3.public_hex, k2.public_hex, "junk", k1.public_hex});
  LONGS_EQUAL(2, by.size());
  CHECK_EQUAL(k2.public_hex, by[0]);
  CHECK_EQUAL(k1.public_hex, by[1]);
  std::vector<std::string> nine(9, k1.secret_hex);
  auto too_many = make_bundle_header(manifest(), nine);
  CHECK_FALSE(too_many.ok());
  CHECK_TRUE(contains(too_many.error().message(), "at most 8 signatures"));
}

TEST(Bundle, KeyListText) {
  auto keys = parse_key_list(std::string(64, 'a') + "\t" + std::string(64, 'b') + ",,", "public_key");
  CHECK_TRUE(keys.ok());
  CHECK_EQUAL(std::string(64, 'a') + "," + std::string(64, 'b'), key_list_text(*keys));
  auto bad = parse_key_list("xyz", "public_key");
  CHECK_FALSE(bad.ok());
  CHECK_TRUE(contains(bad.error().message(), "public_key key 1 is not 64 hex digits"));
}

// The group form (bootloader = uboot): image= lines, in stream order.
namespace {

const std::string kSha2 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

std::string image_line(const std::string& name, const std::string& size, const std::string& sha) {
  return "image=" + name + " " + size + " " + sha + "\n";
}

std::string group_lines() {
  return "version=3\n" + image_line("boot", "4096", kSha2) + image_line("root", "123", kSha);
}

Manifest group() {
  Manifest m;
  m.version = "3";
  m.images = {{"boot", 4096, kSha2}, {"root", 123, kSha}};
  return m;
}

}  // namespace

TEST(Bundle, GroupRoundTripKeepsTheStreamOrder) {
  const std::string blk = made(group());
  CHECK_EQUAL(header(group_lines()), blk);
  BundleHeader h = parsed(blk);
  LONGS_EQUAL(2, h.manifest.images.size());
  CHECK_TRUE(h.manifest.images == group().images);
  // size and sha256 are the root image's: the slot record's image id, verity's bounds.
  UNSIGNED_LONGLONGS_EQUAL(123, h.manifest.size);
  CHECK_EQUAL(kSha, h.manifest.sha256);
  CHECK_TRUE(has_boot_image(h.manifest));
  UNSIGNED_LONGLONGS_EQUAL(4096 + 123, images_size(h.manifest));
  CHECK_EQUAL(std::string(kSha2), find_image(h.manifest, kBootImage)->sha256);

  // Root first is a stream order too; it is kept as given.
  Manifest root_first = group();
  std::swap(root_first.images[0], root_first.images[1]);
  BundleHeader r = parsed(made(root_first));
  CHECK_EQUAL(std::string("root"), r.manifest.images[0].name);
  CHECK_EQUAL(std::string("boot"), r.manifest.images[1].name);
}

TEST(Bundle, OneImageFormIsUnchangedAndListsItsRootImage) {
  // A manifest without images, or with the root image alone, writes the old bytes.
  CHECK_EQUAL(header(lines()), made(manifest()));
  Manifest m = manifest();
  m.size = 0;
  m.sha256.clear();
  m.images = {{"root", 123, kSha}};
  CHECK_EQUAL(header(lines()), made(m));
  BundleHeader h = parsed(header(lines()));
  LONGS_EQUAL(1, h.manifest.images.size());
  CHECK_TRUE(h.manifest.images[0] == (BundleImage{"root", 123, kSha}));
  CHECK_FALSE(has_boot_image(h.manifest));
  UNSIGNED_LONGLONGS_EQUAL(123, images_size(h.manifest));
}

TEST(Bundle, GroupSignatureCoversTheImageLines) {
  const KeyPair kp = generate_keypair();
  const std::string blk = made(group(), kp.secret_hex);
  BundleHeader h = parsed(blk);
  CHECK_TRUE(verify_bundle_signature(h, kp.public_hex).ok());
  // Another boot image's hash under the same signature.
  std::string forged = blk;
  forged.replace(forged.find(kSha2), 64, kSha);
  BundleHeader f = parsed(forged);
  CHECK_FALSE(verify_bundle_signature(f, kp.public_hex).ok());
}

TEST(Bundle, GroupRefusesBadImageLines) {
  const std::string v = "version=3\n";
  refused(header(v + image_line("boot", "4096", kSha2) + image_line("boot", "5", kSha)),
          "line 4: image boot is given twice (first on line 3)");
  refused(header(v + image_line("kernel", "1", kSha)), "line 3: image name 'kernel' is unknown (known: boot, root");
  refused(header(v + image_line("boot", "0", kSha2) + image_line("root", "1", kSha)),
          "line 3: image boot: size is 0: the image must not be empty");
  refused(header(v + image_line("boot", "-1", kSha2)), "image boot: size '-1' is not a whole number of bytes");
  refused(header(v + image_line("root", "1", kSha.substr(2))), "line 3: image root: sha256 is not 64 hex digits");
  refused(header(v + "image=boot 1\n"), "line 3: image 'boot 1' is not 'NAME SIZE SHA256'");
  refused(header(v + "image=boot  1 " + kSha + "\n"), "is not 'NAME SIZE SHA256'");
  refused(header(v + "image=boot 1 " + kSha + " x\n"), "is not 'NAME SIZE SHA256'");
  refused(header(v + image_line("boot", "1", kSha2)), "the group has no root image");
  refused(header(v + image_line("root", "1", kSha)), "the group has no boot image");
  refused(header(image_line("boot", "1", kSha2) + image_line("root", "1", kSha)), "no version= line");
}

TEST(Bundle, GroupRefusesMixedFormsAndAWrappingTotal) {
  refused(header(group_lines() + "size=5\n"), "line 5: size= in a bundle with image= lines (line 3)");
  refused(header("sha256=" + kSha + "\n" + group_lines()), "line 2: sha256= in a bundle with image= lines");
  refused(header("version=3\n" + image_line("boot", "18446744073709551615", kSha2) + image_line("root", "1", kSha)),
          "the images' sizes add up to more than 18446744073709551615 bytes");
  // Each alone at the limit is a size; the sum is what is refused.
  parsed(header("version=3\n" + image_line("boot", "18446744073709551614", kSha2) + image_line("root", "1", kSha)));
}

TEST(Bundle, GroupVerityIsCheckedAgainstTheRootImage) {
  // 1 data block of 4096 bytes and the tree at block 1: needs a root image over 4096 bytes.
  const std::string verity = "verity=sha256 4096 4096 1 1 " + kSha + " " + kSha.substr(0, 8) + "\n";
  refused(header(group_lines() + verity),
          "1 data blocks do not fit in the image's 123 bytes");  // root is 123 bytes; boot's 4096 do not count
  parsed(header("version=3\n" + image_line("boot", "1", kSha2) + image_line("root", "8192", kSha) + verity));
}

TEST(Bundle, MakeRefusesABadGroup) {
  Manifest m = group();
  m.images[0].name = "kernel";
  make_refused(m, "manifest: image name 'kernel' is unknown");
  m = group();
  m.images[1].name = "boot";
  make_refused(m, "manifest: image boot is listed twice");
  m = group();
  m.images[0].size = 0;
  make_refused(m, "manifest: image boot: size is 0");
  m = group();
  m.images[0].sha256 = "x";
  make_refused(m, "manifest: image boot: sha256 is not 64 hex digits");
  m = group();
  m.images = {{"boot", 1, kSha2}};
  make_refused(m, "the group has no root image");
}
