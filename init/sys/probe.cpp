#include "probe.h"

#include <blkid/blkid.h>

namespace strata {

std::optional<BlockDevice> probe_device(const std::string& path) {
  blkid_probe pr = blkid_new_probe_from_filename(path.c_str());
  if (!pr) return std::nullopt;
  blkid_probe_enable_superblocks(pr, 1);
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
  blkid_probe_enable_partitions(pr, 1);
  blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
  BlockDevice d;
  d.path = path;
  d.size = static_cast<uint64_t>(blkid_probe_get_size(pr));
  if (blkid_do_safeprobe(pr) == 0) {
    auto get = [&](const char* name, std::string& out) {
      const char* v = nullptr;
      if (blkid_probe_lookup_value(pr, name, &v, nullptr) == 0 && v) out = v;
    };
    get("TYPE", d.type);
    get("LABEL", d.label);
    get("UUID", d.uuid);
    get("PART_ENTRY_UUID", d.partuuid);
    get("PART_ENTRY_NAME", d.partlabel);
  }
  blkid_free_probe(pr);
  return d;
}

}  // namespace strata
