#include "update_policy.h"

#include "text.h"
#include "version.h"

namespace strata {

std::vector<std::string> trusted_keys(const SlotState& record, const std::vector<std::string>& config_keys) {
  return record.keys.empty() ? config_keys : record.keys;
}

std::string describe_trusted_keys(const SlotState& record, const std::vector<std::string>& config_keys) {
  const auto& keys = trusted_keys(record, config_keys);
  const std::string n = std::to_string(keys.size()) + (keys.size() == 1 ? " key" : " keys");
  return n + (record.keys.empty() ? " from [update] public_key" : " set by an earlier update (keys=)");
}

namespace {

Status check_signers(const BundleHeader& h, const SlotState& record, const UpdatePolicy& p) {
  const auto trusted = trusted_keys(record, p.config_keys);
  if (trusted.empty()) return {};  // no keys anywhere: signatures are not checked (said by the CLI)
  const std::string which = describe_trusted_keys(record, p.config_keys);
  if (h.signatures.empty())
    return plain_error("the bundle is not signed, and this device requires a signature (" + which + ")");
  const auto signers = signing_keys(h, trusted);
  if (signers.empty())
    return plain_error("bad signature: the bundle was signed by none of the " + which +
                       " this device trusts, or it was altered");
  if (!h.manifest.keys.empty()) {
    for (const auto& k : signers)
      for (const auto& stays : h.manifest.keys)
        if (k == stays) return {};
    return plain_error(
        "the bundle replaces the trusted keys (keys=) but is signed only by keys it removes: a key "
        "change must be signed by a trusted key that stays in keys=");
  }
  return {};
}

Status check_version(const Manifest& m, const SlotState& record, int running, int target, const UpdatePolicy& p) {
  if (!record.min_version.empty() && compare_versions(m.version, record.min_version) < 0)
    return plain_error("version " + quoted(m.version) + " is older than " + quoted(record.min_version) +
                       ", the minimum version this device installs (raised by an earlier update's min_version; "
                       "[update] allow_downgrade does not lower it)");
  if (p.allow_downgrade) return {};
  const std::string& now = record.slot[running].version;
  if (!now.empty() && compare_versions(m.version, now) < 0)
    return plain_error("version " + quoted(m.version) + " is older than " + quoted(now) + ", the version of " +
                       slot_word(running) + " (running): a downgrade ([update] allow_downgrade = yes allows it)");
  const SlotInfo& there = record.slot[target];
  if (there.status == SlotStatus::kGood && !there.version.empty() && compare_versions(m.version, there.version) < 0)
    return plain_error("version " + quoted(m.version) + " is older than " + quoted(there.version) +
                       ", the good version installed in " + slot_word(target) +
                       ": a downgrade ([update] allow_downgrade = yes allows it)");
  return {};
}

}  // namespace

Status check_update_policy(const BundleHeader& h, const SlotState& record, int running, int target,
                           const UpdatePolicy& p) {
  if (auto s = check_signers(h, record, p); !s) return s;
  return check_version(h.manifest, record, running, target, p);
}

}  // namespace strata
