// strata: the on-device CLI. Reads what strata-init recorded about this boot
// and asks the next boot for a factory reset. Shares the data-partition code
// with the PID-1 (init/persist.h), so both agree on every path and step.
#include <sys/reboot.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "data_layout.h"
#include "paths.h"
#include "persist.h"
#include "sys.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: strata status [--json]\n"
               "       strata factory-reset [--all] [--no-reboot]\n"
               "\n"
               "  status          what this boot mounted, and any warnings\n"
               "  factory-reset   at the next boot, discard the upper layer (with --all also the\n"
               "                  persistent paths); reboots now unless --no-reboot\n");
  return 2;
}

std::string join(const nlohmann::json& a, const char* sep) {
  std::string out;
  for (const auto& v : a) out += (out.empty() ? "" : sep) + v.get<std::string>();
  return out;
}

int status(bool json) {
  auto text = strata::sys::read_file(strata::paths::kStatus);
  if (!text) {
    std::fprintf(stderr, "strata: no boot status (%s): was this system booted by strata-init?\n",
                 text.error().message().c_str());
    return 1;
  }
  if (json) return std::fputs(text->c_str(), stdout), 0;
  nlohmann::json s = nlohmann::json::parse(*text, nullptr, false);
  if (s.is_discarded()) {
    std::fprintf(stderr, "strata: %s is not valid JSON\n", strata::paths::kStatus);
    return 1;
  }
  auto str = [&](const nlohmann::json& j, const char* k) { return j.contains(k) ? j[k].get<std::string>() : "-"; };
  std::printf(
      "boot:      %s%s\n", s.value("degraded", false) ? "DEGRADED" : "ok",
      s.value("attempts", 1) > 1 ? (" after " + std::to_string(s.value("attempts", 1)) + " attempts").c_str() : "");
  std::printf("root:      %s\n", str(s, "mode").c_str());
  const auto& lower = s["lower"];
  std::printf("lower:     %s %s (%s)%s\n", str(lower, "device").c_str(), str(lower, "fstype").c_str(),
              str(lower, "source").c_str(), lower.contains("image") ? (" image " + str(lower, "image")).c_str() : "");
  std::printf("upper:     %s%s\n", str(s["upper"], "mode").c_str(),
              str(s["upper"], "mode") != str(s["upper"], "configured")
                  ? (" (configured: " + str(s["upper"], "configured") + ")").c_str()
                  : "");
  if (s.contains("data"))
    std::printf("data:      %s %s (%s)\n", str(s["data"], "device").c_str(), str(s["data"], "fstype").c_str(),
                str(s["data"], "source").c_str());
  if (!s["persistent"].empty()) std::printf("persistent: %s\n", join(s["persistent"], " ").c_str());
  std::string ro;
  for (const auto& b : s["binds"]) ro += (ro.empty() ? "" : " ") + b["path"].get<std::string>();
  if (!ro.empty()) std::printf("read-only: %s\n", ro.c_str());
  for (const auto& a : s["actions"]) std::printf("done:      %s\n", a.get<std::string>().c_str());
  for (const auto& w : s["warnings"]) std::printf("warning:   %s\n", w.get<std::string>().c_str());
  std::string stages;
  for (auto it = s["stages_ms"].begin(); it != s["stages_ms"].end(); ++it)
    stages += (stages.empty() ? "" : ", ") + it.key() + " " + std::to_string(it.value().get<long>()) + " ms";
  std::printf("stages:    %s\n", stages.c_str());
  return 0;
}

int factory_reset(bool all, bool reboot_now) {
  if (!strata::sys::is_dir(strata::data::kMount) || !strata::sys::exists(strata::data::kTop)) {
    std::printf("strata: no data partition is in use: nothing persistent to reset; a reboot starts from the image.\n");
  } else {
    auto tier = all ? strata::ResetTier::kAll : strata::ResetTier::kOverlay;
    if (auto s = strata::DataPartition().request_reset(tier); !s) {
      std::fprintf(stderr, "strata: cannot request the reset: %s\n", s.error().message().c_str());
      return 1;
    }
    std::printf("strata: factory reset (%s) requested; it happens at the next boot, before anything is mounted.\n",
                strata::to_string(tier));
  }
  if (!reboot_now) return 0;
  std::printf("strata: rebooting\n");
  std::fflush(stdout);
  ::sync();
  // Through the real init, so services stop cleanly.
  const char* argv[] = {"reboot", nullptr};
  ::execv("/sbin/reboot", const_cast<char**>(argv));
  std::fprintf(stderr, "strata: cannot run /sbin/reboot (%s); reboot by hand\n", std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  bool json = false, all = false, reboot_now = true;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--json" && cmd == "status")
      json = true;
    else if (a == "--all" && cmd == "factory-reset")
      all = true;
    else if (a == "--no-reboot" && cmd == "factory-reset")
      reboot_now = false;
    else
      return usage();
  }
  if (cmd == "status") return status(json);
  if (cmd == "factory-reset") return factory_reset(all, reboot_now);
  return usage();
}
