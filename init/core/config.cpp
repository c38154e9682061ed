#include "config.h"

#include <ini.h>

#include <charconv>
#include <functional>
#include <optional>

#include "bundle.h"
#include "device_spec.h"
#include "resolve.h"
#include "slot_state.h"
#include "text.h"

namespace strata {
namespace {

// A setter returns nullopt when the value was taken, else why it was not.
using Setter = std::function<std::optional<std::string>(Config&, const std::string&)>;

struct Key {
  const char* section;
  const char* name;
  const char* default_text;
  const char* help;
  Setter set;
};

// long long, not long: [upper] inodes goes up to 2^40, and long is 32 bits on armhf.
std::optional<std::string> parse_int(const std::string& v, long long lo, long long hi, long long& out) {
  long long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return "not a whole number";
  if (n < lo || n > hi) return "out of range " + std::to_string(lo) + ".." + std::to_string(hi);
  out = n;
  return std::nullopt;
}

std::optional<std::string> parse_bool(const std::string& v, bool& out) {
  if (v == "1" || v == "yes" || v == "true" || v == "on") return out = true, std::nullopt;
  if (v == "0" || v == "no" || v == "false" || v == "off") return out = false, std::nullopt;
  return "not a boolean (yes/no, true/false, on/off, 1/0)";
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v) {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// tmpfs size=: a number with an optional k/m/g suffix, or a percentage of RAM.
bool valid_tmpfs_size(const std::string& v) {
  if (v.empty()) return false;
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') digits++;
  if (digits == 0) return false;
  std::string rest = v.substr(digits);
  if (rest == "%") {
    long pct = 0;  // from_chars, not stol: too many digits must be "invalid", not an exception out of PID 1
    auto [p, ec] = std::from_chars(v.data(), v.data() + digits, pct);
    return ec == std::errc() && p == v.data() + digits && pct > 0 && pct <= 100;
  }
  return rest.empty() || rest == "k" || rest == "m" || rest == "g" || rest == "K" || rest == "M" || rest == "G";
}

bool valid_fstype(const std::string& v) {
  return v == "auto" || v == "squashfs" || v == "erofs" || v == "ext4";
}

bool valid_abs_path(const std::string& v) {
  return !v.empty() && v[0] == '/' && v.find("/../") == std::string::npos && v.find('\0') == std::string::npos &&
         (v.size() < 3 || v.compare(v.size() - 3, 3, "/..") != 0);
}

// A list of absolute paths below /, normalised ("/etc/" and "/etc/." are "/etc").
// ".." is kept: the path is resolved inside the new root at boot (resolve.h),
// where ".." after a symlink climbs from the link's target, not lexically.
std::optional<std::string> parse_paths(const std::string& v, std::vector<std::string>& out) {
  std::vector<std::string> paths;
  for (const auto& p : split_list(v)) {
    // "/etc/", "/etc/." and "/etc" are one directory; so are "//", "/." and "/".
    std::string dir = p;
    while (dir.size() > 1 && (dir.back() == '/' || dir.compare(dir.size() - 2, 2, "/.") == 0)) dir.pop_back();
    if (p.empty() || p[0] != '/' || p.find('\0') != std::string::npos || normalize_lexically(dir) == "/")
      return "'" + p + "' is not an absolute path below /";
    paths.push_back(dir);
  }
  out = paths;
  return std::nullopt;
}

// A setter for a key whose value is one of a few names.
template <typename T>
Setter choice(T Config::*field, std::initializer_list<std::pair<const char*, T>> options) {
  std::vector<std::pair<std::string, T>> opts(options.begin(), options.end());
  return [field, opts](Config& c, const std::string& v) -> std::optional<std::string> {
    std::string names;
    for (const auto& [name, value] : opts) {
      if (v == name) {
        c.*field = value;
        return std::nullopt;
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    return "not one of: " + names;
  };
}

// A setter for a key naming a device: LABEL=, UUID=, PARTUUID=, PARTLABEL= or /dev/...
Setter device(std::string& (*field)(Config&)) {
  return [field](Config& c, const std::string& v) -> std::optional<std::string> {
    if (!parse_device_spec(v)) return "not LABEL=, UUID=, PARTUUID=, PARTLABEL= or a /dev/ path";
    field(c) = v;
    return std::nullopt;
  };
}

// [root] verity_params: "" for none, else one line of core/verity.h.
static std::optional<std::string> set_verity(Config& c, const std::string& v) {
  c.root_verity.reset();
  if (v.empty()) return std::nullopt;
  auto r = parse_verity(v);
  if (!r) return r.error().message();
  c.root_verity = *r;
  return std::nullopt;
}

// A list of kernel module names (letters, digits, '_' and '-'), for [boot] modules.
std::optional<std::string> parse_module_names(const std::string& v, std::vector<std::string>& out) {
  static const std::string kChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
  std::vector<std::string> names = split_list(v);
  for (const auto& n : names)
    if (n.empty() || n.find_first_not_of(kChars) != std::string::npos) return "'" + n + "' is not a module name";
  out = names;
  return std::nullopt;
}

// [boot]: what the PID-1 does around the mounts. A table of its own, so no
// table grows past what clang-format lays out the same way twice.
const std::vector<Key>& boot_keys() {
  static const std::vector<Key> k = {
      {"boot", "init", "/sbin/init", "the real init, exec'd in the new root with the kernel's arguments",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!valid_abs_path(v)) return "not an absolute path";
         c.init = v;
         return std::nullopt;
       }},
      {"boot", "on_failure", "rescue",
       "when the root cannot be mounted or switched to: rescue (shell) or reboot, optionally after "
       "fallback-slot "
       "(boot the other good A/B slot first): 'fallback-slot, reboot'",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         auto words = split_list(v);
         bool fallback = !words.empty() && words[0] == "fallback-slot";
         if (fallback) words.erase(words.begin());
         if (words.size() > 1) return "not [fallback-slot,] rescue|reboot";
         const std::string last = words.empty() ? "rescue" : words[0];  // fallback-slot alone ends in rescue
         if (last != "rescue" && last != "reboot") return "not [fallback-slot,] rescue|reboot";
         c.fallback_slot = fallback;
         c.on_failure = last == "rescue" ? FailurePolicy::kRescue : FailurePolicy::kReboot;
         return std::nullopt;
       }},
      {"boot", "reboot_delay", "10", "seconds of visible countdown before a reboot on failure (0..3600)",
       [](Config& c, const std::string& v) {
         long long n;
         auto e = parse_int(v, 0, 3600, n);
         if (!e) c.reboot_delay_s = static_cast<int>(n);
         return e;
       }},
      {"boot", "device_timeout_ms", "10000", "how long to wait for the devices the boot needs (0..600000)",
       [](Config& c, const std::string& v) {
         long long n;
         auto e = parse_int(v, 0, 600000, n);
         if (!e) c.device_timeout_ms = static_cast<int>(n);
         return e;
       }},
      {"boot", "modules", "",
       "modules of the board's list that the running system needs beyond what this boot mounts, loaded "
       "before the switch (space or comma separated; e.g. loop for RAUC's loop-mounted bundles)",
       [](Config& c, const std::string& v) { return parse_module_names(v, c.boot_modules); }},
  };
  return k;
}

// Every other section.
const std::vector<Key>& other_keys() {
  static const std::vector<Key> k = {
      {"root", "source", "PARTLABEL=root-a",
       "the lower layer's device: LABEL=, UUID=, PARTUUID=, PARTLABEL= or /dev/...",
       device([](Config& c) -> std::string& { return c.root_source; })},
      {"root", "fstype", "auto", "filesystem of the source: auto (probed), squashfs, erofs, ext4",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!valid_fstype(v)) return "not one of: auto, squashfs, erofs, ext4";
         c.root_fstype = v;
         return std::nullopt;
       }},
      {"root", "image", "", "an image file on the source to attach to a loop device as the lower (empty: none)",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!v.empty() && !valid_abs_path(v)) return "not an absolute path inside the source filesystem";
         c.root_image = v;
         return std::nullopt;
       }},
      {"root", "image_fstype", "auto", "filesystem inside the image file: auto (probed), squashfs, erofs, ext4",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!valid_fstype(v)) return "not one of: auto, squashfs, erofs, ext4";
         c.root_image_fstype = v;
         return std::nullopt;
       }},
      {"root", "verity", "off",
       "the lower through dm-verity: off; on (a slot whose record holds a root hash, or a root with "
       "verity_params, boots through a verity device; one without boots unchecked with a warning); required (one "
       "without is not booted)",
       choice(&Config::verity,
              {{"off", VerityMode::kOff}, {"on", VerityMode::kOn}, {"required", VerityMode::kRequired}})},
      {"root", "verity_params", "",
       "without A/B slots: the root image's dm-verity parameters (the line tools/mkrootfs --verity writes to "
       "IMAGE.verity: sha256 DATA_BLOCK HASH_BLOCK DATA_BLOCKS HASH_START ROOT_HASH SALT), trusted as the "
       "initramfs is",
       set_verity},
      {"upper", "mode", "tmpfs",
       "the writable layer: tmpfs (lost at reboot), persistent (on the data partition) or none (lower alone, "
       "read-only)",
       choice(&Config::upper_mode,
              {{"tmpfs", UpperMode::kTmpfs}, {"persistent", UpperMode::kPersistent}, {"none", UpperMode::kNone}})},
      {"upper", "on_lower_change", "keep",
       "a persistent upper whose lower image changed: keep, discard, or preserve (only the preserve paths "
       "survive)",
       choice(
           &Config::on_lower_change,
           {{"keep", LowerChange::kKeep}, {"discard", LowerChange::kDiscard}, {"preserve", LowerChange::kPreserve}})},
      {"upper", "preserve", "", "paths of the upper kept when on_lower_change = preserve (space or comma separated)",
       [](Config& c, const std::string& v) { return parse_paths(v, c.preserve); }},
      {"data", "source", "LABEL=data",
       "the data partition (persistent upper and paths): LABEL=, UUID=, PARTUUID=, PARTLABEL= or /dev/...",
       device([](Config& c) -> std::string& { return c.data_source; })},
      {"data", "fstype", "auto", "filesystem of the data partition: auto (probed), ext4, f2fs",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (v != "auto" && v != "ext4" && v != "f2fs") return "not one of: auto, ext4, f2fs";
         c.data_fstype = v;
         return std::nullopt;
       }},
      {"data", "on_failure", "tmpfs",
       "when the data partition is missing, will not mount or fails the probe: tmpfs, readonly or rescue",
       choice(
           &Config::on_data_failure,
           {{"tmpfs", DataFailure::kTmpfs}, {"readonly", DataFailure::kReadonly}, {"rescue", DataFailure::kRescue}})},
      {"upper", "size", "50%", "tmpfs size: bytes with k/m/g suffix, or a percentage of RAM",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!valid_tmpfs_size(v)) return "not a size (N, Nk, Nm, Ng or 1..100%)";
         c.upper_size = v;
         return std::nullopt;
       }},
      {"upper", "inodes", "0", "tmpfs nr_inodes (0: the kernel's default)",
       [](Config& c, const std::string& v) {
         long long n;
         auto e = parse_int(v, 0, 1LL << 40, n);
         if (!e) c.upper_inodes = static_cast<uint64_t>(n);
         return e;
       }},
      {"binds", "readonly", "",
       "paths bound read-only from the pristine lower into the new root (space or comma separated)",
       [](Config& c, const std::string& v) { return parse_paths(v, c.readonly_binds); }},
      {"persist", "paths", "", "paths bound read-write from the data partition, seeded from the image on first use",
       [](Config& c, const std::string& v) { return parse_paths(v, c.persist_paths); }},
      {"persist", "new_files", "keep",
       "when a later image ships new files in a persistent path: keep (leave it as it is) or add (copy the "
       "missing "
       "ones)",
       choice(&Config::persist_add_new, {{"keep", false}, {"add", true}})},
      {"reset", "tier", "overlay",
       "what strata.reset=1 removes: overlay (the upper) or all (also the persistent paths)",
       choice(&Config::reset_tier, {{"overlay", ResetTier::kOverlay}, {"all", ResetTier::kAll}})},
      {"slots", "mode", "none",
       "A/B root images: none (one root, [root] source), partitions ([slots] a and b) or files (slot-a.img and "
       "slot-b.img under strata/slots on the data partition)",
       choice(&Config::slot_mode,
              {{"none", SlotMode::kNone}, {"partitions", SlotMode::kPartitions}, {"files", SlotMode::kFiles}})},
      {"slots", "bootloader", "none",
       "who picks the slot and counts its tries: none (strata-init, from its slot record; any bootloader) or uboot "
       "(U-Boot's boot script: a slot is a group of kernel, initramfs and root; README \"Boot through U-Boot\")",
       choice(&Config::bootloader, {{"none", Bootloader::kNone}, {"uboot", Bootloader::kUBoot}})},
      {"slots", "bootstate", "PARTLABEL=bootstate", "the raw partition of the bootloader state (bootloader = uboot)",
       device([](Config& c) -> std::string& { return c.bootstate_source; })},
      {"slots", "a", "PARTLABEL=root-a", "slot a's partition (mode = partitions)",
       device([](Config& c) -> std::string& { return c.slot_source[0]; })},
      {"slots", "b", "PARTLABEL=root-b", "slot b's partition (mode = partitions)",
       device([](Config& c) -> std::string& { return c.slot_source[1]; })},
      {"slots", "tries", "3",
       "boots a freshly updated slot gets to run `strata mark-good` before it is rolled back (1..100)",
       [](Config& c, const std::string& v) {
         long long n;
         auto e = parse_int(v, 1, 100, n);
         if (!e) c.slot_tries = static_cast<int>(n);
         return e;
       }},
      {"update", "public_key", "",
       "ed25519 public keys (64 hex digits each, separated by commas or blanks, up to 8) update bundles must be "
       "signed with, one of them at least; empty: signatures not checked. An update's keys= replaces them",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (v.find_first_not_of(", \t") == std::string::npos) {
           c.update_public_keys.clear();
           return std::nullopt;
         }
         auto keys = parse_key_list(v, "public_key");
         if (!keys) return keys.error().message() + " (strata-bundle keygen writes a key to update.pub)";
         c.update_public_keys = *keys;
         return std::nullopt;
       }},
      {"update", "allow_downgrade", "no",
       "yes: install a bundle older than the running or installed version (never below the record's min_version)",
       [](Config& c, const std::string& v) { return parse_bool(v, c.update_allow_downgrade); }},
      {"update", "compatible", "", "the board name bundles must carry (strata-bundle --compatible); empty: any",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (!v.empty() && !is_name(v))  // empty: any board
           return "not 1..64 of A-Z a-z 0-9 . _ + ~ : -";
         c.update_compatible = v;
         return std::nullopt;
       }},
      {"binds", "nosuid", "yes", "read-only binds ignore set-user-ID bits",
       [](Config& c, const std::string& v) { return parse_bool(v, c.bind_nosuid); }},
      {"binds", "nodev", "yes", "read-only binds ignore device nodes",
       [](Config& c, const std::string& v) { return parse_bool(v, c.bind_nodev); }},
      {"binds", "noexec", "no", "read-only binds refuse execution",
       [](Config& c, const std::string& v) { return parse_bool(v, c.bind_noexec); }},
  };
  return k;
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = [] {
    std::vector<Key> all = boot_keys();
    all.insert(all.end(), other_keys().begin(), other_keys().end());
    return all;
  }();
  return k;
}

