#include "persist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include "data_layout.h"
#include "log.h"
#include "sys.h"

namespace fs = std::filesystem;

namespace strata {
namespace {

bool lexists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string unique_suffix() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::to_string(ts.tv_sec) + "." + std::to_string(ts.tv_nsec) + "." + std::to_string(::getpid());
}

}  // namespace

Status DataPartition::sync() const {
  auto fd = sys::open(p(data::kTop), O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  if (::syncfs(fd->get()) != 0) return errno_error("syncfs " + p(data::kMount));
  return {};
}

std::optional<ResetTier> DataPartition::reset_request() const {
  auto text = sys::read_file(p(data::kResetRequest), 4096);
  if (!text) return std::nullopt;
  return trim(*text) == "all" ? ResetTier::kAll : ResetTier::kOverlay;
}

Status DataPartition::request_reset(ResetTier tier) const {
  if (auto s = sys::mkdir_p(p(data::kTop)); !s) return s;
  return sys::write_file_durable(p(data::kResetRequest), std::string(to_string(tier)) + "\n");
}

Status DataPartition::move_to_trash(const std::string& path, const std::string& kind, std::vector<std::string>& log) {
  if (!lexists(path)) return {};
  if (auto s = sys::mkdir_p(p(data::kTrash), 0700); !s) return s;
  const std::string dest = p(data::kTrash) + "/" + kind + "-" + unique_suffix();
  if (auto s = sys::rename_durable(path, dest); !s) return s;
  log.push_back("moved " + path + " aside to " + dest);
  return {};
}

Status DataPartition::reset(ResetTier tier, std::vector<std::string>& log) {
  if (auto s = sys::mkdir_p(p(data::kTop)); !s) return s;
  // A request left from a power cut is redone from wherever it stopped:
  // each step below is skipped once done.
  if (auto s = move_to_trash(p(data::kUpper), "upper", log); !s) return s;
  if (auto s = move_to_trash(p(data::kUpper) + ".new", "upper", log); !s) return s;
  crash_point("reset-upper-moved");
  if (tier == ResetTier::kAll) {
    if (auto s = move_to_trash(p(data::kPersist), "persist", log); !s) return s;
    crash_point("reset-persist-moved");
  }
  ::unlink(p(data::kLowerId).c_str());
  if (auto s = sync(); !s) return s;
  if (::unlink(p(data::kResetRequest).c_str()) != 0 && errno != ENOENT)
    return errno_error("remove " + p(data::kResetRequest));
  if (auto s = sys::fsync_path(p(data::kTop)); !s) return s;
  crash_point("reset-done");
  log.push_back(std::string("factory reset (") + to_string(tier) + ") done");
  return {};
}

Status DataPartition::ensure_upper() {
  const std::string upper = p(data::kUpper), fresh = upper + ".new";
  // A lower-change replacement cut short after the old upper left: finish it.
  if (!lexists(upper) && lexists(fresh)) {
    if (auto s = sys::rename_durable(fresh, upper); !s) return s;
  }
  for (const char* d : {"/data", "/work"})
    if (auto s = sys::mkdir_p(upper + d); !s) return s;
  return {};
}

Status DataPartition::probe_upper() const {
  const std::string file = p(data::kUpper) + "/work/.strata-probe";
  const std::string wh = p(data::kUpper) + "/work/.strata-probe-wh";
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
  const std::string id_path = p(data::kLowerId);
  auto recorded = sys::read_file(id_path, 4096);
  if (recorded && trim(*recorded) == lower_id) return {};
  if (recorded && !trim(*recorded).empty() && policy != LowerChange::kKeep) {
    log.push_back("lower image changed (" + trim(*recorded) + " -> " + lower_id + "): " + to_string(policy));
    const std::string upper = p(data::kUpper), fresh = upper + ".new";
    // Build the replacement beside the old upper, then swap: a cut at any
    // point leaves either the old upper with the preserved paths, or the new.
    for (const char* d : {"/data", "/work"})
      if (auto s = sys::mkdir_p(fresh + d); !s) return s;
    if (policy == LowerChange::kPreserve) {
      for (const auto& path : preserve) {
        const std::string from = upper + "/data" + path, to = fresh + "/data" + path;
        if (!lexists(from)) continue;
        if (auto s = sys::mkdir_p(fs::path(to).parent_path().string()); !s) return s;
        if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("preserve " + path);
        log.push_back("preserved " + path);
      }
    }
    if (auto s = sync(); !s) return s;
    if (auto s = move_to_trash(upper, "upper", log); !s) return s;
    if (auto s = sys::rename_durable(fresh, upper); !s) return s;
  } else if (recorded && !trim(*recorded).empty()) {
    log.push_back("lower image changed (" + trim(*recorded) + " -> " + lower_id + "): keep");
  }
  return sys::write_file_durable(id_path, lower_id + "\n");
}

Result<std::string> DataPartition::prepare_persistent(const std::string& path, const std::string& lower_copy,
                                                      bool add_new, std::vector<std::string>& log) {
  const std::string tree = p(data::kPersist) + path;
  std::error_code ec;
  if (!lexists(tree)) {
    // Seed into a temp name and rename: a cut leaves no half-seeded tree.
    const std::string seed = tree + ".seed";
    fs::remove_all(seed, ec);
    if (auto s = sys::mkdir_p(fs::path(tree).parent_path().string()); !s) return s.error();
    if (sys::is_dir(lower_copy)) {
      fs::copy(lower_copy, seed, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
      if (ec) return Error{ec.value(), "seed persistent " + path + " from the image"};
      log.push_back("persistent " + path + ": seeded from the image");
    } else if (auto s = sys::mkdir_p(seed); !s) {
      return s.error();
    } else {
      log.push_back("persistent " + path + ": created empty (not in the image)");
    }
    if (auto s = sys::rename_durable(seed, tree); !s) return s.error();
  } else if (add_new && sys::is_dir(lower_copy)) {
    // Only what is missing is copied; nothing in the tree is overwritten.
    fs::copy(lower_copy, tree,
             fs::copy_options::recursive | fs::copy_options::skip_existing | fs::copy_options::copy_symlinks, ec);
    if (ec) return Error{ec.value(), "add new files to persistent " + path};
  }
  return tree;
}

void DataPartition::empty_trash() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p(data::kTrash), ec)) fs::remove_all(e.path(), ec);
}

}  // namespace strata
