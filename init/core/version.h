// Ordering of versions (bundle version=, min_version=, the slot record), so
// that anti-rollback can say "older". Debian's rules (deb-version(7)), which
// fit the name alphabet strata already allows ([A-Za-z0-9._+~:-]):
// [epoch:]upstream[-revision]; digit runs compare as numbers, letters sort
// before other characters, and '~' before everything, even the end
// ("1.0~rc1" < "1.0" < "1.0a" < "1.0.1" < "1:0.1").
#pragma once

#include <string_view>

namespace strata {

// <0 when a is older than b, 0 when equal in order, >0 when newer.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace strata
