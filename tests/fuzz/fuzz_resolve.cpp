// libFuzzer: resolve_in_root over an arbitrary tree. Input: lines
// "PATH ENTRY" (ENTRY "/" a directory, "f" a file, "@TARGET" a symlink), the
// last line the path to resolve. Whatever the links, the walk must end, look
// up only clean absolute paths whose every parent it found to be a directory
// (what makes the fstatat walk safe), and answer a path inside the root.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "resolve.h"

namespace {

bool clean_absolute(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  if (p == "/") return true;
  // Every component non-empty, and neither "." nor "..".
  for (size_t i = 1; i <= p.size();) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    const std::string c = p.substr(i, j - i);
    if (c.empty() || c == "." || c == "..") return false;
    i = j + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> tree;
  std::string last;
  size_t i = 0;
  while (i <= text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(i, nl - i));
    i = nl + 1;
    size_t sp = line.find(' ');
    if (sp != std::string::npos) tree[strata::normalize_lexically(line.substr(0, sp))] = line.substr(sp + 1);
    last = line;
  }
  long lookups = 0;
  const strata::PathLookup lookup = [&](const std::string& p) {
    if (!clean_absolute(p) || p == "/") abort();
    // Every parent of what is looked up was found to be a directory.
    for (size_t s = p.find('/', 1); s != std::string::npos; s = p.find('/', s + 1)) {
      auto it = tree.find(p.substr(0, s));
      if (it == tree.end() || it->second != "/") abort();
    }
    if (++lookups > 100000) abort();
    strata::PathEntry e;
    auto it = tree.find(p);
    if (it == tree.end()) return e;
    if (it->second == "/")
      e.kind = strata::PathEntry::kDirectory;
    else if (!it->second.empty() && it->second[0] == '@')
      e.kind = strata::PathEntry::kSymlink, e.target = it->second.substr(1);
    else
      e.kind = strata::PathEntry::kOther;
    return e;
  };
  const strata::Resolution r = strata::resolve_in_root(last, lookup);
  if (!clean_absolute(r.path)) abort();
  if (r.links.size() > static_cast<size_t>(strata::kMaxSymlinks) + 1) abort();
  for (const auto& l : r.links)
    if (!clean_absolute(l)) abort();
  if (r.err == 0 && r.path != "/" && tree.find(r.path) == tree.end()) abort();
  if (r.missing_plainly() && !r.links.empty()) abort();
  if (!clean_absolute(strata::normalize_lexically(last))) abort();
  return 0;
}
