#include "persist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "data_layout.h"
#include "log.h"
#include "paths.h"
#include "resolve.h"
#include "sys.h"

namespace strata {
namespace {

bool lexists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string unique_suffix() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::to_string(ts.tv_sec) + "." + std::to_string(ts.tv_nsec) + "." + std::to_string(::getpid());
}

// Makes `dst` a copy of the one entry `src` (lstat'ed as `st`), with its owner
// and mode: an empty directory, a file or a symlink. Device nodes (overlay
// whiteouts among them), fifos and sockets are left out.
Status copy_one(const std::string& src, const std::string& dst, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(dst.c_str(), 0700) != 0) return errno_error("mkdir " + dst);
  } else if (S_ISREG(st.st_mode)) {
    if (auto s = sys::copy_file(src, dst); !s) return Error{s.error().err, "copy " + src + " to " + dst};
  } else if (S_ISLNK(st.st_mode)) {
    auto target = sys::read_link(src);
    if (!target) return Error{target.error().err, "copy symlink " + src + " to " + dst};
    if (::symlink(target->c_str(), dst.c_str()) != 0) return errno_error("copy symlink " + src + " to " + dst);
  } else {
    return {};
  }
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) return errno_error("chown " + dst);
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) return errno_error("chmod " + dst);
  return {};
}

// The directories above `path` (a preserved path) in the new upper's data
// dir, with the owner and mode of the old upper's: overlayfs shows a
// directory that exists in the upper with the upper's attributes.
Status make_parents(const std::string& old_data, const std::string& new_data, const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string rel = path.substr(0, slash), dir = new_data + rel;
    if (lexists(dir)) continue;
    struct stat st {};
    if (::lstat((old_data + rel).c_str(), &st) != 0) return errno_error("lstat " + old_data + rel);
    if (auto s = copy_one(old_data + rel, dir, st); !s) return s;
  }
  return {};
}

// A preserved path inside another preserved path moves with that one.
bool inside_another(const std::string& path, const std::vector<std::string>& all) {
  for (const auto& other : all)
    if (path.size() > other.size() && path.compare(0, other.size(), other) == 0 && path[other.size()] == '/')
      return true;
  return false;
}

// Copies into the directory `to` what it lacks of the tree `from`, entry by
// entry (copy_one). Nothing `to` has is touched.
Status copy_missing(const std::string& from, const std::string& to) {
  auto names = sys::list_dir(from);
  if (!names) return Error{names.error().err, "read " + from};
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    const std::string src = from + "/" + name, dst = to + "/" + name;
    struct stat st {};
    struct stat have {};
    if (::lstat(src.c_str(), &st) != 0) return errno_error("lstat " + src);
    if (::lstat(dst.c_str(), &have) == 0) {
      // What `to` has is kept; a directory it has as a directory gets what it lacks inside.
      if (S_ISDIR(st.st_mode) && S_ISDIR(have.st_mode))
        if (auto s = copy_missing(src, dst); !s) return s;
      continue;
    }
    if (auto s = copy_one(src, dst, st); !s) return s;
    if (S_ISDIR(st.st_mode))
      if (auto s = copy_missing(src, dst); !s) return s;
  }
  return {};
}

// Copies one entry (a file, a symlink, or a directory tree) that `to` lacks.
Status copy_entry(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return errno_error("lstat " + from);
  if (auto s = copy_one(from, to, st); !s) return s;
  return S_ISDIR(st.st_mode) ? copy_missing(from, to) : Status();
}

