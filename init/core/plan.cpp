#include "plan.h"

#include "boot_env.h"
#include "data_layout.h"
#include "module_plan.h"
#include "paths.h"
#include "resolve.h"

namespace strata {
namespace {

bool supported_lower_type(const std::string& t) {
  return t == "squashfs" || t == "erofs" || t == "ext4";
}

}  // namespace

bool wants_data(const Config& c) {
  return c.upper_mode == UpperMode::kPersistent || !c.persist_paths.empty() || c.slot_mode != SlotMode::kNone;
}

std::vector<DeviceSpec> required_devices(const Config& config) {
  std::vector<DeviceSpec> out;
  if (config.slot_mode == SlotMode::kPartitions) {
    for (const auto& src : config.slot_source)
      if (auto s = parse_device_spec(src)) out.push_back(*s);
  } else if (config.slot_mode == SlotMode::kNone) {
    if (auto s = parse_device_spec(config.root_source)) out.push_back(*s);
  }
  if (wants_data(config))
    if (auto s = parse_device_spec(config.data_source)) out.push_back(*s);
  return out;
}

namespace {
// A slot's boot partition (kernel, initramfs, command line) with bootloader =
// uboot: found by the GPT name tools/mkdisk gives it.
std::optional<DeviceSpec> boot_partition_spec(int slot) {
  return parse_device_spec(std::string("PARTLABEL=boot-") + slot_name(slot));
}
}  // namespace

std::vector<DeviceSpec> named_devices(const Config& config) {
  std::vector<DeviceSpec> out = required_devices(config);
  if (config.bootloader == Bootloader::kUBoot) {
    if (auto s = parse_device_spec(config.bootstate_source)) out.push_back(*s);
    for (int i = 0; i < kSlotCount; i++)
      if (auto s = boot_partition_spec(i)) out.push_back(*s);
  }
  return out;
}

std::string slot_image_path(int slot) {
  return std::string("/strata/slots/slot-") + slot_name(slot) + ".img";
}

DataLocation locate_data(const Config& c, const std::vector<BlockDevice>& devices) {
  DataLocation l;
  auto spec = parse_device_spec(c.data_source);
  const BlockDevice* d = spec ? find_device(devices, *spec) : nullptr;
  if (!d) return l.error = "data partition " + c.data_source + " not found" + unreadable_note(devices), l;
  std::string type = c.data_fstype == "auto" ? d->type : c.data_fstype;
  if (type.empty())
    return l.error = "no filesystem found on the data partition " + d->path + " (" + c.data_source + ")" +
                     (d->unreadable.empty() ? "" : ": it could not be read: " + d->unreadable),
           l;
  if (type != "ext4" && type != "f2fs")
    return l.error = "the data partition " + d->path + " (" + c.data_source + ") holds " + type + ", not ext4 or f2fs",
           l;
  l.device = d;
  l.fstype = type;
  return l;
}

// Finds the data partition; returns why it cannot be used, or "".
static std::string resolve_data(const Facts& facts, BootPlan& p) {
  if (!facts.data_error.empty()) return facts.data_error;
  DataLocation l = locate_data(facts.config, facts.devices);
  if (!l.device) return l.error;
  p.use_data = true;
  p.data_device = l.device->path;
  p.data_fstype = l.fstype;
  return "";
}

static std::string join_sentences(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// bootloader = uboot: U-Boot picked the slot and counted the try; strata-init
// boots that slot and writes nothing (no second count). After a root that
// did not mount (fallback-slot), the other slot if the record holds it good.
static SlotChoice bootloader_choice(const Facts& facts, const Config& c) {
  SlotChoice ch;
  BootloaderWords w{c.boot_slot, c.boot_trial_left, c.boot_fallback_from, c.boot_state_missing};
  ch.reasons = describe_boot(w);
  ch.degraded = w.fallback_from.has_value() || w.state_missing;
  if (!c.boot_slot) {
    ch.slot = facts.slots.state.active;
    ch.reasons.push_back(std::string("bootloader = uboot, but no strata.slot= on the command line (booted without ") +
                         "the boot script?): booting the record's active " + slot_word(ch.slot) + ", no try counted");
    ch.degraded = true;
  } else {
    ch.slot = *c.boot_slot;
  }
  if (facts.failed_slot && *facts.failed_slot == ch.slot) {
    const int o = other_slot(ch.slot);
    ch.degraded = true;
    if (facts.slots.state.slot[o].status == SlotStatus::kGood) {
      ch.reasons.push_back(slot_word(ch.slot) + " failed (" + facts.failed_slot_why + "): booting " + slot_word(o) +
                           "; the bootloader still counts " + slot_word(ch.slot) + "'s tries");
      ch.slot = o;
    } else {
      ch.reasons.push_back(slot_word(ch.slot) + " failed (" + facts.failed_slot_why + ") and " + slot_word(o) +
                           " is not good");
      ch.slot = -1;
    }
  }
  return ch;
}

// A/B: which slot boots, and where its image is. Returns false when the plan is fatal.
static bool decide_slot(const Facts& facts, BootPlan& p, Config& c) {
  SlotChoice ch = c.bootloader == Bootloader::kUBoot
                      ? bootloader_choice(facts, c)
                      : choose_slot(facts.slots, facts.failed_slot, facts.failed_slot_why);
  p.slot_health = facts.slots.health;
  p.slot_reasons = ch.reasons;
  if (ch.degraded) {
    p.degraded = true;
    for (const auto& r : ch.reasons) p.warnings.push_back("slots: " + r);
  }
  if (ch.slot < 0) {
    p.fatal = "no A/B slot can be booted: " + join_sentences(ch.reasons);
    return false;
  }
  p.slot = ch.slot;
  p.slot_write = ch.write;
  p.slot_state = ch.write ? *ch.write : facts.slots.state;
  if (ch.write) {
    const SlotInfo& before = facts.slots.state.slot[ch.slot];
    p.slot_write_what = before.status == SlotStatus::kTrial && ch.write->slot[ch.slot].status == SlotStatus::kTrial
                            ? "trial-decrement"
                            : "mark-bad-at-boot";
  }
  if (c.bootloader == Bootloader::kUBoot) {
    auto spec = parse_device_spec(c.bootstate_source);
    if (const BlockDevice* d = spec ? find_device(facts.devices, *spec) : nullptr) p.bootstate_device = d->path;
    // Each slot's kernel, initramfs and command line: the partitions the boot
    // script loads them from.
    for (int i = 0; i < kSlotCount; i++) {
      auto boot = boot_partition_spec(i);
      if (const BlockDevice* d = boot ? find_device(facts.devices, *boot) : nullptr) p.boot_devices[i] = d->path;
    }
  }
  if (c.slot_mode == SlotMode::kPartitions) {
    c.root_source = c.slot_source[p.slot];
    c.root_image.clear();
    for (int i = 0; i < kSlotCount; i++) {
      auto spec = parse_device_spec(c.slot_source[i]);
      if (const BlockDevice* d = spec ? find_device(facts.devices, *spec) : nullptr) p.slot_devices[i] = d->path;
    }
  }
  return true;
}

namespace {

BootPlan decide_layers(const Facts& facts) {
  Config c = facts.config;  // a slot's source replaces [root] source
  BootPlan p;
  p.init = c.init;
  p.on_failure = c.on_failure;
  p.reboot_delay_s = c.reboot_delay_s;
  p.break_at = c.break_at;
  p.debug = c.debug;
  p.upper_mode = c.upper_mode;
  p.configured_upper_mode = c.upper_mode;
  p.root_spec = c.root_source;
  p.data_spec = c.data_source;
  p.reset = c.reset;
  p.reset_tier = c.reset_tier;
  p.on_lower_change = c.on_lower_change;
  p.preserve = c.preserve;
  p.persist_add_new = c.persist_add_new;
  p.crash_at = c.crash_at;

  for (const auto& d : facts.diagnostics) {
    p.warnings.push_back("config: " + d.where + ": " + d.message);
    p.degraded = true;
  }

  p.slot_mode = c.slot_mode;
  p.bootloader = c.bootloader;
  p.fallback_slot = c.fallback_slot;
  if (c.slot_mode != SlotMode::kNone && !decide_slot(facts, p, c)) return p;
  p.root_spec = c.root_source;
  p.image = c.root_image;

  // A slot that cannot be booted: fallback-slot decides again without it.
  auto slot_failed = [&](const std::string& why, const std::string& fatal) {
    if (p.slot >= 0 && p.fallback_slot && !facts.failed_slot) {
      Facts again = facts;
      again.failed_slot = p.slot;
      again.failed_slot_why = why;
      return decide(again);
    }
    p.fatal = fatal;
    return p;
  };

  // dm-verity: only a root hash from the slot record (a signed update's
  // manifest put it there) or the initramfs config is trusted; nothing on the
  // slot itself can vouch for the slot.
  p.verity_mode = c.verity;
  if (c.verity != VerityMode::kOff) {
    const std::optional<VerityParams>& v = p.slot >= 0 ? facts.slots.state.slot[p.slot].verity : c.root_verity;
    const std::string who = p.slot >= 0 ? slot_word(p.slot) : std::string("the root image");
    if (v) {
      p.verity = v;
      p.verity_name = p.slot >= 0 ? std::string("strata-") + slot_name(p.slot) : std::string("strata-root");
    } else {
      const std::string why =
          who + " has no trusted root hash" +
          (p.slot >= 0 ? std::string(" in the slot record") : std::string(" ([root] verity_params is empty)"));
      if (c.verity == VerityMode::kRequired)
        return slot_failed(why + " (root verity = required)", why + "; root verity = required: not booted");
      p.warnings.push_back(why + "; booting it without dm-verity (root verity = on)");
      p.degraded = true;
    }
  }

  if (c.slot_mode == SlotMode::kFiles) {
    // The image file is on the data partition, which the boot mounted to read the record.
    DataLocation l = facts.data_error.empty() ? locate_data(c, facts.devices) : DataLocation{};
    if (!l.device) {
      p.fatal = "the slot images are on the data partition, which cannot be used: " +
                (facts.data_error.empty() ? l.error : facts.data_error);
      return p;
    }
    p.root_spec = c.data_source + " " + slot_image_path(p.slot);
    p.root_device = l.device->path;
    p.root_fstype = l.fstype;
    p.image = slot_image_path(p.slot);
    p.image_on_data = true;
    p.image_fstype = "";
  }

  // Lower: resolve the configured device among what was probed (file slots did above).
  if (!p.image_on_data) {
    auto spec = parse_device_spec(c.root_source);
    const BlockDevice* dev = spec ? find_device(facts.devices, *spec) : nullptr;
    auto& root_failed = slot_failed;
    if (!dev) {
      return root_failed(
          c.root_source + " not found",
          "root device " + c.root_source + " not found" +
              (facts.device_wait_timed_out ? " after waiting " + std::to_string(facts.device_wait_ms) + " ms" : "") +
              "; block devices seen:\n" + describe_devices(facts.devices));
    }
    p.root_device = dev->path;
    const std::string& wanted = c.root_image.empty() ? c.root_fstype : std::string("auto");
    p.root_fstype = wanted == "auto" ? dev->type : wanted;
    if (p.root_fstype.empty()) {
      const std::string why = "no filesystem found on " + dev->path + " (" + c.root_source + ")" +
                              (dev->unreadable.empty() ? "" : ": it could not be read: " + dev->unreadable);
      return root_failed(why, why);
    }
    if (c.root_image.empty() && !supported_lower_type(p.root_fstype)) {
      return root_failed(dev->path + " (" + c.root_source + ") holds " + p.root_fstype,
                         dev->path + " (" + c.root_source + ") holds " + p.root_fstype +
                             ", which strata does not use as a root image (squashfs, erofs, ext4); set [root] image "
                             "to boot an image file on it");
    }
    if (c.root_fstype != "auto" && !dev->type.empty() && dev->type != c.root_fstype && c.root_image.empty()) {
      p.warnings.push_back("root fstype is configured as " + c.root_fstype + " but " + dev->path + " probes as " +
                           dev->type + "; mounting as " + c.root_fstype);
    }
    if (!c.root_image.empty()) p.image_fstype = c.root_image_fstype == "auto" ? "" : c.root_image_fstype;
  }

  // The data partition, and what to do without it. Never silent, never a format.
  if (wants_data(c)) {
    std::string why = resolve_data(facts, p);
    if (!why.empty()) {
      p.degraded = true;
      if (c.upper_mode == UpperMode::kPersistent) {
        switch (c.on_data_failure) {
          case DataFailure::kTmpfs:
            p.upper_mode = UpperMode::kTmpfs;
            p.warnings.push_back(why +
                                 "; booting with a tmpfs upper, changes are lost at reboot (data on_failure = tmpfs)");
            break;
          case DataFailure::kReadonly:
            p.upper_mode = UpperMode::kNone;
            p.warnings.push_back(why + "; booting the root image alone, read-only (data on_failure = readonly)");
            break;
          case DataFailure::kRescue:
            p.fatal = why + " (data on_failure = rescue)";
            return p;
        }
      }
      if (!c.persist_paths.empty()) p.warnings.push_back("persistent paths are not persistent this boot: " + why);
    } else {
      p.persist_paths = c.persist_paths;
    }
  }
  if (p.reset && !p.use_data)
    p.warnings.push_back("strata.reset: no data partition in use, nothing persistent to reset");

  // Upper.
  if (p.upper_mode == UpperMode::kTmpfs) {
    p.tmpfs_options = "mode=0755,size=" + c.upper_size;
    if (c.upper_inodes) p.tmpfs_options += ",nr_inodes=" + std::to_string(c.upper_inodes);
  }
  // Options that keep a later swap of the lower defined (overlayfs.rst, "Changes to underlying filesystems").
  if (p.upper_mode != UpperMode::kNone) p.overlay_options = "index=off,metacopy=off,redirect_dir=nofollow,xino=off";

  for (const auto& path : c.readonly_binds) {
    p.binds.push_back(BindPlan{path, std::string(paths::kLower) + path, c.bind_nosuid, c.bind_nodev, c.bind_noexec});
  }
  return p;
}

}  // namespace

BootPlan decide(const Facts& facts) {
  BootPlan p = decide_layers(facts);
  p.modules = plan_module_needs(p);
  // What the running system needs besides ([boot] modules): RAUC's loop-mounted bundles, say.
  if (p.fatal.empty())
    for (const auto& m : facts.config.boot_modules)
      if (auto need = module_need(m); !need.empty()) p.modules.insert(need);
  return p;
}

std::string format_plan(const BootPlan& p) {
  std::string o;
  if (!p.fatal.empty()) {
    o += "FATAL: " + p.fatal + "\n";
    o += std::string("on failure: ") + to_string(p.on_failure) +
         (p.on_failure == FailurePolicy::kReboot ? " after " + std::to_string(p.reboot_delay_s) + " s" : "") + "\n";
  } else {
    if (p.slot >= 0) {
      o += std::string("slot: ") + slot_name(p.slot) + " of " + to_string(p.slot_mode) +
           (p.bootloader == Bootloader::kUBoot ? ", chosen by the bootloader" : "") +
           " (record: " + to_string(p.slot_health) + "; " + describe(p.slot_state) + ")\n";
      if (p.slot_write) o += "slot record: written before mounting (" + p.slot_write_what + ")\n";
      for (const auto& r : p.slot_reasons) o += "slot reason: " + r + "\n";
      if (p.slot_mode == SlotMode::kPartitions) o += "slot partitions: kept read-only (BLKROSET) outside updates\n";
      if (p.slot_mode == SlotMode::kFiles)
        o += std::string("slot images: ") + data::kSlotImages + ", a read-only mount outside updates\n";
    }
    o += "lower: " + p.root_device + " (" + p.root_spec + ") " + p.root_fstype + ", read-only, at " + paths::kLower +
         "\n";
    if (p.verity) {
      o += "  through dm-verity: device-mapper " + p.verity_name + " over it, " + format_verity(*p.verity) +
           "; every block read once before mounting (a bad one: the slot is not booted), then restart on corruption\n";
    } else if (p.verity_mode != VerityMode::kOff) {
      o += std::string("  dm-verity: not used (root verity = ") + to_string(p.verity_mode) + ")\n";
    }
    if (!p.image.empty()) {
      o += "  image file: " + p.image + " on the source, mounted at " + paths::kSource +
           ", attached read-only to a loop device, " +
           (p.image_fstype.empty() ? std::string("type probed") : p.image_fstype) + "\n";
    }
    if (p.use_data) {
      o += "data: " + p.data_device + " (" + p.data_spec + ") " + p.data_fstype + ", read-write, at /run/strata/data\n";
      if (p.reset) o += std::string("reset: ") + to_string(p.reset_tier) + " (strata.reset), before mounting\n";
    }
    if (p.upper_mode == UpperMode::kPersistent) {
      o += "upper: persistent, " + data::upper_dir(p.slot) + " bound at " + paths::kUpperFs +
           "; if the lower changed: " + to_string(p.on_lower_change);
      for (const auto& path : p.preserve) o += " " + path;
      o += "\n";
    }
    if (p.upper_mode != UpperMode::kNone) {
      if (p.upper_mode == UpperMode::kTmpfs)
        o += std::string("upper: tmpfs (") + p.tmpfs_options + ") at " + paths::kUpperFs + "\n";
      o += std::string("root: overlay (lowerdir=") + paths::kLower + ",upperdir=" + paths::kUpperDir +
           ",workdir=" + paths::kWorkDir + "," + p.overlay_options + ") at " + paths::kNewRoot + "\n";
    } else {
      o += std::string("upper: none; root: the lower alone, read-only, at ") + paths::kNewRoot + "\n";
    }
    for (const auto& path : p.persist_paths)
      o += "bind read-write: " + path + " from /run/strata/data/strata/persist" + normalize_lexically(path) +
           (p.persist_add_new ? " (new files from the image added)" : "") + "\n";
    for (const auto& b : p.binds) {
      o += "bind read-only: " + b.path + " from " + b.source + (b.nosuid ? " nosuid" : "") + (b.nodev ? " nodev" : "") +
           (b.noexec ? " noexec" : "") + "\n";
    }
    o += "modules: storage before the probe, then for " + format_needs(p.modules) + "\n";
    o += "init: " + p.init + "\n";
    o += "on failure: " + describe_failure(p.fallback_slot, p.on_failure) + "\n";
  }
  if (!p.break_at.empty()) {
    o += "break before:";
    for (const auto& s : p.break_at) o += " " + s;
    o += "\n";
  }
  if (p.debug) o += "debug: on\n";
  for (const auto& w : p.warnings) o += "warning: " + w + "\n";
  if (p.degraded) o += "degraded: yes\n";
  return o;
}

}  // namespace strata
