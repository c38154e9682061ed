#include "root_check.h"

#include <cstring>

namespace strata {

namespace {

std::string via_links(const Resolution& r) {
  std::string s;
  for (const auto& l : r.links) s += (s.empty() ? "" : ", ") + l;
  return s;
}

void check_init(const Config& c, const RootTree& tree, std::vector<RootFinding>& out) {
  Resolution r = tree.resolve(c.init);
  std::string why;
  if (!r.exists())
    why = r.dangling() ? "is a link that points nowhere inside the root (" + describe_resolution(r) + ")"
                       : "does not exist (" + describe_resolution(r) + ")";
  else if (r.kind != PathEntry::kOther)
    why = r.kind == PathEntry::kDirectory ? "is a directory" : "is not a regular file";
  else if (!tree.executable(r.path))
    why = "is not executable";
  if (!why.empty()) {
    out.push_back({RootFinding::kError, c.init,
                   "the init ([boot] init) " + why +
                       ": strata-init would fall back to /sbin/init, /etc/init, /bin/init or /bin/sh"});
  } else if (!r.links.empty()) {
    out.push_back({RootFinding::kNote, c.init, "the init is " + r.path + " (through " + via_links(r) + ")"});
  }
}

void check_mount_points(const RootTree& tree, std::vector<RootFinding>& out) {
  for (const char* m : kRootMountPoints) {
    Resolution r = tree.resolve(m);
    std::string why;
    if (!r.exists())
      why = "is missing";
    else if (!r.links.empty())
      // strata-init moves the mount onto this path from outside the new root,
      // where a link would lead somewhere else than it does inside.
      why = "is a symbolic link (" + via_links(r) + "); it must be a plain directory";
    else if (r.kind != PathEntry::kDirectory)
      why = "is not a directory";
    if (!why.empty())
      out.push_back({RootFinding::kError, m,
                     std::string("mount point ") + m + " " + why + ": strata-init moves its own " + m +
                         " there before switching root"});
  }
}

// `from_image`: a read-only bind shows the image's own directory, so it must be
// there; a persistent path missing from the image is created at boot.
void check_bind_paths(const char* kind, const std::vector<std::string>& paths, bool from_image, const RootTree& tree,
                      std::vector<RootFinding>& out) {
  for (const auto& p : paths) {
    Resolution r = tree.resolve(p);
    if (r.missing_plainly() && !from_image) continue;  // created at boot, as named
    std::string why = r.missing_plainly() ? r.path + " is not a directory in the root image" : describe_resolution(r);
    if (!why.empty()) {
      out.push_back({RootFinding::kError, p,
                     std::string(kind) + " " + p + ": " + why + "; strata-init would skip it (DEGRADED boot)"});
    } else if (!r.links.empty() || r.path != normalize_lexically(p)) {
      out.push_back({RootFinding::kNote, p,
                     std::string(kind) + " " + p + " is bound at " + r.path + " (through " + via_links(r) +
                         ", resolved inside the root as at boot)"});
    }
  }
}

}  // namespace

std::vector<RootFinding> check_root(const Config& config, const RootTree& tree) {
  std::vector<RootFinding> out;
  check_init(config, tree, out);
  check_mount_points(tree, out);
  check_bind_paths("read-only bind", config.readonly_binds, true, tree, out);
  check_bind_paths("persistent path", config.persist_paths, false, tree, out);
  return out;
}

bool has_errors(const std::vector<RootFinding>& findings) {
  for (const auto& f : findings)
    if (f.severity == RootFinding::kError) return true;
  return false;
}

}  // namespace strata
