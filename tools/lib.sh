# Shared by the host tools: paths, board loading, messages. Source it.
set -euo pipefail
STRATA_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA_SYSROOTS=${STRATA_CACHE:-$STRATA_TOP/build/sysroot}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}

die() { echo "${0##*/}: error: $*" >&2; exit 1; }
say() { echo "${0##*/}: $*" >&2; }

# load_board NAME: sets BOARD, BOARD_DIR, OUT and the BOARD_* variables.
load_board() {
  BOARD=$1
  BOARD_DIR=$STRATA_TOP/board/$BOARD
  [ -f "$BOARD_DIR/board.conf" ] || die "no board '$BOARD' (expected $BOARD_DIR/board.conf); boards: $(ls "$STRATA_TOP/board" | grep -v common | tr '\n' ' ')"
  # shellcheck source=/dev/null
  . "$BOARD_DIR/board.conf"
  OUT=$STRATA_TOP/out/$BOARD
  SYSROOT=$STRATA_SYSROOTS/$BOARD_DEB_ARCH
  [ -f "$SYSROOT/.complete" ] || die "no sysroot for $BOARD_DEB_ARCH: run toolchain/bootstrap.sh $BOARD_DEB_ARCH"
  KERNEL_VERSION=$(cat "$SYSROOT/KERNEL_VERSION")
}

# Normalise a staging tree so that the same inputs give the same bytes.
normalise_tree() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Applet links for a BusyBox tree (the applet list is the same on every
# architecture of one Debian busybox-static version; the host's is asked).
busybox_links() {
  local root=$1 applet
  for applet in $(busybox --list-full); do
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /bin/busybox "$root/$applet"
  done
}

# host_tool NAME: builds one of the project's host programs (strata-bundle)
# in build/tools (plain release build, no sanitizers) and prints its path.
# Boards build in parallel: one build at a time.
host_tool() {
  local dir=$STRATA_TOP/build/tools
  mkdir -p "$dir"
  (
    flock 9
    { [ -f "$dir/build.ninja" ] || cmake --preset tools && cmake --build "$dir" --target "$1"; } >"$dir.log" 2>&1 ||
      { cat "$dir.log" >&2; exit 1; }
  ) 9>"$dir.lock" || die "cannot build the host tool $1"
  echo "$dir/tools/$1"
}

# board_keys: the board's update signing key pair in $OUT/keys, made on first
# use. The secret key never leaves the build machine; only update.pub goes
# into the initramfs config.
board_keys() {
  if [ ! -f "$OUT/keys/update.pub" ]; then
    mkdir -p "$OUT/keys"
    "$(host_tool strata-bundle)" keygen "$OUT/keys" >/dev/null
  fi
}

# pack_root STAGE OUTPUT FSTYPE VERITY [OWNERS]: a staged root tree into a
# root image (squashfs, erofs, ext4, or a copy for dir), with its identity in
# /etc/strata/image-id; VERITY=1 appends a dm-verity hash tree and writes its
# parameters to OUTPUT.verity (see tools/mkrootfs). Used by mkrootfs (the demo
# root) and mkroot (a root the user brings). OWNERS: root (every file owned
# by root, the demo image) or keep (the tree's own owners, as a Debian root needs).
pack_root() {
  local stage=$1 output=$2 fstype=$3 verity=$4 owners=${5:-root} image_id size_k bytes blocks salt root_hash
  local all_root=(-all-root) erofs_root=(--all-root)
  [ "$owners" = root ] || all_root=() erofs_root=()
  # The image's identity: a hash of every path, mode, link target and file
  # content. strata-init records it beside a persistent upper to notice a new image.
  mkdir -p "$stage/etc/strata"
  rm -f "$stage/etc/strata/image-id"
  image_id=$( (cd "$stage" && find . -printf '%p %m %U:%G %l\n' | LC_ALL=C sort &&
               find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-32)
  echo "$image_id" >"$stage/etc/strata/image-id"
  normalise_tree "$stage"
  mkdir -p "$(dirname "$output")"
  rm -rf "$output"
  case $fstype in
    squashfs) mksquashfs "$stage" "$output" -quiet -noappend "${all_root[@]}" -comp gzip >/dev/null ;;  # times from SOURCE_DATE_EPOCH
    erofs) mkfs.erofs --quiet "-T$SOURCE_DATE_EPOCH" "${erofs_root[@]}" \
             -U5a1e0000-0000-4000-8000-0000000000e1 "$output" "$stage" >/dev/null ;;
    ext4) size_k=$(( $(du -sk "$stage" | cut -f1) * 2 + 4096 ))
          mke2fs -q -t ext4 -L rootfs -d "$stage" -F "$output" "${size_k}k" ;;
    dir) cp -a "$stage" "$output" ;;
    *) die "unknown root image type '$fstype' (squashfs, erofs, ext4, dir)" ;;
  esac
  rm -f "$output.verity"
  if [ "$verity" = 1 ]; then
    [ "$fstype" != dir ] || die "--verity needs an image, not a dir"
    command -v veritysetup >/dev/null || die "veritysetup not found (cryptsetup-bin; toolchain/bootstrap.sh installs it)"
    # The tree starts on a block boundary after the data.
    bytes=$(stat -c %s "$output")
    blocks=$(( (bytes + 4095) / 4096 ))
    truncate -s $(( blocks * 4096 )) "$output"
    salt=$(sha256sum "$output" | cut -c1-64)
    root_hash=$(veritysetup format "$output" "$output" --no-superblock --hash=sha256 \
                  --data-block-size=4096 --hash-block-size=4096 --data-blocks="$blocks" \
                  --hash-offset=$(( blocks * 4096 )) --salt="$salt" | sed -n 's/^Root hash:[[:space:]]*//p')
    [ ${#root_hash} -eq 64 ] || die "veritysetup format $output gave no root hash"
    echo "sha256 4096 4096 $blocks $blocks $root_hash $salt" >"$output.verity"
    say "verity: $blocks data blocks, tree of $(( $(stat -c %s "$output") / 4096 - blocks )) blocks, root $root_hash"
  fi
}

# rauc_keys: a test PKI for RAUC bundles in $OUT/rauc, made on first use with
# OpenSSL: a CA (ca.cert.pem goes into the image as RAUC's keyring) and a
# signing key and certificate issued by it (they stay on the build host).
rauc_keys() {
  local dir=$OUT/rauc
  [ -f "$dir/signing.cert.pem" ] && return
  command -v openssl >/dev/null || die "openssl not found (toolchain/bootstrap.sh installs it)"
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/O=strata test/CN=strata $BOARD RAUC CA" \
      -keyout ca.key.pem -out ca.cert.pem
    openssl req -newkey rsa:2048 -nodes -subj "/O=strata test/CN=strata $BOARD RAUC signing" \
      -keyout signing.key.pem -out signing.csr.pem
    openssl x509 -req -in signing.csr.pem -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial -days 36500 \
      -out signing.cert.pem
  ) >/dev/null 2>&1 || { rm -rf "$dir"; die "cannot make the RAUC test PKI in $dir"; }
}
