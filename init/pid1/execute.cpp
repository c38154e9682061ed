#include "execute.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "clock.h"
#include "data_layout.h"
#include "device_mapper.h"
#include "image_id.h"
#include "log.h"
#include "loop_device.h"
#include "paths.h"
#include "persist.h"
#include "probe.h"
#include "resolve_path.h"
#include "slot_store.h"
#include "sys.h"
#include "write_window.h"

namespace strata {
Status Executor::mount_tracked(const std::string& src, const std::string& target, const std::string& fstype,
                               unsigned long flags, const std::string& data) {
  if (auto s = sys::mount(src, target, fstype, flags, data); !s) return s;
  mounted_.push_back(target);
  return {};
}

void Executor::undo() {
  for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
    if (auto s = sys::umount(*it, MNT_DETACH); !s) LOGW("undo: %s", s.error().message().c_str());
  }
  mounted_.clear();
  if (!verity_name_.empty()) {
    if (auto s = dm_remove(verity_name_); !s) LOGW("undo: %s", s.error().message().c_str());
    verity_name_.clear();
  }
}

Result<std::string> Executor::open_verity(const BootPlan& plan, const std::string& device) {
  const VerityParams& v = *plan.verity;
  // A device left by an earlier attempt of this boot goes first.
  if (auto s = dm_remove(plan.verity_name); !s) return s.error();
  // Checked with the default table (a bad block fails its read with EIO)...
  auto dm = dm_create_verity(plan.verity_name, device, v, VerityOnCorruption::kEio, path("/dev"));
  if (!dm) return dm.error();
  verity_name_ = plan.verity_name;
  const std::string who = plan.slot >= 0 ? slot_word(plan.slot) : std::string("the root image");
  int64_t t0 = monotonic_ms();
  if (auto s = read_all(dm->path); !s) {
    // The target's status tells a hash mismatch ("C") from a device that fails its reads.
    auto st = dm_status(plan.verity_name);
    const bool mismatch = st && *st == "C";
    return Error{s.error().err,
                 "dm-verity: " + who + (mismatch ? " is corrupt (" : " could not be read (") + s.error().context + ")"};
  }
  LOGN("dm-verity: %s verified (%llu blocks, root %.16s..., %lld ms) on %s", who.c_str(),
       static_cast<unsigned long long>(v.data_blocks), v.root_hash.c_str(), static_cast<long long>(monotonic_ms() - t0),
       dm->path.c_str());
  // ...then a corruption found while running restarts the machine: never
  // garbage, and the next boot's check sends it to the other slot.
  if (auto s = dm_reload(plan.verity_name, "verity", verity_sectors(v),
                         verity_table_params(device, v, VerityOnCorruption::kRestart));
      !s)
    return s.error();
  verity_device_ = dm->path;
  return dm->path;
}

// Reads the image's init (the file the configured init resolves to inside
// the lower) once, whole: a read error there is the slot's to report now,
// while another slot can still be chosen, not a SIGBUS in PID 1 after the
// switch (which the kernel answers with a panic). A missing init is not an
// error here: exec falls back to /sbin/init, /etc/init, /bin/init, /bin/sh.
static Status read_init(const std::string& lower, const std::string& init) {
  auto r = sys::resolve_in_root(lower, init);
  if (!r || !r->exists() || r->kind != PathEntry::kOther) return {};
  auto fd = sys::open(lower + r->path, O_RDONLY | O_CLOEXEC);
  if (!fd) return fd.error();
  static char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read the init " + r->path + " from the image");
    if (n == 0) return {};
  }
}

Status Executor::mount_lower(const BootPlan& plan) {
  if (auto s = mount_lower_image(plan); !s) return s;
  return read_init(path(paths::kLower), plan.init);
}

