#include "resolve.h"

#include <cstring>
#include <deque>

namespace strata {
namespace {

// The components of `path`, without empty ones ("a//b", a leading or trailing "/").
std::deque<std::string> split_components(const std::string& path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string parent(const std::string& dir) {
  size_t slash = dir.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

// What is left of the walk appended to where it stopped, lexically.
std::string append_rest(std::string at, std::deque<std::string>& rest) {
  for (const auto& c : rest) {
    if (c == ".") continue;
    at = c == ".." ? parent(at) : join(at, c);
  }
  return at;
}

}  // namespace

Resolution resolve_in_root(const std::string& path, const PathLookup& lookup) {
  Resolution r;
  std::deque<std::string> rest = split_components(path);
  std::string at = "/";
  r.kind = PathEntry::kDirectory;  // the root itself
  while (!rest.empty()) {
    std::string name = rest.front();
    rest.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      at = parent(at);  // the root's parent is the root, as RESOLVE_IN_ROOT has it
      continue;
    }
    const std::string next = join(at, name);
    PathEntry e = lookup(next);
    if (e.err != 0) {
      r.err = e.err;
      r.path = next;
      return r;
    }
    switch (e.kind) {
      case PathEntry::kMissing: {
        r.err = ENOENT;
        r.last_missing = rest.empty();
        // Only below the missing component is every name known to be free:
        // a ".." after it (or a link before it) could lead back to a link.
        bool climbs = false;
        for (const auto& c : rest) climbs = climbs || c == "..";
        r.creatable = r.links.empty() && !climbs;
        r.path = climbs ? next : append_rest(next, rest);
        return r;
      }
      case PathEntry::kSymlink: {
        r.links.push_back(next);
        if (static_cast<int>(r.links.size()) > kMaxSymlinks || e.target.empty()) {
          r.err = e.target.empty() ? ENOENT : ELOOP;  // an empty target names nothing, as in the kernel
          r.path = next;
          return r;
        }
        if (e.target[0] == '/')
          at.assign(1, '/');  // absolute: from the root, not the host's / (assign: GCC 12 -Wrestrict)
        auto target = split_components(e.target);
        rest.insert(rest.begin(), target.begin(), target.end());
        break;
      }
      case PathEntry::kDirectory:
        at = next;
        break;
      case PathEntry::kOther:
        if (!rest.empty()) {  // even "file/." and "file/..", as the kernel has it
          r.err = ENOTDIR;
          r.path = next;
          return r;
        }
        at = next;
        break;
    }
    r.kind = e.kind;
  }
  r.path = at;
  if (r.path == "/") r.kind = PathEntry::kDirectory;
  return r;
}

std::string normalize_lexically(const std::string& path) {
  std::deque<std::string> rest = split_components(path);
  return append_rest("/", rest);
}

std::string describe_resolution(const Resolution& r) {
  const std::string via = r.links.empty() ? "" : " (through the symlink " + r.links.back() + ")";
  if (r.err == 0) {
    if (r.path == "/") return "resolves to the root itself";
    if (r.kind != PathEntry::kDirectory) return "resolves to " + r.path + ", which is not a directory" + via;
    return "";
  }
  if (r.err == ELOOP) return "too many symlinks (a loop?) at " + r.path;
  if (r.err == ENOTDIR) return r.path + " is not a directory" + via;
  if (r.err == ENOENT && !r.links.empty()) return "dangling symlink: " + r.path + " does not exist" + via;
  if (r.err == ENOENT) return r.path + " does not exist";
  return "cannot look up " + r.path + ": " + std::strerror(r.err);
}

}  // namespace strata
