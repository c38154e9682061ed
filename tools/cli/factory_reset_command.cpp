// `strata factory-reset [--all] [--no-reboot]`: asks the next boot to discard
// the upper layers (and with --all the persistent paths), before they mount.
#include <cstdio>

#include "commands.h"
#include "data_layout.h"
#include "persist.h"
#include "sys.h"

namespace cli {

int factory_reset_command(const Context&, bool all, bool reboot) {
  if (!strata::sys::is_dir(strata::data::kMount) || !strata::sys::exists(strata::data::kTop)) {
    std::printf("strata: no data partition is in use: nothing persistent to reset; a reboot starts from the image.\n");
  } else {
    auto tier = all ? strata::ResetTier::kAll : strata::ResetTier::kOverlay;
    if (auto s = strata::DataPartition().request_reset(tier); !s)
      return fail("cannot request the reset: " + s.error().message());
    std::printf("strata: factory reset (%s) requested; it happens at the next boot, before anything is mounted.\n",
                strata::to_string(tier));
  }
  return reboot ? reboot_now() : 0;
}

}  // namespace cli
