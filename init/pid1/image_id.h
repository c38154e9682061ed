// The identity of a lower image, recorded beside a persistent upper so a
// changed lower is noticed at boot.
#pragma once

#include <string>

namespace strata {

// /etc/strata/image-id inside the mounted lower (written by tools/mkrootfs),
// else a SHA-256 of the device's size and its first and last 64 KiB.
std::string lower_identity(const std::string& lower_mount, const std::string& device);

}  // namespace strata
