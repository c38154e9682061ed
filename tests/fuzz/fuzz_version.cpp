// libFuzzer: compare_versions (bundle version=, min_version=, anti-rollback)
// on up to three arbitrary strings, split at '\n'. The order must be one:
// reflexive, antisymmetric and transitive, or "newer" could depend on which
// side asks and anti-rollback could be walked around in steps.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "version.h"

namespace {

int sign(int c) {
  return (c > 0) - (c < 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view v[3];
  for (int i = 0; i < 3; ++i) {
    const size_t nl = rest.find('\n');
    v[i] = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  using strata::compare_versions;
  for (int i = 0; i < 3; ++i) {
    if (compare_versions(v[i], v[i]) != 0) abort();
    for (int j = 0; j < 3; ++j) {
      if (sign(compare_versions(v[i], v[j])) != -sign(compare_versions(v[j], v[i]))) abort();
      for (int k = 0; k < 3; ++k) {
        const int ij = sign(compare_versions(v[i], v[j]));
        const int jk = sign(compare_versions(v[j], v[k]));
        const int ik = sign(compare_versions(v[i], v[k]));
        if (ij <= 0 && jk <= 0 && ik > 0) abort();
        if (ij == 0 && jk == 0 && ik != 0) abort();
      }
    }
  }
  return 0;
}
