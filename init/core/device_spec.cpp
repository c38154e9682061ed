#include "device_spec.h"

#include <strings.h>

namespace strata {
namespace {
struct Prefix {
  std::string_view text;
  DeviceSpec::Kind kind;
};
constexpr Prefix kPrefixes[] = {{"LABEL=", DeviceSpec::kLabel},
                                {"UUID=", DeviceSpec::kUuid},
                                {"PARTUUID=", DeviceSpec::kPartUuid},
                                {"PARTLABEL=", DeviceSpec::kPartLabel}};

bool iequal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.c_str(), b.c_str(), a.size()) == 0;
}
}  // namespace

std::optional<DeviceSpec> parse_device_spec(std::string_view text) {
  for (const auto& p : kPrefixes) {
    if (text.substr(0, p.text.size()) == p.text) {
      std::string v(text.substr(p.text.size()));
      if (v.empty()) return std::nullopt;
      return DeviceSpec{p.kind, v};
    }
  }
  if (text.size() > 5 && text.substr(0, 5) == "/dev/") return DeviceSpec{DeviceSpec::kPath, std::string(text)};
  return std::nullopt;
}

std::string DeviceSpec::text() const {
  for (const auto& p : kPrefixes)
    if (p.kind == kind) return std::string(p.text) + value;
  return value;
}

bool DeviceSpec::matches(const BlockDevice& d) const {
  switch (kind) {
    case kPath:
      return d.path == value;
    case kLabel:
      return !d.label.empty() && d.label == value;
    case kUuid:
      return !d.uuid.empty() && iequal(d.uuid, value);
    case kPartUuid:
      return !d.partuuid.empty() && iequal(d.partuuid, value);
    case kPartLabel:
      return !d.partlabel.empty() && d.partlabel == value;
  }
  return false;
}

const BlockDevice* find_device(const std::vector<BlockDevice>& devices, const DeviceSpec& spec) {
  for (const auto& d : devices)
    if (spec.matches(d)) return &d;
  return nullptr;
}

std::string describe_devices(const std::vector<BlockDevice>& devices) {
  if (devices.empty()) return "  (no block devices at all: is the storage driver module loaded?)\n";
  std::string out;
  for (const auto& d : devices) {
    if (!d.not_probed.empty()) {
      out += "  " + d.path + " PARTLABEL=" + (d.partlabel.empty() ? "-" : d.partlabel) +
             " (not probed: " + d.not_probed + ")\n";
      continue;
    }
    out += "  " + d.path + " TYPE=" + (d.type.empty() ? "-" : d.type) + " LABEL=" + (d.label.empty() ? "-" : d.label) +
           " UUID=" + (d.uuid.empty() ? "-" : d.uuid) + " PARTLABEL=" + (d.partlabel.empty() ? "-" : d.partlabel) +
           " PARTUUID=" + (d.partuuid.empty() ? "-" : d.partuuid) +
           (d.unreadable.empty() ? "" : " (could not be read: " + d.unreadable + ")") + "\n";
  }
  return out;
}

std::string unreadable_note(const std::vector<BlockDevice>& devices) {
  std::string out;
  for (const auto& d : devices)
    if (!d.unreadable.empty()) out += (out.empty() ? "" : "; ") + d.path + " could not be read: " + d.unreadable;
  return out.empty() ? out : " (" + out + ")";
}

}  // namespace strata