const Key* find_key(std::string_view section, std::string_view name) {
  for (const auto& k : keys())
    if (section == k.section && name == k.name) return &k;
  return nullptr;
}

void apply(LoadedConfig& out, const std::string& where, const std::string& section, const std::string& name,
           const std::string& value) {
  const Key* k = find_key(section, name);
  if (!k) {
    out.diagnostics.push_back({where, "unknown key [" + section + "] " + name + "; ignored"});
    return;
  }
  const std::string id = section + "." + name;
  if (!out.values.count(id)) out.values[id] = k->default_text;
  Config before = out.config;
  if (auto why = k->set(out.config, value)) {
    out.config = before;  // a setter may have half-applied
    const std::string& kept = out.values[id];
    out.diagnostics.push_back({where, "[" + section + "] " + name + " = '" + value + "': " + *why + "; using '" + kept +
                                          "'" + (kept == k->default_text ? " (the default)" : "") + " instead"});
  } else {
    out.values[id] = value;
  }
}

// inih hands us lines through this reader so that we know the line number.
// One call is one whole line: a line that does not fit inih's buffer is
// skipped (inih would cut it and parse the tail as a line of its own).
struct Reader {
  std::string_view text;
  size_t pos = 0;
  int line = 0;
  std::vector<int> too_long = {};  // numbers of the lines skipped as too long
  size_t max_len = 0;              // the longest line inih takes
};