PathEntry entry_of(const std::string& file, const struct stat& st) {
  PathEntry e;
  if (S_ISDIR(st.st_mode)) {
    e.kind = PathEntry::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    e.kind = PathEntry::kSymlink;
    auto target = sys::read_link(file);
    if (target)
      e.target = *target;
    else
      e.err = target.error().err;
  } else {
    e.kind = PathEntry::kOther;
  }
  return e;
}

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(const std::string& dir) {
  char v = 0;
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

// Looks a path up as the overlay of `upper_data` over `lower` would show it,
// before it is mounted: the upper's entry if any (a whiteout hides the
// lower's), else the lower's, unless an upper directory above is opaque or
// the lower has no directory there. The walk (resolve.h) hands in paths whose
// every prefix it found to be a directory, so nothing here follows a link.
PathLookup overlay_lookup(const std::string& upper_data, const std::string& lower) {
  return [upper_data, lower](const std::string& path) {
    struct stat st {};
    if (::lstat((upper_data + path).c_str(), &st) == 0)
      return is_whiteout(st) ? PathEntry{} : entry_of(upper_data + path, st);
    if (errno != ENOENT) return PathEntry{PathEntry::kMissing, "", errno};
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      const std::string above = path.substr(0, slash);
      if (::lstat((upper_data + above).c_str(), &st) == 0 && is_opaque(upper_data + above)) return PathEntry{};
      if (::lstat((lower + above).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return PathEntry{};
    }
    if (::lstat((lower + path).c_str(), &st) != 0) return PathEntry{};
    return entry_of(lower + path, st);
  };
}

// What of a preserve path lives in an upper: the links followed on the way
// and the entry it resolves to, each resolved as the new root would show it
// (never outside it). Sets `why` when the path cannot be resolved.
std::vector<std::string> preserved_entries(const std::string& path, const std::string& upper_data,
                                           const std::string& lower, std::string& why) {
  Resolution r = resolve_in_root(path, overlay_lookup(upper_data, lower));
  why.clear();
  if (r.err != 0 && r.err != ENOENT) {
    why = describe_resolution(r);
    return {};
  }
  if (r.path == "/") {
    why = "resolves to the root itself";
    return {};
  }
  std::vector<std::string> out = r.links;
  // A whiteout there (a shipped file the user deleted) is kept as well.
  if (r.err == 0 || r.last_missing) out.push_back(r.path);
  return out;
}

}  // namespace

DataPartition::DataPartition(std::string root, int slot) : root_(std::move(root)) {
  upper_ = data::upper_dir(slot);
  lower_id_ = slot < 0 ? std::string(data::kLowerId) : upper_ + ".lower-id";
}

Status DataPartition::sync() const {
  auto fd = sys::open(p(data::kTop), O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  if (::syncfs(fd->get()) != 0) return errno_error("syncfs " + p(data::kMount));
  return {};
}

std::optional<ResetTier> DataPartition::reset_request() const {
  // On a full partition the request is a symlink whose target is the tier (see below).
  char link[16];
  if (ssize_t n = ::readlink(p(data::kResetRequest).c_str(), link, sizeof link); n > 0)
    return std::string_view(link, static_cast<size_t>(n)) == "all" ? ResetTier::kAll : ResetTier::kOverlay;
  auto text = sys::read_value(p(data::kResetRequest));
  if (!text) return std::nullopt;
  return *text == "all" ? ResetTier::kAll : ResetTier::kOverlay;
}

Status DataPartition::request_reset(ResetTier tier) const {
  if (auto s = sys::mkdir_p(p(data::kTop)); !s) return s;
  Status written = sys::write_file_durable(p(data::kResetRequest), std::string(to_string(tier)) + "\n");
  if (written || written.error().err != ENOSPC) return written;
  // A full partition, the very case a reset is asked for: a short symlink
  // keeps its target in the inode and needs no data block.
  const std::string tmp = p(data::kResetRequest) + ".link";
  ::unlink(tmp.c_str());
  ::unlink((p(data::kResetRequest) + ".tmp").c_str());
  if (::symlink(to_string(tier), tmp.c_str()) != 0) return errno_error("symlink " + tmp);
  return sys::rename_durable(tmp, p(data::kResetRequest));
}

Status DataPartition::move_to_trash(const std::string& path, const std::string& kind, std::vector<std::string>& log) {
  if (!lexists(path)) return {};
  if (auto s = sys::mkdir_p(p(data::kTrash), 0700); !s) {
    if (s.error().err != ENOSPC) return s;
    // Too full for trash/ itself: delete in place (nothing is mounted on it yet).
    if (auto r = sys::remove_tree(path); !r)
      return Error{r.error().err, "delete " + path + " (the data partition is full): " + r.error().message()};
    log.push_back("deleted " + path + " in place: the data partition is too full for trash/");
    return {};
  }
  // Without a clock the suffix can repeat across boots: count up past any taken name.
  std::string dest = p(data::kTrash) + "/" + kind + "-" + unique_suffix();
  for (int n = 1; lexists(dest); n++)
    dest = p(data::kTrash) + "/" + kind + "-" + unique_suffix() + "-" + std::to_string(n);
  if (auto s = sys::rename_durable(path, dest); !s) return s;
  log.push_back("moved " + path + " aside to " + dest);
  return {};
}

Status DataPartition::reset(ResetTier tier, std::vector<std::string>& log) {
  if (auto s = sys::mkdir_p(p(data::kTop)); !s) return s;
  // A request left from a power cut is redone from wherever it stopped:
  // each step below is skipped once done.
  // Every upper goes, the single one and both slots' (whichever is in use).
  for (const std::string& u : {std::string(data::kUpper), data::kSlotUpperPrefix + std::string("a"),
                               data::kSlotUpperPrefix + std::string("b")}) {
    for (const char* suffix : {"", ".new", ".seed"})
      if (auto s = move_to_trash(p(u) + suffix, "upper", log); !s) return s;
  }
  crash_point("reset-upper-moved");
  if (tier == ResetTier::kAll) {
    if (auto s = move_to_trash(p(data::kPersist), "persist", log); !s) return s;
    crash_point("reset-persist-moved");
  }
  for (const std::string& id : {std::string(data::kLowerId), data::kSlotUpperPrefix + std::string("a.lower-id"),
                                data::kSlotUpperPrefix + std::string("b.lower-id")})
    ::unlink(p(id).c_str());
  if (auto s = sync(); !s) return s;
  if (::unlink(p(data::kResetRequest).c_str()) != 0 && errno != ENOENT)
    return errno_error("remove " + p(data::kResetRequest));
  if (auto s = sys::fsync_path(p(data::kTop)); !s) return s;
  crash_point("reset-done");
  log.push_back(std::string("factory reset (") + to_string(tier) + ") done");
  return {};
}

Status DataPartition::ensure_upper() {
  const std::string upper = p(upper_), fresh = upper + ".new";
  // A lower-change replacement cut short after the old upper left: finish it.
  if (!lexists(upper) && lexists(fresh)) {
    if (auto s = sys::rename_durable(fresh, upper); !s) return s;
  }
  for (const char* d : {"/data", "/work"})
    if (auto s = sys::mkdir_p(upper + d); !s) return s;
  return {};
}

Status DataPartition::probe_upper() const {
  const std::string file = p(upper_) + "/work/.strata-probe";
  const std::string wh = p(upper_) + "/work/.strata-probe-wh";
  ::unlink(file.c_str());
  ::unlink(wh.c_str());
  if (auto s = sys::write_file(file, ""); !s) return s;
  Status result;
  if (::setxattr(file.c_str(), "trusted.overlay.strata-probe", "y", 1, 0) != 0) {
    result = errno_error("the data filesystem cannot hold trusted.* xattrs (setxattr on " + file + ")");
  } else if (::mknod(wh.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
    result = errno_error("the data filesystem cannot hold overlay whiteouts (mknod 0/0 " + wh + ")");
  }
  ::unlink(file.c_str());
  ::unlink(wh.c_str());
  return result;
}

Status DataPartition::apply_lower_change(const std::string& lower_id, LowerChange policy,
                                         const std::vector<std::string>& preserve, std::vector<std::string>& log) {
  const std::string id_path = p(lower_id_);
  auto read = sys::read_value(id_path);
  const std::string recorded = read ? *read : "";  // "": nothing recorded yet (first boot, reset)
  if (recorded == lower_id) {
    // A replacement cut short, and now the image it was for is not the one
    // booting (an A/B fallback): put the preserved paths back, drop the rest.
    const std::string upper = p(upper_), fresh = upper + ".new";
    if (lexists(fresh) && lexists(upper)) {
      for (const auto& path : preserve) {
        std::string why;
        for (const auto& entry : preserved_entries(path, fresh + "/data", p(paths::kLower), why)) {
          const std::string moved = fresh + "/data" + entry, home = upper + "/data" + entry;
          if (lexists(moved) && !lexists(home) && ::rename(moved.c_str(), home.c_str()) != 0)
            return errno_error("put " + entry + " back into the upper");
        }
      }
      if (auto s = sync(); !s) return s;
      if (auto s = move_to_trash(fresh, "upper", log); !s) return s;
      log.push_back("rolled back a replacement of the upper cut short for another image");
    }
    return {};
  }
  if (!recorded.empty() && policy != LowerChange::kKeep) {
    log.push_back("lower image changed (" + recorded + " -> " + lower_id + "): " + to_string(policy));
    const std::string upper = p(upper_), fresh = upper + ".new";
    // Build the replacement beside the old upper, then swap: a cut at any
    // point leaves either the old upper with the preserved paths, or the new.
    for (const char* d : {"/data", "/work"})
      if (auto s = sys::mkdir_p(fresh + d); !s) return s;
    if (policy == LowerChange::kPreserve) {
      const std::vector<std::string> entries = preserved_in(upper + "/data", preserve);
      for (const auto& entry : entries) {
        const std::string from = upper + "/data" + entry, to = fresh + "/data" + entry;
        if (!lexists(from) || inside_another(entry, entries)) continue;
        if (auto s = make_parents(upper + "/data", fresh + "/data", entry); !s) return s;
        if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("preserve " + entry);
        log.push_back("preserved " + entry);
      }
    }
    if (auto s = sync(); !s) return s;
    if (auto s = move_to_trash(upper, "upper", log); !s) return s;
    if (auto s = sys::rename_durable(fresh, upper); !s) return s;
  } else if (!recorded.empty()) {
    log.push_back("lower image changed (" + recorded + " -> " + lower_id + "): keep");
  }
  return sys::write_file_durable(id_path, lower_id + "\n");
}

std::vector<std::string> DataPartition::preserved_in(const std::string& upper_data,
                                                     const std::vector<std::string>& preserve) {
  std::vector<std::string> entries;
  for (const auto& path : preserve) {
    std::string why;
    auto found = preserved_entries(path, upper_data, p(paths::kLower), why);
    if (!why.empty()) {
      warnings.push_back("preserve path " + path + " skipped: " + why);
      LOGW("preserve path %s skipped: %s", path.c_str(), why.c_str());
    }
    for (auto& e : found)
      if (std::find(entries.begin(), entries.end(), e) == entries.end()) entries.push_back(e);
  }
  return entries;
}

Result<std::string> DataPartition::prepare_persistent(const std::string& path, const std::string& lower_copy,
                                                      bool add_new, std::vector<std::string>& log) {
  const std::string tree = p(data::kPersist) + normalize_lexically(path);  // never above persist/
  if (!lexists(tree)) {
    // Seed into a temp name and rename: a cut leaves no half-seeded tree.
    const std::string seed = tree + ".seed";
    (void)sys::remove_tree(seed);
    if (auto s = sys::mkdir_p(sys::parent_of(tree)); !s) return s.error();
    if (sys::is_dir(lower_copy)) {
      // Owners and modes too: a service's state dir in the image stays its own.
      struct stat st {};
      Status s = ::stat(lower_copy.c_str(), &st) == 0 ? Status() : errno_error("stat " + lower_copy);
      if (s) s = copy_one(lower_copy, seed, st);  // stat, not lstat: the image's dir, even behind a link
      if (s) s = copy_missing(lower_copy, seed);
      if (!s) return Error{s.error().err, "seed persistent " + path + " from the image: " + s.error().context};
      log.push_back("persistent " + path + ": seeded from the image");
    } else if (auto s = sys::mkdir_p(seed); !s) {
      return s.error();
    } else {
      log.push_back("persistent " + path + ": created empty (not in the image)");
    }
    if (auto s = sync(); !s) return s.error();  // the copied data before the name that says "seeded"
    if (auto s = sys::rename_durable(seed, tree); !s) return s.error();
  } else if (add_new && sys::is_dir(lower_copy)) {
    // Only what is missing is copied; nothing in the tree is overwritten.
    if (auto s = copy_missing(lower_copy, tree); !s)
      return Error{s.error().err, "add new files to persistent " + path + ": " + s.error().context};
  }
  return tree;
}

Status DataPartition::seed_slot_upper(int from, int to, const std::vector<std::string>& preserve,
                                      std::vector<std::string>& log) {
  const std::string src = DataPartition(root_, from).upper() + "/data";
  const DataPartition target(root_, to);
  const std::string dst = target.upper(), seed = dst + ".seed";
  // A seed left by an earlier, cut update is stale: start over.
  if (auto s = move_to_trash(seed, "upper", log); !s) return s;
  for (const char* d : {"/data", "/work"})
    if (auto s = sys::mkdir_p(seed + d); !s) return s;
  const std::vector<std::string> entries = preserved_in(src, preserve);
  for (const auto& path : entries) {
    const std::string from_path = src + path, to_path = seed + "/data" + path;
    if (!lexists(from_path) || inside_another(path, entries)) continue;
    if (auto s = make_parents(src, seed + "/data", path); !s) return s;
    // Copies, not renames: the running system keeps its upper.
    Status s = copy_entry(from_path, to_path);
    if (!s)
      return Error{s.error().err, "copy " + path + " into slot " + std::string(1, to == 0 ? 'a' : 'b') +
                                      "'s upper: " + s.error().context};
    log.push_back("copied " + path + " into the new slot's upper");
  }
  if (auto s = sync(); !s) return s;
  crash_point("seed-copied");
  if (auto s = move_to_trash(dst, "upper", log); !s) return s;
  crash_point("seed-old-moved");
  // No recorded image id: the first boot of the new image records its own and keeps this upper.
  const std::string id = p(target.lower_id_);
  if (::unlink(id.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + id);
  return sys::rename_durable(seed, dst);
}

void DataPartition::empty_trash() const {
  const std::string trash = p(data::kTrash);
  if (auto names = sys::list_dir(trash))
    for (const auto& n : *names) (void)sys::remove_tree(trash + "/" + n);
}

}  // namespace strata
