// strata-bundle: the host side of A/B updates. Makes signing keys, wraps a
// root image into a bundle (bundle.h) and checks a bundle the way a device
// would, so a bad one is caught before it is shipped.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bundle.h"
#include "config.h"
#include "resolve_path.h"
#include "root_check.h"
#include "sha256.h"
#include "sys.h"

namespace {

using strata::Error;
using strata::Result;
using strata::Status;
using strata::UniqueFd;

constexpr size_t kChunk = 1 << 20;

int usage() {
  std::fprintf(stderr,
               "usage: strata-bundle keygen DIR\n"
               "       strata-bundle create --version V [--compatible NAME] [--min-version V]\n"
               "                            [--keys KEY[,KEY...]] [--key FILE.key[,FILE.key...]]\n"
               "                            [--verity IMAGE.verity] [--boot BOOT.vfat] IMAGE OUT\n"
               "       strata-bundle verify [--pubkey KEY[,KEY...]] BUNDLE\n"
               "       strata-bundle show BUNDLE\n"
               "       strata-bundle check-root [--config STRATA.INI] ROOT\n"
               "\n"
               "  keygen   write DIR/update.pub (for [update] public_key) and DIR/update.key\n"
               "           (secret: keep it on the build host); never overwrites a key\n"
               "  create   wrap IMAGE into the bundle OUT, signed by each --key given;\n"
               "           --min-version: devices refuse anything older once this is installed;\n"
               "           --keys: the public keys devices trust after this update (key rotation);\n"
               "           --verity: the image's dm-verity parameters, the line tools/mkrootfs --verity\n"
               "           writes (a file holding it, or the line itself); the tree must be in IMAGE\n"
               "           --boot: a group for [slots] bootloader = uboot: BOOT.vfat (a slot's boot partition,\n"
               "           tools/mkbootfs slot) streams first, then IMAGE, both under the one manifest\n"
               "  verify   check the header, the image's size and sha256, and with --pubkey that\n"
               "           one of the keys signed it; exit status 0 when the bundle is good, 1 when not\n"
               "\n"
               "KEY is 64 hex digits or a file holding them (update.pub).\n"
               "  show     print the manifest\n"
               "  check-root  say whether the root tree ROOT would boot under strata with this\n"
               "           config: the init, the mount points, the read-only binds and persistent\n"
               "           paths, resolved inside ROOT as strata-init does; exit status 1 on errors\n"
               "\n"
               "BUNDLE and IMAGE may be '-' for standard input.\n");
  return 2;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "strata-bundle: %s\n", why.c_str());
  return 1;
}

// Options ("--name VALUE" or "--name=VALUE", only those in `known`) and the
// positional arguments, in order.
struct Args {
  std::map<std::string, std::string> opts;
  std::vector<std::string> pos;
};
Result<Args> parse_args(int argc, char** argv, const std::vector<std::string>& known) {
  Args a;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 3 || !arg.starts_with("--")) {
      a.pos.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const bool inline_value = name.find('=') != std::string::npos;
    if (inline_value) value = name.substr(name.find('=') + 1), name.resize(name.find('='));
    bool ok = false;
    for (const auto& k : known) ok |= k == name;
    if (!ok) return strata::plain_error("unknown option --" + name);
    if (!inline_value) {
      if (i + 1 >= argc) return strata::plain_error("--" + name + " needs a value");
      value = argv[++i];
    }
    if (a.opts.count(name)) return strata::plain_error("--" + name + " is given twice");
    a.opts[name] = value;
  }
  return a;
}

Result<UniqueFd> open_input(const std::string& path) {
  if (path == "-") return UniqueFd(::dup(STDIN_FILENO));
  return strata::sys::open(path, O_RDONLY);
}

// Reads up to `size` bytes, fewer only at end of file (pipes give short reads).
Result<size_t> read_full(int fd, char* buf, size_t size, const std::string& what) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return strata::errno_error("read " + what);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

Status write_full(int fd, const char* buf, size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, buf, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return strata::errno_error("write " + what);
    buf += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : slash == std::string::npos ? "." : path.substr(0, slash);
}

mode_t current_umask() {
  mode_t u = ::umask(022);
  ::umask(u);
  return u;
}