Status Executor::mount_lower_image(const BootPlan& plan) {
  const std::string lower = path(paths::kLower);
  if (auto s = sys::mkdir_p(lower); !s) return s;
  if (plan.image.empty()) {
    std::string dev = plan.root_device;
    if (plan.verity) {
      auto dm = open_verity(plan, path(plan.root_device));
      if (!dm) return dm.error();
      dev = *dm;
    }
    return mount_tracked(dev, lower, plan.root_fstype, MS_RDONLY);
  }

  // The image file lives on a partition: mount that read-only (file slots:
  // the data partition, already mounted), attach the image.
  std::string image;
  if (plan.image_on_data) {
    image = path(data::kMount) + plan.image;
  } else {
    const std::string source = path(paths::kSource);
    if (auto s = sys::mkdir_p(source); !s) return s;
    if (auto s = mount_tracked(plan.root_device, source, plan.root_fstype, MS_RDONLY); !s) return s;
    image = source + plan.image;
  }
  if (!sys::exists(image))
    return plain_error("image file " + plan.image + " not found on " + plan.root_device + " (" + plan.root_spec + ")");
  auto loop = attach_loop(image, path("/dev"));
  if (!loop) return loop.error();
  loop_device_ = loop->path;
  std::string dev = loop->path;
  if (plan.verity) {
    auto dm = open_verity(plan, loop->path);  // device-mapper now holds the loop device
    if (!dm) return dm.error();
    dev = *dm;
  }
  std::string type = plan.image_fstype;
  if (type.empty()) {
    auto probed = probe_device(dev);
    type = probed ? probed->type : "";
    if (type.empty()) return plain_error("no filesystem found in image " + plan.image + " (" + dev + ")");
  }
  LOGI("image %s attached to %s (%s)", plan.image.c_str(), dev.c_str(), type.c_str());
  return mount_tracked(dev, lower, type, MS_RDONLY);  // the mount now holds the device
}

Status Executor::mount_upper_and_overlay(const BootPlan& plan) {
  const std::string newroot = path(paths::kNewRoot);
  if (auto s = sys::mkdir_p(newroot); !s) return s;
  if (plan.upper_mode == UpperMode::kNone) {
    // The lower alone: a read-only bind of it is the new root.
    return mount_tracked(path(paths::kLower), newroot, "", MS_BIND);
  }
  const std::string upperfs = path(paths::kUpperFs);
  if (auto s = sys::mkdir_p(upperfs); !s) return s;
  if (plan.upper_mode == UpperMode::kPersistent) {
    // The same path in both modes: /run/strata/upper/{data,work}.
    if (auto s = mount_tracked(DataPartition(root_, plan.slot).upper(), upperfs, "", MS_BIND); !s) return s;
  } else {
    if (auto s = mount_tracked("tmpfs", upperfs, "tmpfs", MS_NOSUID | MS_NODEV, plan.tmpfs_options); !s) return s;
    for (const char* d : {paths::kUpperDir, paths::kWorkDir})
      if (auto s = sys::mkdir_p(path(d)); !s) return s;
  }

  const std::string opts = "lowerdir=" + path(paths::kLower) + ",upperdir=" + path(paths::kUpperDir) +
                           ",workdir=" + path(paths::kWorkDir) + "," + plan.overlay_options;
  if (auto s = mount_tracked("overlay", newroot, "overlay", 0, opts); !s) return s;
  // Overlayfs goes read-only with only a log line when its work dir fails.
  auto ro = sys::is_readonly(newroot);
  if (!ro) return ro.error();
  if (*ro) return plain_error("overlay on " + newroot + " came up read-only (work directory unusable?)");
  return {};
}

Status Executor::mount_data_partition(const std::string& device, const std::string& fstype) {
  const std::string mnt = path(data::kMount);
  if (auto s = sys::mkdir_p(mnt); !s) return s;
  if (auto s = mount_tracked(device, mnt, fstype, MS_NOATIME); !s) return s;
  data_mounted_ = true;
  return {};
}

Status Executor::write_slot_record(const BootPlan& plan) {
  SlotStore store(path(data::kSlotState));
  store.crash_point = crash_point;
  LOGN("slot record: %s (%s)", describe(*plan.slot_write).c_str(), plan.slot_write_what.c_str());
  if (auto s = store.write(*plan.slot_write, plan.slot_write_what); !s) return s;
  actions_.push_back("slot record written (" + plan.slot_write_what + "): " + describe(*plan.slot_write));
  return {};
}

