// What every `strata` command starts from: the config this boot read (copied
// to /run/strata by strata-init, plus the kernel command line) and the boot
// status strata-init wrote, with the A/B slots it booted.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "config.h"
#include "result.h"
#include "slot_store.h"

namespace cli {

struct Context {
  strata::LoadedConfig loaded;
  nlohmann::json status;  // /run/strata/status; null when missing
  std::string status_error;
  // A/B, from the status ([slots] mode none: booted = -1).
  strata::SlotMode mode = strata::SlotMode::kNone;
  int booted = -1;
  std::string device[2];       // partition slots
  std::string image[2];        // file slots
  std::string boot_device[2];  // bootloader = uboot: each slot's boot partition ("" not found)
  // bootloader = uboot: the partition of the bootloader state ("" unknown).
  bool uboot = false;
  std::string bootstate;
};

Context load_context();

// The slot record store; with bootloader = uboot it reads and writes the
// bootloader state too (SlotStore::bootloader_read/write, BootEnvStore).
strata::SlotStore slot_store(const Context& c);

// Messages go to stderr as "strata: ...".
void say(const std::string& line);
int fail(const std::string& line);  // says it, returns 1

// strata.crash_at=<point> on the kernel command line: stop at that point and
// wait for the power to be cut (the QEMU power-cut tests kill the machine).
void crash_point(const std::string& configured, const std::string& point);

// Reboots through the real init, so services stop cleanly.
int reboot_now();

}  // namespace cli
