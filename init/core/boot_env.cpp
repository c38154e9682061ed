// The bootloader state's variables and how they map onto the slot record.
#include "boot_env.h"

#include <cstdio>

namespace strata {

namespace {

std::string hex(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x", v);
  return buf;
}

// Tries as U-Boot's setexpr writes them: lowercase hex, no prefix.
std::optional<int> parse_hex_tries(const std::string& v) {
  if (v.empty() || v.size() > 3) return std::nullopt;
  int n = 0;
  for (char c : v) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    n = n * 16 + d;
  }
  if (n > kMaxTries) return std::nullopt;
  return n;
}

std::optional<SlotStatus> parse_status(const std::string& v) {
  if (v == "good") return SlotStatus::kGood;
  if (v == "trial") return SlotStatus::kTrial;
  if (v == "bad") return SlotStatus::kBad;
  return std::nullopt;
}

std::string slot_words(const BootEnv& e, int i) {
  std::string s = slot_word(i) + " " + to_string(e.status[i]);
  if (e.status[i] == SlotStatus::kTrial) s += " (" + std::to_string(e.tries[i]) + " tries left)";
  return s;
}

}  // namespace

std::map<std::string, std::string> boot_env_vars(const BootEnv& e) {
  std::map<std::string, std::string> v;
  v[kBootEnvOrder] = e.first == 0 ? "a b" : "b a";
  for (int i = 0; i < kSlotCount; i++) {
    v[kBootEnvStatus[i]] = to_string(e.status[i]);
    v[kBootEnvTries[i]] = hex(e.status[i] == SlotStatus::kTrial ? e.tries[i] : 0);
  }
  return v;
}

Result<BootEnv> parse_boot_env(const std::map<std::string, std::string>& vars) {
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  BootEnv e;
  auto order = get(kBootEnvOrder);
  if (!order) return plain_error(std::string(kBootEnvOrder) + " is missing");
  if (*order == "a b")
    e.first = 0;
  else if (*order == "b a")
    e.first = 1;
  else
    return plain_error(std::string(kBootEnvOrder) + "='" + *order + "' is not 'a b' or 'b a'");
  for (int i = 0; i < kSlotCount; i++) {
    auto st = get(kBootEnvStatus[i]);
    if (!st) return plain_error(std::string(kBootEnvStatus[i]) + " is missing");
    auto s = parse_status(*st);
    if (!s) return plain_error(std::string(kBootEnvStatus[i]) + "='" + *st + "' is not good, trial or bad");
    e.status[i] = *s;
    auto tr = get(kBootEnvTries[i]);
    std::optional<int> t = tr ? parse_hex_tries(*tr) : std::optional<int>(0);
    if (!t) return plain_error(std::string(kBootEnvTries[i]) + "='" + *tr + "' is not a count of tries (hex)");
    e.tries[i] = *s == SlotStatus::kTrial ? *t : 0;
  }
  return e;
}

BootEnv boot_env_of(const SlotState& s) {
  BootEnv e;
  e.first = s.active;
  for (int i = 0; i < kSlotCount; i++) {
    e.status[i] = s.slot[i].status;
    e.tries[i] = s.slot[i].status == SlotStatus::kTrial ? s.slot[i].tries : 0;
  }
  return e;
}

SlotState with_boot_env(const SlotState& record, const BootEnv& e) {
  SlotState n = record;
  n.active = e.first;
  for (int i = 0; i < kSlotCount; i++) {
    n.slot[i].status = e.status[i];
    n.slot[i].tries = e.tries[i];
  }
  return n;
}

std::vector<std::string> boot_env_disagreements(const SlotState& record, const BootEnv& e) {
  std::vector<std::string> out;
  const BootEnv r = boot_env_of(record);
  if (r.first != e.first)
    out.push_back(std::string("the record prefers ") + slot_word(r.first) + ", the bootloader " + slot_word(e.first));
  for (int i = 0; i < kSlotCount; i++) {
    if (r.status[i] != e.status[i])
      out.push_back(slot_word(i) + ": the record says " + to_string(r.status[i]) + ", the bootloader " +
                    to_string(e.status[i]));
    else if (r.tries[i] != e.tries[i])
      out.push_back(slot_word(i) + ": the record counts " + std::to_string(r.tries[i]) +
                    " tries left, the bootloader " + std::to_string(e.tries[i]));
  }
  return out;
}

std::string describe(const BootEnv& e) {
  return std::string("order ") + slot_name(e.first) + " " + slot_name(other_slot(e.first)) + ", " + slot_words(e, 0) +
         ", " + slot_words(e, 1);
}

std::vector<std::string> describe_boot(const BootloaderWords& w) {
  std::vector<std::string> out;
  if (w.state_missing)
    out.push_back("the bootloader found no valid copy of its state (blank, torn or unreadable) and booted slot a");
  if (w.fallback_from)
    out.push_back(slot_word(*w.fallback_from) + " used up its boot tries without `strata mark-good`: " +
                  "the bootloader booted " + (w.slot ? slot_word(*w.slot) : std::string("the other slot")));
  if (w.trial_left)
    out.push_back((w.slot ? slot_word(*w.slot) : std::string("this slot")) +
                  " on trial: " + std::to_string(*w.trial_left) + " boot tries left (counted by the bootloader)");
  return out;
}

}  // namespace strata
