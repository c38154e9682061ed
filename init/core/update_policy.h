// Whether a bundle may be installed: who signed it and how its version
// compares (README "Security"). Pure: install_update() asks it before a byte
// is written, the unit tests ask it every case.
#pragma once

#include <string>
#include <vector>

#include "bundle.h"
#include "result.h"
#include "slot_state.h"

namespace strata {

struct UpdatePolicy {
  std::vector<std::string> config_keys;  // [update] public_key
  bool allow_downgrade = false;          // [update] allow_downgrade
};

// The keys bundles must be signed with now: the ones an update set in the
// record, else the config's. None: signatures are not checked.
std::vector<std::string> trusted_keys(const SlotState& record, const std::vector<std::string>& config_keys);

// Installing `h` into `target` while `running` runs, given the record:
//  - signed by a trusted key; a bundle with keys= by a trusted key that
//    stays in its keys= (so no update can lock the device out, and a
//    removed key can only be removed by the keys that remain);
//  - a version not older than the record's min_version, ever;
//  - unless allow_downgrade, not older than the running slot's version nor
//    than the target's when the target holds a good image.
// The error says which rule and which versions or keys.
Status check_update_policy(const BundleHeader& h, const SlotState& record, int running, int target,
                           const UpdatePolicy& p);

// "3 keys set by an update" / "1 key from [update] public_key": for messages.
std::string describe_trusted_keys(const SlotState& record, const std::vector<std::string>& config_keys);

}  // namespace strata
