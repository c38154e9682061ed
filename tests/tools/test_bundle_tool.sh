#!/bin/sh
# strata-bundle end to end: keygen, create, and verify refusing what a device
# must refuse (another key, a cut-short bundle, an altered image byte).
#   tests/tools/test_bundle_tool.sh path/to/strata-bundle
set -eu

tool=${1:?usage: $0 path/to/strata-bundle}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs the tool expecting exit status $1 and stderr+stdout matching $2 (grep -E).
expect() {
  want=$1 pattern=$2
  shift 2
  set +e
  "$tool" "$@" >out.txt 2>&1
  got=$?
  set -e
  if [ "$got" -ne "$want" ] || ! grep -Eq -- "$pattern" out.txt; then
    cat out.txt >&2
    fail "strata-bundle $*: exit $got (wanted $want), output should match: $pattern"
  fi
  echo "ok: strata-bundle $* -> $want"
}

expect 0 'public_key = [0-9a-f]{64}' keygen keys
expect 0 'wrote' keygen other
[ "$(stat -c %a keys/update.key)" = 600 ] || fail "update.key is not mode 600"
[ "$(stat -c %a keys/update.pub)" = 644 ] || fail "update.pub is not mode 644"
grep -Eqx '[0-9a-f]{64}' keys/update.pub || fail "update.pub is not 64 hex digits"
grep -Eqx '[0-9a-f]{128}' keys/update.key || fail "update.key is not 128 hex digits"
cp keys/update.key key.before
expect 1 'already exists: refusing to overwrite' keygen keys
cmp -s keys/update.key key.before || fail "keygen overwrote update.key"

# An image that is not a multiple of any block size, to catch off-by-ones.
head -c 300001 /dev/urandom >image
expect 0 'wrote bundle: version 1.2.3, 300001 image bytes' \
  create --version 1.2.3 --compatible qemu-aarch64 --key keys/update.key image bundle
[ "$(stat -c %s bundle)" = $((4096 + 300001)) ] || fail "bundle size is not header + image"
tail -c +4097 bundle | cmp -s - image || fail "the bundle does not hold the image bytes after the header"
ls bundle.* >/dev/null 2>&1 && fail "a temporary file was left beside the bundle"

expect 0 'good bundle' verify --pubkey keys/update.pub bundle
expect 0 'signature check: ok' verify --pubkey "$(cat keys/update.pub)" bundle
expect 0 'compatible: qemu-aarch64' show bundle
expect 0 "sha256: +$(sha256sum image | cut -d' ' -f1)" show bundle
expect 0 'skipped \(no --pubkey\)' verify bundle

expect 1 'bad signature: the bundle was not signed by the key in other/update.pub' \
  verify --pubkey other/update.pub bundle

head -c $((4096 + 300000)) bundle >truncated
expect 1 'cut short: 300000 of 300001 bytes' verify --pubkey keys/update.pub truncated
head -c 4000 bundle >stub
expect 1 'shorter than the 4096-byte bundle header' verify stub

# Flip one byte in the middle of the image: the signature still holds (it
# covers the manifest), the hash does not.
cp bundle flipped
offset=$((4096 + 150000))
byte=$(od -An -tu1 -j $offset -N1 bundle | tr -d ' ')
if [ "$byte" = 65 ]; then new=B; else new=A; fi
printf %s "$new" | dd of=flipped bs=1 seek=$offset conv=notrunc status=none
cmp -s bundle flipped && fail "the byte was not flipped"
expect 1 'sha256 is [0-9a-f]{64}, the manifest says' verify --pubkey keys/update.pub flipped

cat bundle image >long
expect 1 'bytes follow the image' verify long

expect 0 ', unsigned$' create --version 2 image unsigned
expect 0 'signature: +none \(unsigned\)' show unsigned
expect 1 'the bundle is not signed' verify --pubkey keys/update.pub unsigned
expect 1 "version '1 0' contains ' '" create --version '1 0' image bad
[ ! -e bad ] || fail "a refused create left its output"
: >empty
expect 1 'empty' create --version 1 empty bad
[ ! -e bad ] || fail "a refused create left its output"
expect 1 'not a strata bundle' verify image
expect 2 'usage' create image bundle2