char* read_line(char* buf, int size, void* stream) {
  auto* r = static_cast<Reader*>(stream);
  if (r->pos >= r->text.size() || size <= 1) return nullptr;
  size_t end = r->text.find('\n', r->pos);
  size_t stop = end == std::string_view::npos ? r->text.size() : end + 1;
  size_t n = stop - r->pos;
  r->line++;
  r->max_len = static_cast<size_t>(size - 2);
  if (n > static_cast<size_t>(size - 1)) {
    r->too_long.push_back(r->line);
    r->pos = stop;
    buf[0] = '\n';  // a blank line keeps inih's line count with ours
    buf[1] = '\0';
    return buf;
  }
  // Leading blanks are dropped: inih would take an indented line as the
  // continuation of the previous value, and people indent INI files.
  size_t skip = 0;
  while (skip < n && (r->text[r->pos + skip] == ' ' || r->text[r->pos + skip] == '\t')) skip++;
  for (size_t i = skip; i < n; i++) buf[i - skip] = r->text[r->pos + i] == '\0' ? ' ' : r->text[r->pos + i];
  buf[n - skip] = '\0';
  r->pos = stop;
  return buf;
}

struct ParseCtx {
  LoadedConfig* out;
  Reader* reader;
  const std::string* file;
};

int on_value(void* user, const char* section, const char* name, const char* value) {
  auto* ctx = static_cast<ParseCtx*>(user);
  apply(*ctx->out, *ctx->file + ":" + std::to_string(ctx->reader->line), section, name, value ? value : "");
  return 1;
}

}  // namespace

