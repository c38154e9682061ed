// strata: the on-device CLI. Reads what strata-init recorded about this boot,
// installs A/B updates, changes the slot record, asks the next boot for a
// factory reset, and remounts read-only mounts for maintenance. It shares the
// config, slot, bundle and data-partition code with the PID-1.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: strata status [--json]\n"
               "       strata update [--slot a|b] [--progress auto|terminal|lines|json|none] BUNDLE|-\n"
               "       strata mark-good | mark-bad\n"
               "       strata rollback [--no-reboot]\n"
               "       strata factory-reset [--all] [--no-reboot]\n"
               "       strata remount rw|ro PATH\n"
               "       strata confirm [--checks DIR] [--timeout SECONDS] [--no-reboot]\n"
               "       strata rauc-backend get-primary|get-current | get-state|set-primary BOOTNAME\n"
               "                           | set-state BOOTNAME good|bad\n"
               "       strata mender-module STATE FILES_DIR\n"
               "       strata --version\n"
               "\n"
               "  status          what this boot mounted, the A/B slots, and any warnings\n"
               "  update          write an update bundle (a file, or - for stdin) into the slot not\n"
               "                  running and put it on trial for the next boots; --progress: a line\n"
               "                  redrawn on a terminal, a line every 5 s otherwise (auto), JSON lines\n"
               "                  on stdout (json: phase, bytes, total, percent, bytes_per_second,\n"
               "                  seconds_left), or none\n"
               "  mark-good       keep the running slot (ends its trial)\n"
               "  mark-bad        never boot the running slot again (the other must be good)\n"
               "  rollback        boot the other good slot from the next boot on; reboots now\n"
               "                  unless --no-reboot\n"
               "  factory-reset   at the next boot, discard the upper layers (with --all also the\n"
               "                  persistent paths); reboots now unless --no-reboot\n"
               "  remount         make a read-only mount writable for maintenance, or read-only again\n"
               "  confirm         on a boot of a slot on trial: run the health checks (every executable\n"
               "                  in DIR, default /etc/strata/health.d, each within SECONDS, default 60);\n"
               "                  all pass: mark-good; one fails: mark-bad and reboot (unless --no-reboot)\n"
               "  rauc-backend    RAUC's custom bootloader backend over strata's slot record\n"
               "                  (system.conf: bootloader=custom; README \"RAUC\")\n"
               "  mender-module   Mender's update module for strata bundles (payload type strata;\n"
               "                  README \"Mender\")\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--version" || cmd == "version") {
    std::printf("strata %s\n", STRATA_VERSION);
    return 0;
  }
  // RAUC calls its backend with words of its own: passed through as they are.
  if (cmd == "rauc-backend")
    return cli::rauc_backend_command(cli::load_context(), std::vector<std::string>(argv + 2, argv + argc));
  if (cmd == "mender-module") return cli::mender_command(cli::load_context(), args);
  bool json = false, all = false, reboot = true;
  std::string slot, checks = "/etc/strata/health.d", progress = "auto";
  int timeout_s = 60;
  std::vector<std::string> operands;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--json" && cmd == "status")
      json = true;
    else if (a == "--all" && cmd == "factory-reset")
      all = true;
    else if (a == "--no-reboot" && (cmd == "factory-reset" || cmd == "rollback" || cmd == "confirm"))
      reboot = false;
    else if (a == "--slot" && cmd == "update" && i + 1 < args.size())
      slot = args[++i];
    else if (a == "--progress" && cmd == "update" && i + 1 < args.size())
      progress = args[++i];
    else if (a == "--checks" && cmd == "confirm" && i + 1 < args.size())
      checks = args[++i];
    else if (a == "--timeout" && cmd == "confirm" && i + 1 < args.size()) {
      timeout_s = std::atoi(args[++i].c_str());
      if (timeout_s <= 0) return usage();
    } else if (a.size() > 1 && a[0] == '-' && a != "-")
      return usage();
    else
      operands.push_back(a);
  }
  const cli::Context c = cli::load_context();
  if (cmd == "status" && operands.empty()) return cli::status_command(c, json);
  if (cmd == "factory-reset" && operands.empty()) return cli::factory_reset_command(c, all, reboot);
  if ((cmd == "mark-good" || cmd == "mark-bad" || cmd == "rollback") && operands.empty())
    return cli::slot_command(c, cmd, reboot);
  if (cmd == "update" && operands.size() == 1) return cli::update_command(c, operands[0], slot, progress);
  if (cmd == "confirm" && operands.empty()) return cli::confirm_command(c, checks, timeout_s, reboot);
  if (cmd == "remount" && operands.size() == 2) return cli::remount_command(operands[0], operands[1]);
  return usage();
}
