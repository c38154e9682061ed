// Operations on the mounted data partition (see data_layout.h). Each one is
// safe against power loss at any instant: changes are renames, made durable
// with syncfs, ordered so that redoing a half-done step completes it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "result.h"

namespace strata {

class DataPartition {
 public:
  // `root` prefixes every path (host tests run against a scratch dir).
  // `slot` (0, 1) selects that A/B slot's own upper; -1 the single upper.
  explicit DataPartition(std::string root = "", int slot = -1);

  // Called between the steps of a reset; strata.crash_at hooks in here.
  std::function<void(const std::string& point)> crash_point = [](const std::string&) {};

  // The pending reset request written by `strata factory-reset`, if any.
  std::optional<ResetTier> reset_request() const;
  // Durably asks the next boot to reset (the CLI's half of a reset).
  Status request_reset(ResetTier tier) const;
  // Moves the upper (and with kAll the persistent paths) into the trash,
  // then removes the request. Constant time in the number of files.
  Status reset(ResetTier tier, std::vector<std::string>& log);

  // Recovers a half-done replacement and makes upper/data and upper/work.
  Status ensure_upper();
  // Checks that the filesystem can hold an overlay upper: trusted.* xattrs
  // and 0/0 character-device whiteouts.
  Status probe_upper() const;
  // Applies the lower-change policy when `lower_id` differs from the one
  // recorded beside the upper, then records `lower_id`.
  Status apply_lower_change(const std::string& lower_id, LowerChange policy, const std::vector<std::string>& preserve,
                            std::vector<std::string>& log);
  // Makes the persistent tree for `path`, seeded from `lower_copy` on first
  // use; with add_new, copies files the image has and the tree lacks.
  Result<std::string> prepare_persistent(const std::string& path, const std::string& lower_copy, bool add_new,
                                         std::vector<std::string>& log);
  // Deletes what earlier resets moved aside. Slow: run it in the background.
  void empty_trash() const;

  // An update's half: replaces slot `to`'s upper with copies of the preserve
  // paths from slot `from`'s, so the new image starts with the running
  // configuration and a rollback finds `from`'s upper as it was. The target
  // slot is marked bad while this runs, so a cut leaves nothing booted half-made.
  Status seed_slot_upper(int from, int to, const std::vector<std::string>& preserve, std::vector<std::string>& log);

  std::string p(const std::string& path) const { return root_ + path; }

  // Preserve paths that could not be resolved inside the upper (a loop, a
  // file where a directory is needed) and were skipped: for the console and the status.
  std::vector<std::string> warnings;
  // This partition's upper (data/ and work/ inside): upper, or upper-a / upper-b.
  std::string upper() const { return p(upper_); }

 private:
  // The entries of the upper `upper_data` that `preserve` names: each path
  // resolved as the new root shows it (the upper over the image at
  // /run/strata/lower), the symlinks followed on the way included.
  std::vector<std::string> preserved_in(const std::string& upper_data, const std::vector<std::string>& preserve);
  Status move_to_trash(const std::string& path, const std::string& kind, std::vector<std::string>& log);
  Status sync() const;
  std::string root_;
  std::string upper_;     // without root_
  std::string lower_id_;  // the image id recorded beside upper_
};

}  // namespace strata
