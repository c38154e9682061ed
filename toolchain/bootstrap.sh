#!/usr/bin/env bash
# Installs everything strata needs on a fresh Debian 12 machine (as root) and
# prepares the per-architecture sysroots and kernels. Idempotent: a second run
# only checks. Target packages are fetched with a private apt state and unpacked
# (dpkg -x), never installed: foreign-architecture -dev installs break here.
#
#   toolchain/bootstrap.sh [ARCH...]     ARCH: arm64 armhf (default: both)
#
# Output: build/sysroot/<arch>/ (libraries, busybox, kernel, modules) and
#         build/sysroot/<arch>/VERSIONS (what was fetched, for benchmarks).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${STRATA_CACHE:-$top/build/sysroot}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf)

die() { echo "bootstrap: error: $*" >&2; exit 1; }
say() { echo "bootstrap: $*"; }

host_packages=(
  build-essential cmake ninja-build pkg-config clang clang-format
  libclang-rt-dev python3 nlohmann-json3-dev file cpio kmod fdisk e2fsprogs
  squashfs-tools erofs-utils f2fs-tools busybox-static cryptsetup-bin lz4 zstd xz-utils
  cpputest libblkid-dev libinih-dev libsodium-dev zlib1g-dev libssl-dev
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf
  qemu-system-arm qemu-user-static
  u-boot-qemu u-boot-tools dosfstools mtools bmap-tools libubootenv-dev
  mmdebstrap arch-test rauc openssl mender-artifact
)

install_host_packages() {
  local missing=()
  for p in "${host_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { say "host packages present"; return; }
  [ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
  say "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed (is the Debian mirror reachable?)"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install failed for: ${missing[*]}"
}

# Kernel flavour per Debian architecture.
kernel_meta() { case $1 in arm64) echo linux-image-arm64 ;; armhf) echo linux-image-armmp ;; *) die "unknown arch $1" ;; esac; }

# libcpputest-dev: CppUTest's static libraries for the target, so that the unit
# tests also run as target binaries under qemu-user (tests/cross). libssl-dev:
# libcrypto.a, whose SHA-256 uses the CPU's instructions (the CLI's updates only).
target_packages=(libblkid-dev libblkid1 libinih-dev libinih1 libsodium-dev libsodium23 busybox-static
  nlohmann-json3-dev libcpputest-dev zlib1g-dev libssl-dev libubootenv-dev)
# libubootenv-dev: the static libubootenv.a through which the CLI reads and
# writes the bootloader's environment (bootloader = uboot).
target_static_libs=(libblkid.a libinih.a libsodium.a libz.a libcrypto.a libCppUTest.a libCppUTestExt.a libubootenv.a)

# unpack_debs ROOT DEB...: dpkg -x each into ROOT, recording its version.
unpack_debs() {
  local root=$1 deb; shift
  for deb in "$@"; do
    dpkg -x "$deb" "$root" || die "cannot unpack $deb"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$root/VERSIONS"
  done
}

check_sysroot() {
  local arch=$1 root=$2 lib
  for lib in "${target_static_libs[@]}"; do
    find "$root/usr/lib" -name "$lib" | grep -q . || die "$arch: $lib missing from the unpacked packages"
  done
  [ -x "$root/bin/busybox" ] || die "$arch: busybox-static did not unpack to bin/busybox"
}

fetch_arch() {
  local arch=$1 root=$cache/$1
  local apt=$cache/apt-$arch
  # The stamp records what was asked for, so a changed list fetches again.
  local want="${target_packages[*]}" have="" p full=0
  local add=()
  [ -f "$root/.complete" ] && have=$(cat "$root/.complete")
  if [ "$have" = "$want" ]; then
    say "$arch sysroot present ($root)"; return
  fi
  # Packages only added to the list since the sysroot was made are fetched on
  # their own: a full refetch would also move to the newest kernel, under the
  # feet of builds and benchmarks. A package dropped from the list refetches all.
  if [ -z "$have" ]; then
    full=1
  else
    for p in "${target_packages[@]}"; do [[ " $have " == *" $p "* ]] || add+=("$p"); done
    for p in $have; do [[ " $want " == *" $p "* ]] || full=1; done
    if [ $full -eq 0 ] && [ ${#add[@]} -eq 0 ]; then
      echo "$want" >"$root/.complete"; say "$arch sysroot present ($root)"; return
    fi
  fi
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$root"
  local aptopts=(-o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
    -o "Dir::State::Status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -qq)
  say "$arch: reading the package index"
  local ok=0
  for try in 1 2 3; do
    apt-get "${aptopts[@]}" update && { ok=1; break; }
    say "$arch: index update failed (try $try), retrying"
    sleep $((try * 2))
  done
  if [ $ok -ne 1 ]; then
    # A suite mid-sync on the mirror (seen: bookworm-security armhf) fails the
    # whole update although the main index arrived; go on with what we have.
    ls "$apt"/lists/*_dists_bookworm_main_binary-"${arch}"_Packages* >/dev/null 2>&1 ||
      die "$arch: cannot read the Debian package index (main suite missing)"
    say "$arch: WARNING: some package indexes failed; using the ones that arrived (versions in $root/VERSIONS)"
  fi

  local dl=$apt/debs
  if [ $full -eq 0 ]; then
    rm -rf "$dl"; mkdir -p "$dl"
    say "$arch: adding ${add[*]} to the existing sysroot"
    (cd "$dl" && apt-get "${aptopts[@]}" download "${add[@]}") || die "$arch: download failed"
    unpack_debs "$root" "$dl"/*.deb
    check_sysroot "$arch" "$root"
    echo "$want" >"$root/.complete"
    say "$arch: ready (kernel $(cat "$root/KERNEL_VERSION"))"
    return
  fi

  # Resolve the kernel metapackage to the real image package (newest version).
  local meta kpkg
  meta=$(kernel_meta "$arch")
  kpkg=$(apt-cache "${aptopts[@]}" depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$kpkg" ] || die "$arch: cannot resolve $meta to a kernel package"

  rm -rf "$dl"; mkdir -p "$dl"
  say "$arch: downloading ${target_packages[*]} $kpkg"
  (cd "$dl" && apt-get "${aptopts[@]}" download "${target_packages[@]}" "$kpkg") ||
    die "$arch: download failed"
  rm -rf "$root"; mkdir -p "$root"
  : >"$root/VERSIONS"
  unpack_debs "$root" "$dl"/*.deb
  # Normalise: the kernel as $root/boot/vmlinuz, modules under $root/lib/modules/<ver>.
  local kver
  kver=$(ls "$root/lib/modules" | head -n1)
  [ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "$arch: kernel package has no vmlinuz"
  ln -sf "vmlinuz-$kver" "$root/boot/vmlinuz"
  echo "$kver" >"$root/KERNEL_VERSION"
  # modules.dep is made by depmod at install time, so make it here.
  depmod -b "$root" "$kver" || die "$arch: depmod failed"
  check_sysroot "$arch" "$root"
  echo "$want" >"$root/.complete"
  say "$arch: ready (kernel $kver)"
}

install_host_packages
for a in "${archs[@]}"; do fetch_arch "$a"; done
say "done"