LoadedConfig load_config(std::string_view ini_text, const std::string& file, const std::vector<CmdlineWord>& cmdline) {
  LoadedConfig out;
  Reader reader{ini_text};
  ParseCtx ctx{&out, &reader, &file};
  int err = ini_parse_stream(read_line, &reader, on_value, &ctx);
  if (err > 0) {
    out.diagnostics.push_back({file + ":" + std::to_string(err), "line is not 'key = value' or '[section]'; ignored"});
  }
  for (int n : reader.too_long) {
    out.diagnostics.push_back({file + ":" + std::to_string(n),
                               "line longer than " + std::to_string(reader.max_len) + " characters; ignored"});
  }
  for (const auto& w : cmdline) {
    const std::string where = "kernel command line (strata." + w.key + ")";
    if (w.key == "debug") {
      bool on = true;
      if (w.has_value && parse_bool(w.value, on))
        out.diagnostics.push_back({where, std::string("'") + w.value + "' is not a boolean; debug stays " +
                                              (out.config.debug ? "on" : "off")});
      else
        out.config.debug = on;
      continue;
    }
    if (w.key == "reset") {
      const std::string v = w.has_value ? w.value : "1";
      if (v == "1" || v == "yes" || v == "overlay") {
        out.config.reset = true;
        if (v == "overlay") out.config.reset_tier = ResetTier::kOverlay;
      } else if (v == "all") {
        out.config.reset = true;
        out.config.reset_tier = ResetTier::kAll;
      } else {
        // Later words override earlier ones: 0, and a garbled word, take back an earlier reset.
        out.config.reset = false;
        if (v != "0" && v != "no")
          out.diagnostics.push_back({where, "'" + v + "' is not 1, overlay, all or 0; no reset"});
      }
      continue;
    }
    // Words U-Boot's boot script adds (board/common/uboot/boot.cmd).
    if (w.key == "slot" || w.key == "bootfallback") {
      auto slot = parse_slot_name(w.value);
      if (!slot) {
        out.diagnostics.push_back({where, "'" + w.value + "' is not a or b; ignored"});
      } else {
        (w.key == "slot" ? out.config.boot_slot : out.config.boot_fallback_from) = *slot;
      }
      continue;
    }
    if (w.key == "trial") {
      long long n;
      if (auto e = parse_int(w.value, 0, kMaxTries, n))
        out.diagnostics.push_back({where, *e + "; ignored"});
      else
        out.config.boot_trial_left = static_cast<int>(n);
      continue;
    }
    if (w.key == "bootstate") {
      out.config.boot_state_missing = w.value == "none";
      continue;
    }
    if (w.key == "crash_at") {
      out.config.crash_at = w.value;
      continue;
    }
    if (w.key == "break") {
      for (const auto& s : split_list(w.has_value ? w.value : "switch")) {
        bool known = false;
        for (const char* st : kStages) known |= s == st;
        if (known)
          out.config.break_at.insert(s);
        else
          out.diagnostics.push_back(
              {where, "unknown stage '" + s + "' (modules, devices, mount, binds, switch); no break there"});
      }
      continue;
    }
    auto dot = w.key.find('.');
    if (dot == std::string::npos || !w.has_value) {
      out.diagnostics.push_back({where, "not strata.<section>.<key>=<value>; ignored"});
      continue;
    }
    apply(out, where, w.key.substr(0, dot), w.key.substr(dot + 1), w.value);
  }
  return out;
}