void Executor::protect_slots(const BootPlan& plan, std::vector<std::string>& warnings) {
  if (plan.slot_mode == SlotMode::kPartitions) {
    // bootloader = uboot: a slot is a group, its boot partition (kernel,
    // initramfs, cmdline.txt) as protected as its root; an update or RAUC
    // opens both windows.
    std::vector<std::string> devices(std::begin(plan.slot_devices), std::end(plan.slot_devices));
    if (plan.bootloader == Bootloader::kUBoot)
      devices.insert(devices.end(), std::begin(plan.boot_devices), std::end(plan.boot_devices));
    for (const auto& dev : devices) {
      if (dev.empty()) continue;
      if (auto s = set_block_readonly(path(dev), true); !s) {
        warnings.push_back("slot partition " + dev + " stays writable: " + s.error().message());
        LOGW("slot partition %s stays writable: %s", dev.c_str(), s.error().message().c_str());
      }
    }
  } else if (plan.slot_mode == SlotMode::kFiles && data_mounted_) {
    const std::string dir = path(data::kSlotImages);
    Status s = sys::mkdir_p(dir);
    if (s) s = sys::bind_readonly(dir, dir, {true, true, true});
    if (s) {
      mounted_.push_back(dir);
    } else {
      warnings.push_back("slot images in " + std::string(data::kSlotImages) + " stay writable: " + s.error().message());
      LOGW("slot images stay writable: %s", s.error().message().c_str());
    }
  }
}

Status Executor::mount_data(const BootPlan& plan) {
  if (!data_mounted_)
    if (auto s = mount_data_partition(plan.data_device, plan.data_fstype); !s) return s;
  DataPartition dp(root_, plan.slot);
  dp.crash_point = crash_point;
  auto request = dp.reset_request();
  if (plan.reset || request) {
    ResetTier tier = plan.reset ? plan.reset_tier : *request;
    if (request && *request == ResetTier::kAll) tier = ResetTier::kAll;
    LOGN("factory reset (%s) requested by %s", to_string(tier), plan.reset ? "strata.reset" : "strata factory-reset");
    if (auto s = dp.reset(tier, actions_); !s) return s;
  }
  if (plan.upper_mode != UpperMode::kPersistent) return {};
  // Before the policy (it finishes a cut swap); the policy leaves data/ and work/ in place.
  Status ensured = dp.ensure_upper();
  if (!ensured && ensured.error().err == ENOSPC) {
    // A full data partition: what a reset (or a policy) moved into trash/ is
    // deleted after the boot, too late to make room for a fresh upper. Delete
    // it now; a reset asked for because the partition is full must not end
    // in a failed boot.
    LOGW("%s: the data partition is full; deleting its trash now to make room", ensured.error().message().c_str());
    dp.empty_trash();
    ensured = dp.ensure_upper();
    if (ensured) actions_.push_back("data partition full: emptied the trash before mounting to make room");
  }
  if (!ensured) return ensured;
  const std::string lower_dev = loop_device_.empty() ? plan.root_device : loop_device_;
  Status applied = dp.apply_lower_change(lower_identity(path(paths::kLower), lower_dev), plan.on_lower_change,
                                         plan.preserve, actions_);
  warnings_.insert(warnings_.end(), dp.warnings.begin(), dp.warnings.end());
  if (!applied) return applied;
  return dp.probe_upper();
}

Status Executor::mount_layers(const BootPlan& plan) {
  int64_t t0 = monotonic_ms();
  if (before_stage) before_stage("mount");
  Status s;
  if (plan.slot_write) {
    // Before the slot's root is touched: a trial boot counts even if it hangs.
    s = plan.use_data && data_mounted_ ? write_slot_record(plan)
                                       : Status(plain_error("the data partition is not mounted"));
    if (!s) data_error_ = "cannot write the slot record: " + s.error().message();
  }
  if (s) {
    s = mount_lower(plan);
    if (!s) lower_error_ = s.error().message();
  }
  if (s && plan.use_data) {
    s = mount_data(plan);
    if (!s) data_error_ = "data partition " + plan.data_device + " (" + plan.data_spec + "): " + s.error().message();
  }
  if (s) s = mount_upper_and_overlay(plan);
  times_.push_back({"mount", monotonic_ms() - t0});
  return s;
}