# --verity: the parameters line (or a file holding it) goes into the signed
# manifest; the tree must lie inside the image (300001 bytes: 73 blocks).
root=1384ada904be43183871621387add43223ddba3a0e312ba078c5080b4ed36cac
echo "sha256 4096 4096 70 70 $root -" >image.verity
expect 0 'wrote' create --version 3 --key keys/update.key --verity image.verity image vbundle
expect 0 "verity: +sha256 4096 4096 70 70 $root -" verify --pubkey keys/update.pub vbundle
expect 0 'verity: +\(none\)' show unsigned
expect 1 'starts past the image' create --version 3 --verity "sha256 4096 4096 70 80 $root -" image bad
[ ! -e bad ] || fail "a refused create left its output"
expect 1 'verity: algorithm' create --version 3 --verity "sha1 4096 4096 70 70 $root -" image bad
expect 1 'no-such.verity' create --version 3 --verity no-such.verity image bad

# --boot: a group (bootloader = uboot): the boot image first, then the root,
# each listed with its size and sha256 in the signed manifest.
head -c 70001 /dev/urandom >boot.vfat
expect 0 'a group: boot 70001 bytes \+ root 300001 bytes, signed by 1 key' \
  create --version 4 --compatible qemu-aarch64 --key keys/update.key --boot boot.vfat image group
[ "$(stat -c %s group)" = $((4096 + 70001 + 300001)) ] || fail "group size is not header + boot + root"
tail -c +4097 group | head -c 70001 | cmp -s - boot.vfat || fail "the group does not start with the boot image"
tail -c +$((4097 + 70001)) group | cmp -s - image || fail "the group does not end with the root image"
head -c 4096 group | grep -aq "^image=boot 70001 $(sha256sum boot.vfat | cut -d' ' -f1)$" || fail "no image=boot line"
expect 0 "image: +root 300001 bytes sha256 $(sha256sum image | cut -d' ' -f1)" show group
expect 0 'image check: +ok \(boot, 70001 bytes' verify --pubkey keys/update.pub group
expect 0 'good bundle' verify - <group
expect 0 'wrote' create --version 4 --boot - image group-stdin <boot.vfat
tail -c +4097 group >g.tail
tail -c +4097 group-stdin | cmp -s - g.tail || fail "a boot image from stdin gives other bytes"
# Each image checked on its own: a flipped boot byte, a cut root.
cp group gflipped
printf Z | dd of=gflipped bs=1 seek=$((4096 + 100)) conv=notrunc status=none
cmp -s group gflipped && printf Y | dd of=gflipped bs=1 seek=$((4096 + 100)) conv=notrunc status=none
expect 1 "the boot image's sha256 is [0-9a-f]{64}, the manifest says" verify --pubkey keys/update.pub gflipped
head -c $((4096 + 70001 + 5)) group >gcut
expect 1 'the root image is cut short: 5 of 300001 bytes' verify gcut
cat group image >glong
expect 1 'bytes follow the images \(the manifest lists 370002\)' verify glong
expect 1 "cannot both be '-'" create --version 4 --boot - - bad
expect 1 'is empty' create --version 4 --boot empty image bad
[ ! -e bad ] || fail "a refused create left its output"

echo "all strata-bundle checks passed"

# Key rotation and anti-rollback fields: two signers, a new key set, a minimum.
expect 0 'signed by 2 key\(s\)' create --version 3 --min-version 2.5 --keys other/update.pub,keys/update.pub \
  --key keys/update.key,other/update.key image rotate
expect 0 'signature: +ed25519 x 2' show rotate
expect 0 'min_version: 2.5' show rotate
expect 0 "keys: +$(cat other/update.pub),$(cat keys/update.pub)" show rotate
expect 0 'signature check: ok \(1 of 1 keys\)' verify --pubkey other/update.pub rotate
expect 0 'signature check: ok \(2 of 2 keys\)' verify --pubkey other/update.pub,keys/update.pub rotate
expect 1 "min_version '4' is newer than the bundle's version '3'" create --version 3 --min-version 4 image bad
expect 1 'is listed twice' create --version 3 --keys keys/update.pub,keys/update.pub image bad
[ ! -e bad ] || fail "a refused create left its output"
