// Small helpers shared by the unit tests.
#pragma once

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cmdline.h"
#include "config.h"
#include "device_spec.h"
#include "resolve.h"
#include "slot_state.h"

namespace strata::test {

// ["a", "b c"] -> "[a][b c]": one string, so a failure shows the whole list.
inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "[" + s + "]";
  return out;
}

// Diagnostics as "where: message" lines.
inline std::string join(const std::vector<Diagnostic>& v) {
  std::string out;
  for (const auto& d : v) out += d.where + ": " + d.message + "\n";
  return out;
}

// A slot record copy from its text before the CRC line: the CRC line and NUL
// padding added, so a test can get past the CRC to the check it means.
inline std::string slot_record(const std::string& body, size_t size = kSlotRecordSize) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  char line[32];
  std::snprintf(line, sizeof line, "crc32 %08lx\n", crc);
  std::string out = body + line;
  out.resize(size, '\0');
  return out;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// What decide() always passes to overlayfs besides the layer dirs.
inline const char* const kOverlayOptions = "index=off,metacopy=off,redirect_dir=nofollow,xino=off";

// A probed block device, as libblkid would report it.
inline BlockDevice dev(std::string path, std::string type, std::string partlabel, std::string label = "") {
  BlockDevice d;
  d.path = std::move(path);
  d.type = std::move(type);
  d.partlabel = std::move(partlabel);
  d.label = std::move(label);
  return d;
}

// A config from INI text (named `file` in diagnostics) and a command line.
inline LoadedConfig load(const std::string& ini, const std::string& cmdline = "",
                         const std::string& file = "test.ini") {
  return load_config(ini, file, strata_words(cmdline));
}

// A tree as a map from absolute path to entry; "@x" is a symlink to x,
// "/" a directory, "f" a file. Lookups are recorded to check what was asked.
struct FakeTree {
  std::map<std::string, std::string> entries;
  std::vector<std::string> asked;

  PathLookup lookup() {
    return [this](const std::string& path) {
      asked.push_back(path);
      PathEntry e;
      auto it = entries.find(path);
      if (it == entries.end()) return e;
      if (it->second == "/")
        e.kind = PathEntry::kDirectory;
      else if (it->second == "f")
        e.kind = PathEntry::kOther;
      else if (it->second == "!")
        e.err = EACCES;
      else
        e.kind = PathEntry::kSymlink, e.target = it->second.substr(1);
      return e;
    };
  }
  Resolution resolve(const std::string& path) { return resolve_in_root(path, lookup()); }
};

}  // namespace strata::test
