// A description of block devices, as libblkid would report them, for --plan
// on the host and for tests. INI: one [/dev/path] section per device with
// TYPE=, LABEL=, UUID=, PARTUUID=, PARTLABEL=, SIZE= keys, and UNREADABLE=why for a
// device whose content could not be read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "device_spec.h"

namespace strata {

std::vector<BlockDevice> parse_devices_fixture(std::string_view text, const std::string& file,
                                               std::vector<Diagnostic>& problems);

}  // namespace strata