// A temp file beside `path`, removed unless commit() renamed it into place.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".XXXXXX") {
    fd_.reset(::mkstemp(tmp_.data()));
  }
  ~AtomicFile() {
    if (!committed_ && fd_.valid()) ::unlink(tmp_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& tmp() const { return tmp_; }
  // fsync, set `mode`, rename over path (or link, refusing to replace an
  // existing file, when `replace` is false), fsync the directory.
  Status commit(mode_t mode, bool replace) {
    if (::fchmod(fd_.get(), mode) != 0) return strata::errno_error("chmod " + tmp_);
    if (::fsync(fd_.get()) != 0) return strata::errno_error("fsync " + tmp_);
    if (replace) {
      if (::rename(tmp_.c_str(), path_.c_str()) != 0) return strata::errno_error("rename " + tmp_ + " to " + path_);
    } else {
      if (::link(tmp_.c_str(), path_.c_str()) != 0) return strata::errno_error("create " + path_);
      ::unlink(tmp_.c_str());
    }
    committed_ = true;
    return strata::sys::fsync_path(parent_of(path_));
  }

 private:
  std::string path_, tmp_;
  UniqueFd fd_;
  bool committed_ = false;
};

Status write_new_file(const std::string& path, const std::string& data, mode_t mode) {
  AtomicFile f(path);
  if (f.fd() < 0) return strata::errno_error("create a temporary file beside " + path);
  if (auto s = write_full(f.fd(), data.data(), data.size(), f.tmp()); !s) return s;
  return f.commit(mode, false);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// --pubkey and --keys: comma-separated, each 64 hex digits or a file holding them (update.pub).
Result<std::vector<std::string>> read_pubkeys(const std::string& arg, const std::string& option) {
  std::string hex;
  for (const std::string& one : split_commas(arg)) {
    std::string key = one;
    if (!(one.size() == 64 && strata::from_hex(one, 32, "key") && !strata::sys::exists(one))) {
      auto text = strata::sys::read_value(one);
      if (!text)
        return strata::plain_error(option + " " + one + ": neither 64 hex digits nor a readable file (" +
                                   text.error().message() + ")");
      key = *text;
    }
    hex += (hex.empty() ? "" : ",") + key;
  }
  return strata::parse_key_list(hex, option);
}

int keygen(const Args& a) {
  if (a.pos.size() != 1 || !a.opts.empty()) return usage();
  const std::string dir = a.pos[0], pub = dir + "/update.pub", key = dir + "/update.key";
  for (const auto& p : {key, pub})
    if (strata::sys::exists(p)) return fail(p + " already exists: refusing to overwrite a key (remove it first)");
  if (auto s = strata::sys::mkdir_p(dir); !s) return fail(s.error().message());
  const strata::KeyPair kp = strata::generate_keypair();
  // The secret first: a public key without its secret would be useless.
  if (auto s = write_new_file(key, kp.secret_hex + "\n", 0600); !s) return fail(s.error().message());
  if (auto s = write_new_file(pub, kp.public_hex + "\n", 0644); !s) return fail(s.error().message());
  std::printf("wrote %s (secret: keep it off the device and out of version control)\n", key.c_str());
  std::printf("wrote %s: put it in the device's strata.ini:\n  [update]\n  public_key = %s\n", pub.c_str(),
              kp.public_hex.c_str());
  return 0;
}

int create(const Args& a) {
  if (a.pos.size() != 2 || !a.opts.count("version")) return usage();
  const std::string image = a.pos[0], out = a.pos[1];
  strata::Manifest m;
  m.version = a.opts.at("version");
  m.compatible = a.opts.count("compatible") ? a.opts.at("compatible") : "";
  m.min_version = a.opts.count("min-version") ? a.opts.at("min-version") : "";
  if (a.opts.count("keys")) {
    auto keys = read_pubkeys(a.opts.at("keys"), "--keys");
    if (!keys) return fail(keys.error().message());
    m.keys = *keys;
  }
  if (a.opts.count("verity")) {
    // A file holding the line (IMAGE.verity), or the line itself.
    const std::string& arg = a.opts.at("verity");
    std::string line = arg;
    if (arg.find(' ') == std::string::npos) {
      auto text = strata::sys::read_value(arg);
      if (!text) return fail("--verity: " + text.error().message());
      line = *text;
    }
    auto v = strata::parse_verity(line);
    if (!v) return fail("--verity " + arg + ": " + v.error().message());
    m.verity = *v;
  }
  std::vector<std::string> secrets;
  if (a.opts.count("key")) {
    for (const std::string& key : split_commas(a.opts.at("key"))) {
      auto text = strata::sys::read_value(key);
      if (!text) return fail(text.error().message());
      secrets.push_back(*text);
      struct stat st {};
      if (::stat(key.c_str(), &st) == 0 && (st.st_mode & 077))
        std::fprintf(stderr, "strata-bundle: warning: %s can be read by others (chmod 600 it)\n", key.c_str());
    }
  }
  // The images in stream order: the boot image of a group first (small: a
  // device refuses a bad one before the long root stream), then the root.
  std::vector<std::pair<std::string, std::string>> inputs;  // name, path
  if (a.opts.count("boot")) inputs.emplace_back(strata::kBootImage, a.opts.at("boot"));
  inputs.emplace_back(strata::kRootImage, image);
  if (inputs.size() > 1 && inputs[0].second == "-" && image == "-")
    return fail("--boot and IMAGE cannot both be '-' (standard input)");

  // Check the version, the name and the key before streaming a large image.
  strata::Manifest probe = m;
  probe.verity.reset();  // checked against the image's size once it is known
  probe.size = 1;
  probe.sha256 = std::string(64, '0');
  for (const auto& [name, path] : inputs) probe.images.push_back({name, 1, std::string(64, '0')});
  if (auto h = strata::make_bundle_header(probe, secrets); !h) return fail(h.error().message());

  AtomicFile f(out);
  if (f.fd() < 0) return fail(strata::errno_error("create a temporary file beside " + out).message());
  // One pass over each image: room for the header, the images copied while
  // they are hashed, then the header written into the room.
  std::string buf(strata::kBundleHeaderSize, '\0');
  if (auto s = write_full(f.fd(), buf.data(), buf.size(), f.tmp()); !s) return fail(s.error().message());
  buf.resize(kChunk);
  for (const auto& [name, path] : inputs) {
    auto in = open_input(path);
    if (!in) return fail(in.error().message());
    strata::Sha256 hash;
    strata::BundleImage img{name, 0, ""};
    for (;;) {
      auto n = read_full(in->get(), buf.data(), buf.size(), path);
      if (!n) return fail(n.error().message());
      if (*n == 0) break;
      hash.update(buf.data(), *n);
      img.size += *n;
      if (auto s = write_full(f.fd(), buf.data(), *n, f.tmp()); !s) return fail(s.error().message());
    }
    if (img.size == 0) return fail(path + " is empty: there is no image to bundle");
    img.sha256 = hash.hex();
    m.images.push_back(img);
  }
  const strata::BundleImage& root = m.images.back();
  m.size = root.size;
  m.sha256 = root.sha256;
  if (m.images.size() == 1) m.images.clear();  // the one-image form
  auto header = strata::make_bundle_header(m, secrets);
  if (!header) return fail(header.error().message());
  if (::pwrite(f.fd(), header->data(), header->size(), 0) != static_cast<ssize_t>(header->size()))
    return fail(strata::errno_error("write the header to " + f.tmp()).message());
  if (auto s = f.commit(0666 & ~current_umask(), true); !s) return fail(s.error().message());
  const std::string signed_by =
      secrets.empty() ? "unsigned" : "signed by " + std::to_string(secrets.size()) + " key(s)";
  if (m.images.empty())
    std::printf("wrote %s: version %s, %llu image bytes, sha256 %s, %s\n", out.c_str(), m.version.c_str(),
                static_cast<unsigned long long>(m.size), m.sha256.c_str(), signed_by.c_str());
  else
    std::printf("wrote %s: version %s, a group: boot %llu bytes + root %llu bytes, %s\n", out.c_str(),
                m.version.c_str(), static_cast<unsigned long long>(m.images[0].size),
                static_cast<unsigned long long>(m.images[1].size), signed_by.c_str());
  return 0;
}

// A header read from the start of a bundle; `in` is left just after it.
Result<strata::BundleHeader> read_header(int in, const std::string& path) {
  std::string block(strata::kBundleHeaderSize, '\0');
  auto n = read_full(in, block.data(), block.size(), path);
  if (!n) return n.error();
  if (*n < block.size())
    return strata::plain_error(path + " is " + std::to_string(*n) + " bytes, shorter than the " +
                               std::to_string(block.size()) + "-byte bundle header: not a bundle, or cut short");
  auto h = strata::parse_bundle_header(block);
  if (!h) return strata::plain_error(path + ": " + h.error().message());
  return h;
}

void print_manifest(const strata::BundleHeader& h) {
  const strata::Manifest& m = h.manifest;
  std::printf("version:    %s\n", m.version.c_str());
  if (strata::has_boot_image(m)) {
    for (const auto& img : m.images)
      std::printf("image:      %s %llu bytes sha256 %s\n", img.name.c_str(), static_cast<unsigned long long>(img.size),
                  img.sha256.c_str());
  } else {
    std::printf("size:       %llu bytes\n", static_cast<unsigned long long>(m.size));
    std::printf("sha256:     %s\n", m.sha256.c_str());
  }
  std::printf("compatible: %s\n", m.compatible.empty() ? "(any board)" : m.compatible.c_str());
  std::printf("min_version: %s\n", m.min_version.empty() ? "(none)" : m.min_version.c_str());
  std::printf("keys:       %s\n", m.keys.empty() ? "(unchanged)" : strata::key_list_text(m.keys).c_str());
  std::printf("verity:     %s\n", m.verity ? strata::format_verity(*m.verity).c_str() : "(none)");
  if (h.signatures.empty())
    std::printf("signature:  none (unsigned)\n");
  else
    std::printf("signature:  ed25519 x %zu\n", h.signatures.size());
}

int show(const Args& a) {
  if (a.pos.size() != 1 || !a.opts.empty()) return usage();
  auto in = open_input(a.pos[0]);
  if (!in) return fail(in.error().message());
  auto h = read_header(in->get(), a.pos[0]);
  if (!h) return fail(h.error().message());
  print_manifest(*h);
  return 0;
}

int verify(const Args& a) {
  if (a.pos.size() != 1 || a.opts.size() > a.opts.count("pubkey")) return usage();
  const std::string& path = a.pos[0];
  std::vector<std::string> pubkeys;
  if (a.opts.count("pubkey")) {
    auto k = read_pubkeys(a.opts.at("pubkey"), "--pubkey");
    if (!k) return fail(k.error().message());
    pubkeys = *k;
  }
  auto in = open_input(path);
  if (!in) return fail(in.error().message());
  auto h = read_header(in->get(), path);
  if (!h) return fail(h.error().message());
  print_manifest(*h);

  std::vector<std::string> problems;
  if (pubkeys.empty()) {
    std::printf("signature check: skipped (no --pubkey)\n");
  } else if (h->signatures.empty()) {
    problems.push_back("the bundle is not signed (--pubkey was given)");
  } else if (const auto by = strata::signing_keys(*h, pubkeys); by.empty()) {
    const std::string& arg = a.opts.at("pubkey");
    const bool named_by_file = arg.find_first_not_of("0123456789abcdefABCDEF,") != std::string::npos;
    problems.push_back("bad signature: the bundle was not signed by " +
                       std::string(pubkeys.size() == 1 ? "the key " : "any of the keys ") +
                       (named_by_file ? "in " : "") + arg + ", or it was altered");
  } else {
    std::printf("signature check: ok (%zu of %zu keys)\n", by.size(), pubkeys.size());
  }

  // The images, in stream order: exactly their sizes, with the hashes the manifest gives.
  std::string buf(kChunk, '\0');
  bool cut = false;
  for (const strata::BundleImage& img : h->manifest.images) {
    const std::string what = h->manifest.images.size() > 1 ? "the " + img.name + " image" : "the image";
    strata::Sha256 hash;
    uint64_t bytes = 0;
    while (bytes < img.size) {
      const uint64_t room = img.size - bytes;
      auto n = read_full(in->get(), buf.data(), room < buf.size() ? static_cast<size_t>(room) : buf.size(), path);
      if (!n) return fail(n.error().message());
      if (*n == 0) break;
      hash.update(buf.data(), *n);
      bytes += *n;
    }
    const std::string sha = hash.hex();
    if (bytes < img.size) {
      problems.push_back(what + " is cut short: " + std::to_string(bytes) + " of " + std::to_string(img.size) +
                         " bytes (an interrupted download or copy?)");
      cut = true;
      break;
    }
    if (sha != img.sha256)
      problems.push_back(what + "'s sha256 is " + sha + ", the manifest says " + img.sha256 +
                         ": the image was altered or damaged");
    else
      std::printf("image check:     ok (%s%llu bytes, sha256 matches)\n",
                  h->manifest.images.size() > 1 ? (img.name + ", ").c_str() : "",
                  static_cast<unsigned long long>(bytes));
  }
  uint64_t extra = 0;
  while (!cut) {
    auto n = read_full(in->get(), buf.data(), buf.size(), path);
    if (!n) return fail(n.error().message());
    if (*n == 0) break;
    extra += *n;
  }
  if (extra > 0)
    problems.push_back(std::to_string(extra) + " bytes follow the image" +
                       (h->manifest.images.size() > 1 ? "s (the manifest lists " : " (size= says ") +
                       std::to_string(strata::images_size(h->manifest)) + "): not a bundle strata-bundle made");

  for (const auto& p : problems) std::fprintf(stderr, "strata-bundle: %s: %s\n", path.c_str(), p.c_str());
  if (!problems.empty()) return 1;
  std::printf("%s: good bundle\n", path.c_str());
  return 0;
}

int check_root(const Args& a) {
  if (a.pos.size() != 1 || a.opts.size() > a.opts.count("config")) return usage();
  const std::string root = a.pos[0];
  std::string ini, file = "(defaults)";
  if (a.opts.count("config")) {
    file = a.opts.at("config");
    auto text = strata::sys::read_file(file);
    if (!text) return fail(text.error().message());
    ini = *text;
  }
  auto loaded = strata::load_config(ini, file, {});
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "strata-bundle: %s: %s\n", d.where.c_str(), d.message.c_str());
  if (!loaded.diagnostics.empty()) return 1;
  std::string open_error;
  strata::RootTree tree{[&](const std::string& path) {
                          auto r = strata::sys::resolve_in_root(root, path);
                          if (!r) {
                            open_error = r.error().message();
                            strata::Resolution failed;
                            failed.err = EIO;
                            failed.path = path;
                            return failed;
                          }
                          return *r;
                        },
                        [&](const std::string& path) {
                          struct stat st {};
                          return ::lstat((root + path).c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
                        }};
  auto findings = strata::check_root(loaded.config, tree);
  if (!open_error.empty()) return fail(open_error);
  for (const auto& f : findings)
    std::fprintf(f.severity == strata::RootFinding::kError ? stderr : stdout, "%s: %s%s\n", root.c_str(),
                 f.severity == strata::RootFinding::kError ? "error: " : "", f.message.c_str());
  if (strata::has_errors(findings)) return 1;
  std::printf("%s: boots under strata with %s\n", root.c_str(), file.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  struct Command {
    const char* name;
    std::vector<std::string> opts;
    int (*run)(const Args&);
  };
  const Command commands[] = {
      {"keygen", {}, keygen},
      {"create", {"version", "compatible", "key", "min-version", "keys", "verity", "boot"}, create},
      {"verify", {"pubkey"}, verify},
      {"show", {}, show},
      {"check-root", {"config"}, check_root},
  };
  for (const auto& c : commands) {
    if (cmd != c.name) continue;
    auto a = parse_args(argc - 2, argv + 2, c.opts);
    if (!a) {
      std::fprintf(stderr, "strata-bundle %s: %s\n", c.name, a.error().message().c_str());
      return usage();
    }
    return c.run(*a);
  }
  if (cmd == "-h" || cmd == "--help" || cmd == "help") return usage(), 0;
  return usage();
}