Executor::BindPoint Executor::bind_point(const std::string& configured) const {
  BindPoint b;
  auto r = sys::resolve_in_root(path(paths::kNewRoot), configured);
  if (!r) {
    b.why = r.error().message();
  } else if (r->missing_plainly()) {
    b.at = r->path;
    b.create = true;
  } else {
    b.why = describe_resolution(*r);
    if (b.why.empty()) b.at = r->path;
  }
  return b;
}

std::string Executor::image_dir(const std::string& at) const {
  // The same place in the image, and nothing else: a link there (the upper
  // replaced the image's directory) does not lead somewhere else instead.
  auto r = sys::resolve_in_root(path(paths::kLower), at);
  if (!r || !r->exists() || !r->links.empty() || r->kind != PathEntry::kDirectory || r->path != at) return "";
  return path(paths::kLower) + at;
}

// A configured path that cannot be bound: on the console and in the status, and the boot goes on.
void Executor::skip_bind(const char* kind, const std::string& configured, const std::string& why,
                         std::vector<std::string>& warnings) {
  binds_.push_back({kind, configured, "", why});
  warnings.push_back(std::string(kind) + " " + configured + " skipped: " + why);
  LOGW("%s %s skipped: %s; boot goes on", kind, configured.c_str(), why.c_str());
}

// Records where a path that went through a symlink or ".." was bound.
static void note_resolved(const char* kind, const std::string& configured, const std::string& at,
                          std::vector<std::string>& actions) {
  if (at == configured) return;
  // boot.cpp logs every action.
  actions.push_back(std::string(kind) + " " + configured + ": bound at " + at + " (resolved inside the new root)");
}

Status Executor::bind_persistent(const BootPlan& plan, std::vector<std::string>& warnings) {
  static const char* kKind = "persistent path";
  DataPartition dp(root_);
  for (const auto& p : plan.persist_paths) {
    BindPoint b = bind_point(p);
    if (!b.why.empty()) {
      skip_bind(kKind, p, b.why, warnings);
      continue;
    }
    // The tree is keyed by the configured name, so a new image that moves the
    // link's target keeps the data; it is seeded from the image at `at`.
    auto tree = dp.prepare_persistent(normalize_lexically(p), image_dir(b.at), plan.persist_add_new, actions_);
    const std::string dst = path(paths::kNewRoot) + b.at;
    Status s = tree ? Status() : Status(tree.error());
    if (s && b.create) s = sys::mkdir_p(dst);
    if (s) s = mount_tracked(*tree, dst, "", MS_BIND);
    if (!s) {
      binds_.push_back({kKind, p, "", s.error().message()});
      warnings.push_back("persistent path " + p + ": " + s.error().message() + "; not bound");
      LOGW("persistent path %s: %s; not bound, boot goes on", p.c_str(), s.error().message().c_str());
      continue;
    }
    binds_.push_back({kKind, p, b.at, ""});
    note_resolved(kKind, p, b.at, actions_);
  }
  return {};
}

Status Executor::bind_paths(const BootPlan& plan, std::vector<std::string>& warnings) {
  static const char* kKind = "read-only bind";
  if (before_stage) before_stage("binds");
  int64_t t0 = monotonic_ms();
  if (auto s = bind_persistent(plan, warnings); !s) return s;
  std::set<std::string> bound;
  for (const auto& b : plan.binds) {
    BindPoint at = bind_point(b.path);
    const std::string src = at.why.empty() ? image_dir(at.at) : "";
    if (at.why.empty() && src.empty())
      at.why = (at.at == b.path ? std::string() : at.at + ": ") + "not a directory in the root image";
    if (at.why.empty() && !bound.insert(at.at).second) at.why = "resolves to " + at.at + ", which is already bound";
    if (!at.why.empty()) {
      skip_bind(kKind, b.path, at.why, warnings);
      continue;
    }
    const std::string dst = path(paths::kNewRoot) + at.at;
    if (at.create)
      if (auto s = sys::mkdir_p(dst); !s) return s;
    if (auto s = sys::bind_readonly(src, dst, {b.nosuid, b.nodev, b.noexec}); !s) return s;
    mounted_.push_back(dst);
    binds_.push_back({kKind, b.path, at.at, ""});
    note_resolved(kKind, b.path, at.at, actions_);
  }
  times_.push_back({"binds", monotonic_ms() - t0});
  return {};
}

}  // namespace strata
