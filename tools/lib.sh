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
