// strata-init: PID 1 of the initramfs. Run by hand on a host it prints the
// boot plan (--plan) or checks a config (--check) without touching anything.
#include <sys/reboot.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "boot.h"
#include "cmdline.h"
#include "config.h"
#include "devices_fixture.h"
#include "failure.h"
#include "log.h"
#include "plan.h"
#include "slot_store.h"
#include "sys.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: strata-init                   (as PID 1 only)\n"
               "       strata-init --plan [--config FILE] [--cmdline TEXT] [--devices FILE]\n"
               "                          [--slot-record PREFIX]   (PREFIX.0, PREFIX.1: a device's A/B record)\n"
               "       strata-init --check FILE\n"
               "       strata-init --keys\n");
  return 2;
}

std::string read_or_die(const std::string& path) {
  auto r = strata::sys::read_file(path);
  if (!r) {
    std::fprintf(stderr, "strata-init: %s\n", r.error().message().c_str());
    std::exit(2);
  }
  return *r;
}

int print_plan(int argc, char** argv) {
  std::string config_path, cmdline, devices_path, record_prefix;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--config")
      config_path = argv[++i];
    else if (a == "--cmdline")
      cmdline = argv[++i];
    else if (a == "--devices")
      devices_path = argv[++i];
    else if (a == "--slot-record")
      record_prefix = argv[++i];
    else
      return usage();
  }
  std::string ini = config_path.empty() ? "" : read_or_die(config_path);
  auto loaded = strata::load_config(ini, config_path.empty() ? "(none)" : config_path, strata::strata_words(cmdline));
  strata::Facts facts;
  facts.config = loaded.config;
  facts.diagnostics = loaded.diagnostics;
  // A/B: the record copied off a device (PREFIX.0, PREFIX.1), else a new device's.
  if (!record_prefix.empty()) facts.slots = strata::SlotStore(record_prefix).read();
  std::vector<strata::Diagnostic> problems;
  if (!devices_path.empty())
    facts.devices = strata::parse_devices_fixture(read_or_die(devices_path), devices_path, problems);
  for (const auto& p : problems) std::fprintf(stderr, "%s: %s\n", p.where.c_str(), p.message.c_str());
  std::fputs(strata::format_plan(strata::decide(facts)).c_str(), stdout);
  return 0;
}

int check_config(const std::string& path) {
  auto loaded = strata::load_config(read_or_die(path), path, {});
  for (const auto& d : loaded.diagnostics) std::printf("%s: %s\n", d.where.c_str(), d.message.c_str());
  if (loaded.diagnostics.empty()) std::printf("%s: ok\n", path.c_str());
  return loaded.diagnostics.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (::getpid() == 1) {
    // PID 1 must never return or throw: the kernel would panic.
    std::set_terminate([] { strata::reboot_after(10, "strata-init hit an internal error (std::terminate)"); });
    try {
      strata::run_pid1(argc, argv);
    } catch (const std::exception& e) {
      strata::reboot_after(10, std::string("strata-init internal error: ") + e.what());
    } catch (...) {
      strata::reboot_after(10, "strata-init internal error");
    }
  }
  if (argc >= 2 && !std::strcmp(argv[1], "--plan")) return print_plan(argc, argv);
  if (argc == 3 && !std::strcmp(argv[1], "--check")) return check_config(argv[2]);
  if (argc == 2 && !std::strcmp(argv[1], "--keys")) return std::fputs(strata::describe_keys().c_str(), stdout), 0;
  return usage();
}
