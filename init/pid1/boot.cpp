#include "boot.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "clock.h"
#include "data_layout.h"
#include "device_wait.h"
#include "execute.h"
#include "failure.h"
#include "log.h"
#include "modules.h"
#include "paths.h"
#include "persist.h"
#include "plan.h"
#include "slot_store.h"
#include "status.h"
#include "switch_root.h"
#include "sys.h"
#include "text.h"

namespace strata {
namespace {

// The kernel leaves us with nothing mounted but the initramfs.
void mount_early_filesystems() {
  struct M {
    const char *src, *dir, *type;
    unsigned long flags;
    const char* data;
  };
  const M mounts[] = {{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
                      {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""},
                      {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""},
                      {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=10%"}};
  for (const auto& m : mounts) {
    (void)sys::mkdir_p(m.dir);
    if (auto s = sys::mount(m.src, m.dir, m.type, m.flags, m.data); !s && s.error().err != EBUSY)
      log::console("strata: " + s.error().message() + "\n");
  }
  // Userspace writes to /dev/kmsg are rate-limited (10 per 5 s) unless
  // printk.devkmsg is pinned on the command line; our log must not be lost.
  (void)sys::write_file("/proc/sys/kernel/printk_devkmsg", "on\n");
  log::use_kmsg();
  // Without /dev/console in the initramfs the kernel gave us no stdio.
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd >= 0) {
    for (int i = 0; i < 3; i++)
      if (fcntl(i, F_GETFD) < 0) ::dup2(fd, i);
    if (fd > 2) ::close(fd);
  }
}

struct Boot {
  int argc;
  char** argv;
  LoadedConfig loaded;
  std::set<std::string> breaks_done;
  std::vector<StageTime> early_times;
  std::vector<ModuleEntry> module_list;
  std::set<std::string> modules_loaded;  // paths
  int attempts = 0;

  void maybe_break(const std::string& stage) {
    if (!loaded.config.break_at.count(stage) || breaks_done.count(stage)) return;
    breaks_done.insert(stage);
    LOGN("break before stage '%s'", stage.c_str());
    auto s = run_shell(paths::kRescueShell, "strata: strata.break=" + stage + ": shell before the '" + stage +
                                                "' stage.\nstrata: exit the shell to continue the boot.");
    if (!s)
      LOGE("cannot open the break shell: %s", s.error().message().c_str());
    else
      LOGN("break shell exited; continuing with stage '%s'", stage.c_str());
  }

  void read_config() {
    std::string cmdline;
    if (auto c = sys::read_file("/proc/cmdline")) cmdline = *c;
    std::string ini;
    std::vector<Diagnostic> pre;
    if (auto f = sys::read_file(paths::kConfig)) {
      ini = *f;
    } else {
      pre.push_back(
          {paths::kConfig, "cannot read the config (" + f.error().message() + "); using the built-in defaults"});
    }
    loaded = load_config(ini, paths::kConfig, strata_words(cmdline));
    // The CLI reads the same config after the switch, when the initramfs is gone.
    Status w = sys::mkdir_p(paths::kRunStrata);
    if (w) w = sys::write_file(paths::kConfigCopy, ini);
    if (!w) LOGW("config copy for the CLI: %s", w.error().message().c_str());
    loaded.diagnostics.insert(loaded.diagnostics.begin(), pre.begin(), pre.end());
    log::set_debug(loaded.config.debug);
    for (const auto& d : loaded.diagnostics) {
      LOGW("config: %s: %s", d.where.c_str(), d.message.c_str());
      log::console("strata: warning: config: " + d.where + ": " + d.message + "\n");
    }
  }

  // The storage modules must be in before any device can appear; the rest
  // load on demand (load_needed_modules), once the probe and the plan say
  // what this boot mounts.
  void load_board_modules() {
    maybe_break("modules");
    int64_t t0 = monotonic_ms();
    std::vector<std::string> errors;
    if (auto text = sys::read_file(paths::kModuleList)) module_list = parse_module_list(*text, errors);
    const auto storage = select_modules(module_list, {});
    for (const auto& f : load_modules(storage)) errors.push_back(f);
    for (const auto& m : storage) modules_loaded.insert(m.path);
    for (const auto& e : errors) LOGE("%s", e.c_str());
    early_times.push_back({"modules", monotonic_ms() - t0});
    LOGI("stage modules: %zu modules, %zu problems, %lld ms (storage; %zu more in the list, on demand)", storage.size(),
         errors.size(), static_cast<long long>(monotonic_ms() - t0), module_list.size() - storage.size());
  }

  // The modules for `needs` not loaded yet. A failure is logged; the mount
  // that needs the module then fails with its own message, and the policy applies.
  void load_needed_modules(const std::set<std::string>& needs, std::vector<StageTime>& times) {
    if (needs.empty()) return;
    const auto list = select_modules(module_list, needs, modules_loaded);
    if (list.empty()) return;
    int64_t t0 = monotonic_ms();
    auto failures = load_modules(list);
    for (const auto& m : list) modules_loaded.insert(m.path);
    for (const auto& e : failures) LOGE("%s", e.c_str());
    const int64_t ms = monotonic_ms() - t0;
    bool found = false;
    for (auto& t : times)
      if (t.stage == "modules-needed") t.ms += ms, found = true;
    if (!found) times.push_back({"modules-needed", ms});
    LOGI("stage modules-needed: %zu modules for %s, %zu problems, %lld ms", list.size(), format_needs(needs).c_str(),
         failures.size(), static_cast<long long>(ms));
  }

  // One attempt at the root. Returns only on failure, with why.
  std::string attempt() {
    attempts++;
    maybe_break("devices");
    int64_t t0 = monotonic_ms();
    auto wanted = required_devices(loaded.config);
    const auto named = named_devices(loaded.config);
    const std::vector<DeviceSpec> also(named.begin() + static_cast<std::ptrdiff_t>(wanted.size()), named.end());
    DeviceScan scan = wait_for_devices(wanted, loaded.config.device_timeout_ms, also);
    std::vector<StageTime> times = early_times;
    times.push_back({"devices", monotonic_ms() - t0});
    LOGI("stage devices: %zu block devices (%zu probed), %s, %d ms", scan.devices.size(), scan.probed,
         scan.timed_out ? "timed out" : "all found", scan.waited_ms);

    // The data partition's filesystem, before anything mounts it (the slot record).
    if (wants_data(loaded.config)) {
      DataLocation where = locate_data(loaded.config, scan.devices);
      if (where.device && !where.fstype.empty()) load_needed_modules({where.fstype}, times);
    }

    Facts facts;
    facts.config = loaded.config;
    facts.diagnostics = loaded.diagnostics;
    facts.devices = scan.devices;
    facts.device_wait_timed_out = scan.timed_out;
    facts.device_wait_ms = scan.waited_ms;
    for (;;) {
      Executor ex;
      ex.before_stage = [this](const std::string& st) { maybe_break(st); };
      const std::string crash_at = loaded.config.crash_at;
      ex.crash_point = [crash_at](const std::string& point) { simulate_power_cut(crash_at, point); };
      if (loaded.config.slot_mode != SlotMode::kNone) read_slot_record(ex, facts);
      BootPlan plan = decide(facts);
      const std::string plan_text = format_plan(plan);
      for (std::string_view line : split_lines(plan_text))
        LOGI("plan: %.*s", static_cast<int>(line.size()), line.data());
      for (const auto& r : plan.slot_reasons) log::console("strata: slots: " + r + "\n");
      if (!plan.fatal.empty()) {
        ex.undo();
        return plan.fatal;
      }
      load_needed_modules(plan.modules, times);

      Status s = ex.mount_layers(plan);
      std::vector<std::string> warnings = ex.warnings();
      if (s) s = ex.bind_paths(plan, warnings);
      if (s) ex.protect_slots(plan, warnings);
      for (const auto& a : ex.actions()) LOGN("%s", a.c_str());
      if (!s) {
        ex.undo();
        if (!ex.data_error().empty() && facts.data_error.empty()) {
          // Decide again, now knowing the data partition is unusable.
          LOGE("%s", ex.data_error().c_str());
          facts.data_error = ex.data_error();
          continue;
        }
        if (!ex.lower_error().empty() && plan.slot >= 0 && plan.fallback_slot && !facts.failed_slot) {
          // fallback-slot: decide again without this slot.
          LOGE("slot %c: %s", slot_name(plan.slot), ex.lower_error().c_str());
          log::console("strata: " + slot_word(plan.slot) + ": root cannot be mounted: " + ex.lower_error() +
                       "; trying the other slot (fallback-slot)\n");
          facts.failed_slot = plan.slot;
          facts.failed_slot_why = ex.lower_error();
          continue;
        }
        return s.error().message();
      }
      maybe_break("switch");
      std::vector<StageTime> all = times;
      for (const auto& t : ex.times()) all.push_back(t);
      for (const auto& t : all) LOGI("stage %s: %lld ms", t.stage.c_str(), static_cast<long long>(t.ms));

      BootReport report{&plan, all, warnings, ex.loop_device(), ex.verity_device(), attempts, ex.actions(), ex.binds()};
      if (auto w = sys::write_file(paths::kStatus, status_json(report)); !w)
        LOGW("status file: %s", w.error().message().c_str());
      if (plan.degraded || !warnings.empty()) {
        std::string text = "strata: DEGRADED BOOT:\n";
        for (const auto& w : plan.warnings) text += "strata:   " + w + "\n";
        for (const auto& w : warnings) text += "strata:   " + w + "\n";
        log::console(text);
      }

      if (auto sw = switch_root(paths::kNewRoot, FreeInitramfs::kBackground); !sw) {
        // Nothing of the initramfs was deleted (that only follows a successful move).
        return "switch root: " + sw.error().message();
      }
      if (plan.use_data) empty_trash_in_background();
      LOGN("root switched; exec %s", plan.init.c_str());
      exec_init(plan.init);
      return "no init could be started in the new root";
    }
  }

  // A/B: the slot record on the data partition, mounted for it now (the
  // executor's mount, used again by the plan). Unusable data is a fact too.
  static void read_slot_record(Executor& ex, Facts& facts) {
    facts.slots = SlotReading{};
    facts.slots.health = StateHealth::kUnavailable;
    if (!facts.data_error.empty()) {
      facts.slots.detail = facts.data_error;
      return;
    }
    DataLocation where = locate_data(facts.config, facts.devices);
    if (!where.device) {
      facts.slots.detail = where.error;
      return;
    }
    if (auto s = ex.mount_data_partition(where.device->path, where.fstype); !s) {
      facts.data_error =
          "data partition " + where.device->path + " (" + facts.config.data_source + "): " + s.error().message();
      facts.slots.detail = facts.data_error;
      return;
    }
    facts.slots = SlotStore(data::kSlotState).read();
    LOGI("slot record: %s%s%s", to_string(facts.slots.health), facts.slots.detail.empty() ? "" : ": ",
         facts.slots.detail.c_str());
  }

  // strata.crash_at=<point>: cut the power at a named step of a reset, for
  // the power-cut tests. No sync: what was not made durable is lost.
  static void simulate_power_cut(const std::string& crash_at, const std::string& point) {
    if (crash_at != point || ::getpid() != 1) return;
    LOGE("strata.crash_at=%s: simulating a power cut", point.c_str());
    log::console("strata: strata.crash_at=" + point + ": simulating a power cut\n");
    ::reboot(RB_POWER_OFF);
  }

  // Deleting what a reset moved aside takes time proportional to its size:
  // a child does it at idle priority while the system boots. It outlives us
  // as a child of the real init, which reaps it.
  static void empty_trash_in_background() {
    pid_t pid = ::fork();
    if (pid != 0) return;
    ::setpriority(PRIO_PROCESS, 0, 19);
    ::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */);
    DataPartition().empty_trash();
    ::_exit(0);
  }

  void exec_init(const std::string& init) {
    std::vector<std::string> candidates = {init, "/sbin/init", "/etc/init", "/bin/init", "/bin/sh"};
    std::vector<char*> args;
    for (const auto& c : candidates) {
      args.clear();
      args.push_back(const_cast<char*>(c.c_str()));
      for (int i = 1; i < argc; i++) args.push_back(argv[i]);  // the kernel's words for init
      args.push_back(nullptr);
      ::execv(c.c_str(), args.data());
      LOGE("exec %s: %s", c.c_str(), strerror(errno));
      log::console("strata: cannot exec " + c + ": " + strerror(errno) + "\n");
    }
  }

  [[noreturn]] void run() {
    mount_early_filesystems();
    LOGN("strata-init starting");
    read_config();
    load_board_modules();
    for (;;) {
      std::string why = attempt();
      LOGE("boot failed: %s", why.c_str());
      std::string banner = "strata: BOOT FAILED (attempt " + std::to_string(attempts) + "): " + why;
      if (loaded.config.on_failure == FailurePolicy::kRescue) {
        auto s = run_shell(paths::kRescueShell,
                           banner + "\nstrata: policy rescue: a shell follows. Exit it to try the boot again.");
        if (s) continue;
        LOGE("no rescue shell (%s); rebooting instead", s.error().message().c_str());
      }
      reboot_after(loaded.config.reboot_delay_s, banner);
    }
  }
};

}  // namespace

void run_pid1(int argc, char** argv) {
  Boot boot{argc, argv, {}, {}, {}, {}, {}, 0};
  boot.run();
}

}  // namespace strata