std::string describe_keys() {
  std::string out;
  for (const auto& k : keys())
    out += std::string("[") + k.section + "] " + k.name + " = " + k.default_text + "    ; " + k.help + "\n";
  return out;
}

const char* to_string(UpperMode m) {
  return m == UpperMode::kTmpfs ? "tmpfs" : m == UpperMode::kPersistent ? "persistent" : "none";
}
const char* to_string(DataFailure d) {
  return d == DataFailure::kTmpfs ? "tmpfs" : d == DataFailure::kReadonly ? "readonly" : "rescue";
}
const char* to_string(LowerChange c) {
  return c == LowerChange::kKeep ? "keep" : c == LowerChange::kDiscard ? "discard" : "preserve";
}
const char* to_string(ResetTier t) {
  return t == ResetTier::kOverlay ? "overlay" : "all";
}
const char* to_string(FailurePolicy p) {
  return p == FailurePolicy::kRescue ? "rescue" : "reboot";
}
const char* to_string(Bootloader b) {
  return b == Bootloader::kUBoot ? "uboot" : "none";
}

const char* to_string(SlotMode m) {
  return m == SlotMode::kNone ? "none" : m == SlotMode::kPartitions ? "partitions" : "files";
}
const char* to_string(VerityMode m) {
  return m == VerityMode::kOff ? "off" : m == VerityMode::kOn ? "on" : "required";
}
std::string describe_failure(bool fallback_slot, FailurePolicy p) {
  return std::string(fallback_slot ? "fallback-slot, " : "") + to_string(p);
}

}  // namespace strata
