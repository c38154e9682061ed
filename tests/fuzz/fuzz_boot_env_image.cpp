// libFuzzer: the bootloader state ([slots] bootloader = uboot) as it lies on
// the bootstate partition, through the same code the CLI reads it with
// (parse_boot_env_image: libubootenv on the pair, then parse_boot_env).
// The input: a mode byte, the two copies' flags bytes, then copy 0's
// variables ("name=value\0..."), a \1 byte and copy 1's. The harness lays
// them out as libubootenv's redundant pair with the CRC made right (or, by
// the mode, wrong or the copy left blank), so the fuzzer gets past the CRC
// to the variables. What parses must go back to the same state through
// boot_env_vars, a fresh image, and the slot record (with_boot_env).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "boot_env.h"
#include "boot_env_invariants.h"
#include "boot_env_store.h"

namespace {

constexpr size_t kData = 5;  // CRC-32 (little-endian) and the flags byte

void put_copy(std::string& image, int i, std::string_view vars, uint8_t flags, bool crc_right) {
  char* c = image.data() + strata::kBootEnvOffset[i];
  const size_t room = strata::kBootEnvSize - kData;
  if (!vars.empty()) std::memcpy(c + kData, vars.data(), std::min(vars.size(), room));
  c[4] = static_cast<char>(flags);
  uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(c + kData), room));
  if (!crc_right) crc ^= 1;
  for (int b = 0; b < 4; b++) c[b] = static_cast<char>(crc >> (8 * b));
}

}  // namespace

// libubootenv 0.3.2 leaks a strdup in libuboot_open when the environment
// names ".flags" twice (corpus: leak-libubootenv-duplicate-flags): its bug, 12
// bytes once per read by the short-lived CLI, not strata's.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libuboot_open\n";
}

namespace {

std::string vars_text(const std::map<std::string, std::string>& vars) {
  std::string out;
  for (const auto& [k, v] : vars) out += k + "=" + v + '\0';
  return out + '\0';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
  const size_t split = rest.find('\1');
  const std::string_view vars[2] = {rest.substr(0, split),
                                    split == std::string_view::npos ? std::string_view() : rest.substr(split + 1)};
  std::string image(strata::kBootEnvImageSize, '\0');
  for (int i = 0; i < 2; i++) {
    const int m = (mode >> (2 * i)) & 3;  // 0, 1: a right CRC; 2: a wrong one; 3: blank
    if (m != 3) put_copy(image, i, vars[i], data[1 + i], m != 2);
  }
  auto r = strata::parse_boot_env_image(image, "fuzz");
  if (!r) abort();  // only a failing memfd_create errs
  if (!r->env) {
    if (r->detail.empty()) abort();  // a rejection says why
    return 0;
  }
  const strata::BootEnv e = *r->env;
  // The variables strata writes parse back to the same state, alone and as a fresh pair.
  check_boot_env_invariants(e);
  std::string fresh(strata::kBootEnvImageSize, '\0');
  put_copy(fresh, 0, vars_text(strata::boot_env_vars(e)), 0, true);
  auto reread = strata::parse_boot_env_image(fresh, "fuzz");
  if (!reread || !reread->env || !(*reread->env == e)) abort();

  // Through the record and back, with nothing to disagree about.
  const strata::SlotState rec = strata::with_boot_env(strata::SlotState{}, e);
  if (!(strata::boot_env_of(rec) == e)) abort();
  if (!strata::boot_env_disagreements(rec, e).empty()) abort();
  return 0;
}
