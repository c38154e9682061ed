// `strata status [--json]`: what this boot mounted, its A/B slots, warnings.
#include <sys/statvfs.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "boot_env_store.h"
#include "commands.h"
#include "data_layout.h"
#include "paths.h"
#include "slot_json.h"
#include "slot_store.h"
#include "sys.h"

namespace cli {
namespace {

std::string join(const nlohmann::json& a, const char* sep) {
  std::string out;
  for (const auto& v : a)
    if (v.is_string()) out += (out.empty() ? "" : sep) + v.get<std::string>();
  return out;
}

std::string str(const nlohmann::json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "-";
}

// The record as it is on flash now: mark-good and updates change it after boot.
nlohmann::json record_json(const strata::SlotReading& r) {
  nlohmann::json j = {{"health", strata::to_string(r.health)},
                      {"detail", r.detail},
                      {"seq", r.state.seq},
                      {"active", std::string(1, strata::slot_name(r.state.active))}};
  for (int i = 0; i < strata::kSlotCount; i++)
    j[std::string(1, strata::slot_name(i))] = nlohmann::json(strata::slot_info_json(r.state.slot[i]));
  j["min_version"] = r.state.min_version;
  j["keys"] = r.state.keys;
  return j;
}

void print_slots(const nlohmann::json& sl, const strata::SlotReading& now) {
  std::printf("slots:     %s, booted %s, next boot: %s (record: %s)\n", str(sl, "mode").c_str(),
              str(sl, "booted").c_str(), std::string(1, strata::slot_name(now.state.active)).c_str(),
              strata::to_string(now.health));
  for (int i = 0; i < strata::kSlotCount; i++) {
    const strata::SlotInfo& s = now.state.slot[i];
    const std::string name(1, strata::slot_name(i));
    std::string where = sl.contains(name) ? str(sl[name], sl[name].contains("device") ? "device" : "image") : "-";
    std::printf("  slot %s:  %-5s%s version %s, %s%s\n", name.c_str(), strata::to_string(s.status),
                s.status == strata::SlotStatus::kTrial ? (" (" + std::to_string(s.tries) + " tries left)").c_str() : "",
                s.version.empty() ? "-" : s.version.c_str(), where.c_str(),
                name == str(sl, "booted") ? "  <- running" : "");
    if (s.verity) std::printf("           verity root %s\n", s.verity->root_hash.c_str());
  }
  if (!now.detail.empty()) std::printf("  record:  %s\n", now.detail.c_str());
  if (!now.state.min_version.empty())
    std::printf("  updates: nothing older than %s installs\n", now.state.min_version.c_str());
  if (!now.state.keys.empty())
    std::printf("  updates: signed with one of %zu keys set by an update (replacing [update] public_key)\n",
                now.state.keys.size());
  for (const auto& r : sl.value("reasons", nlohmann::json::array()))
    if (r.is_string()) std::printf("  at boot: %s\n", r.get<std::string>().c_str());
}

// bootloader = uboot: the bootloader's view beside the record's, and where they differ.
struct BootloaderView {
  std::string device;
  std::optional<strata::BootEnv> env;
  std::string detail;
  std::string warning;  // a copy that cannot be read while the other is used
  std::vector<std::string> disagreements;
};

BootloaderView bootloader_view(const Context& c) {
  BootloaderView v;
  v.device = c.bootstate;
  if (c.bootstate.empty()) {
    v.detail = "the bootloader state's partition was not found at boot";
    return v;
  }
  auto r = strata::BootEnvStore(c.bootstate).read();
  if (!r) {
    v.detail = r.error().message();
    return v;
  }
  v.env = r->env;
  v.detail = r->detail;
  v.warning = r->warning;
  if (v.env) {
    auto rec = strata::SlotStore(strata::data::kSlotState).read_record();
    if (rec.health != strata::StateHealth::kUnavailable)
      v.disagreements = strata::boot_env_disagreements(rec.state, *v.env);
  }
  return v;
}

nlohmann::json bootloader_json(const BootloaderView& v) {
  nlohmann::json j = {
      {"device", v.device}, {"detail", v.detail}, {"warning", v.warning}, {"disagreements", v.disagreements}};
  if (v.env) {
    j["order"] = std::string(1, strata::slot_name(v.env->first)) + " " +
                 std::string(1, strata::slot_name(strata::other_slot(v.env->first)));
    for (int i = 0; i < strata::kSlotCount; i++)
      j[std::string(1, strata::slot_name(i))] = {{"status", strata::to_string(v.env->status[i])},
                                                 {"tries", v.env->tries[i]}};
  }
  return j;
}

void print_bootloader(const BootloaderView& v) {
  if (v.env)
    std::printf("bootloader: uboot (%s): %s\n", v.device.c_str(), strata::describe(*v.env).c_str());
  else
    std::printf("bootloader: uboot (%s): no valid state: %s (U-Boot boots slot a)\n", v.device.c_str(),
                v.detail.c_str());
  if (!v.warning.empty()) std::printf("  WARNING: %s\n", v.warning.c_str());
  for (const auto& d : v.disagreements) std::printf("  DISAGREE: %s\n", d.c_str());
}

// Space on the upper layer's filesystem now (tmpfs or the data partition):
// a full upper keeps the system running but refuses every change to /.
nlohmann::json upper_space() {
  struct statvfs v {};
  if (::statvfs(strata::paths::kUpperFs, &v) != 0) return nullptr;
  const uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
  return {{"free_bytes", static_cast<uint64_t>(v.f_bavail) * unit},
          {"size_bytes", static_cast<uint64_t>(v.f_blocks) * unit},
          {"free_inodes", static_cast<uint64_t>(v.f_favail)},
          {"full", v.f_bavail == 0 || (v.f_files > 0 && v.f_favail == 0)}};
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

int status_command(const Context& c, bool json) {
  if (c.status.is_null()) return fail(c.status_error);
  if (json) {
    nlohmann::json out = c.status;
    if (out.contains("slots")) {
      out["slots"]["now"] = record_json(slot_store(c).read());
      if (c.uboot) {
        out["slots"]["record"] = record_json(strata::SlotStore(strata::data::kSlotState).read_record());
        out["slots"]["bootloader_state"] = bootloader_json(bootloader_view(c));
      }
    }
    if (out.contains("upper") && out["upper"].is_object()) out["upper"]["space"] = upper_space();
    return std::printf("%s\n", out.dump(2).c_str()), 0;
  }
  const auto& s = c.status;
  const int attempts = s.value("attempts", 1);
  std::printf("strata:    %s (this boot's strata-init: %s)\n", STRATA_VERSION, str(s, "strata_version").c_str());
  std::printf("boot:      %s%s\n", s.value("degraded", false) ? "DEGRADED" : "ok",
              attempts > 1 ? (" after " + std::to_string(attempts) + " attempts").c_str() : "");
  std::printf("root:      %s\n", str(s, "mode").c_str());
  if (s.contains("slots")) print_slots(s["slots"], slot_store(c).read());
  if (c.uboot) print_bootloader(bootloader_view(c));
  const auto& lower = s.value("lower", nlohmann::json::object());
  std::printf("lower:     %s %s (%s)%s\n", str(lower, "device").c_str(), str(lower, "fstype").c_str(),
              str(lower, "source").c_str(), lower.contains("image") ? (" image " + str(lower, "image")).c_str() : "");
  const auto& verity = lower.value("verity", nlohmann::json::object());
  if (verity.value("used", false))
    std::printf("verity:    %s on %s, root %s, on corruption: %s\n", str(verity, "name").c_str(),
                str(verity, "device").c_str(), str(verity, "root_hash").c_str(), str(verity, "on_corruption").c_str());
  else if (str(verity, "mode") != "off" && str(verity, "mode") != "-")
    std::printf("verity:    not used (root verity = %s)\n", str(verity, "mode").c_str());
  const auto& upper = s.value("upper", nlohmann::json::object());
  std::printf("upper:     %s%s\n", str(upper, "mode").c_str(),
              str(upper, "mode") != str(upper, "configured")
                  ? (" (configured: " + str(upper, "configured") + ")").c_str()
                  : "");
  if (const auto space = upper_space(); !space.is_null())
    std::printf("space:     %s free of %s on the upper, %s inodes free%s\n",
                mib(space["free_bytes"].get<uint64_t>()).c_str(), mib(space["size_bytes"].get<uint64_t>()).c_str(),
                std::to_string(space["free_inodes"].get<uint64_t>()).c_str(),
                space["full"].get<bool>() ? ": FULL, changes to / fail (No space left on device); "
                                            "`strata factory-reset` discards them"
                                          : "");
  if (s.contains("data"))
    std::printf("data:      %s %s (%s)\n", str(s["data"], "device").c_str(), str(s["data"], "fstype").c_str(),
                str(s["data"], "source").c_str());
  if (s.contains("persistent") && !s["persistent"].empty())
    std::printf("persistent: %s\n", join(s["persistent"], " ").c_str());
  std::string ro;
  for (const auto& b : s.value("binds", nlohmann::json::array()))
    ro +=
        (ro.empty() ? "" : " ") + str(b, "path") + (str(b, "at") != str(b, "path") ? " (at " + str(b, "at") + ")" : "");
  if (!ro.empty()) std::printf("read-only: %s\n", ro.c_str());
  for (const auto& b : s.value("skipped", nlohmann::json::array()))
    std::printf("skipped:   %s %s: %s\n", str(b, "kind").c_str(), str(b, "path").c_str(), str(b, "why").c_str());
  for (const auto& a : s.value("actions", nlohmann::json::array()))
    if (a.is_string()) std::printf("done:      %s\n", a.get<std::string>().c_str());
  for (const auto& w : s.value("warnings", nlohmann::json::array()))
    if (w.is_string()) std::printf("warning:   %s\n", w.get<std::string>().c_str());
  std::string stages;
  const auto& st = s.value("stages_ms", nlohmann::json::object());
  for (auto it = st.begin(); it != st.end(); ++it)
    if (it.value().is_number())
      stages += (stages.empty() ? "" : ", ") + it.key() + " " + std::to_string(it.value().get<long>()) + " ms";
  std::printf("stages:    %s\n", stages.c_str());
  return 0;
}

}  // namespace cli
