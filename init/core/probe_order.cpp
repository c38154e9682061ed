#include "probe_order.h"

#include <algorithm>

namespace strata {
namespace {

ProbeNeed need_for(const SysfsDevice& d, const DeviceSpec& s) {
  switch (s.kind) {
    case DeviceSpec::kPath:
      return d.path == s.value ? ProbeNeed::kMatches : ProbeNeed::kCannot;
    case DeviceSpec::kPartLabel:
      // Only a partition has a GPT entry; the kernel's PARTNAME is that
      // entry's name, the same bytes libblkid's PART_ENTRY_NAME reads.
      if (!d.partition) return ProbeNeed::kCannot;
      if (d.partname.empty()) return ProbeNeed::kMaybe;
      return d.partname == s.value ? ProbeNeed::kMatches : ProbeNeed::kCannot;
    case DeviceSpec::kPartUuid:
      return d.partition ? ProbeNeed::kMaybe : ProbeNeed::kCannot;
    case DeviceSpec::kLabel:
    case DeviceSpec::kUuid:
      return ProbeNeed::kMaybe;  // a filesystem's own: anywhere
  }
  return ProbeNeed::kMaybe;
}

// Among the maybes: a partition named like the filesystem label it should
// hold first (tools/mkdisk names the data partition "data", LABEL=data), then
// other partitions, then whole devices (a filesystem on a whole disk is rare).
int maybe_rank(const SysfsDevice& d, const std::vector<DeviceSpec>& named) {
  if (!d.partition) return 3;
  for (const auto& s : named)
    if ((s.kind == DeviceSpec::kLabel || s.kind == DeviceSpec::kUuid) && !d.partname.empty() && d.partname == s.value)
      return 1;
  return 2;
}

}  // namespace

ProbeNeed probe_need(const SysfsDevice& d, const std::vector<DeviceSpec>& named) {
  if (named.empty()) return ProbeNeed::kMaybe;
  ProbeNeed best = ProbeNeed::kCannot;
  for (const auto& s : named) {
    ProbeNeed n = need_for(d, s);
    if (n == ProbeNeed::kMatches) return n;
    if (n == ProbeNeed::kMaybe) best = n;
  }
  return best;
}

std::vector<size_t> probe_order(const std::vector<SysfsDevice>& devices, const std::vector<DeviceSpec>& named) {
  std::vector<std::pair<int, size_t>> ranked;
  for (size_t i = 0; i < devices.size(); i++) {
    switch (probe_need(devices[i], named)) {
      case ProbeNeed::kMatches:
        ranked.push_back({0, i});
        break;
      case ProbeNeed::kMaybe:
        ranked.push_back({named.empty() ? 0 : maybe_rank(devices[i], named), i});
        break;
      case ProbeNeed::kCannot:
        break;
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<size_t> out;
  for (const auto& r : ranked) out.push_back(r.second);
  return out;
}

bool all_named_found(const std::vector<DeviceSpec>& named, const std::vector<BlockDevice>& have) {
  for (const auto& s : named)
    if (!find_device(have, s)) return false;
  return true;
}

BlockDevice unprobed_device(const SysfsDevice& d, const char* why) {
  BlockDevice b;
  b.path = d.path;
  b.partlabel = d.partname;
  b.size = d.size;
  b.not_probed = why;
  return b;
}

}  // namespace strata
