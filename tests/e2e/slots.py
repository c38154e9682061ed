"""Shared by the A/B update scenarios: bundles built once per test process,
a "tape" drive holding several bundles for the guest to stream from, and
reading the slot record through `strata status --json`."""
import atexit
import json
import os
import shutil
import subprocess
import tempfile

from machine import TOP, out_dir

_cache = tempfile.mkdtemp(prefix="strata-bundles-")
atexit.register(shutil.rmtree, _cache, True)
_built = {}


def tool(*args):
    subprocess.run([os.path.join(TOP, "tools", args[0]), *args[1:]], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def strata_bundle():
    return os.path.join(TOP, "build", "tools", "tools", "strata-bundle")


def bundle(board, version):
    """A bundle of root image VERSION, signed with the board's key (cached)."""
    key = (board, version)
    if key not in _built:
        path = os.path.join(_cache, f"{board}-v{version}.bundle")
        tool("mkbundle", board, str(version), path)
        _built[key] = path
    return _built[key]


def corrupt(src, dst, offset=4096 + 5000):
    """A copy of a bundle with one image byte flipped (the header still valid)."""
    shutil.copy(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
    return dst


def signed_with_other_key(board, tmp, version=2):
    """The same image, signed with a key this board does not trust."""
    keys = os.path.join(tmp, "other-keys")
    subprocess.run([strata_bundle(), "keygen", keys], check=True, stdout=subprocess.DEVNULL)
    image = os.path.join(tmp, "image.squashfs")
    with open(bundle(board, version), "rb") as f:
        f.seek(4096)
        with open(image, "wb") as out:
            shutil.copyfileobj(f, out)
    out = os.path.join(tmp, "other-key.bundle")
    subprocess.run([strata_bundle(), "create", "--version", str(version), "--compatible", board,
                    "--key", os.path.join(keys, "update.key"), image, out], check=True, stdout=subprocess.DEVNULL)
    return out


def keygen(tmp, name):
    """A fresh signing key pair in TMP/NAME: returns (update.pub, update.key)."""
    keys = os.path.join(tmp, name)
    subprocess.run([strata_bundle(), "keygen", keys], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(keys, "update.pub"), os.path.join(keys, "update.key")


def rewrapped(board, tmp, name, version, signers, trust=None, min_version=None):
    """The board's version-2 image in a new bundle: VERSION, signed by each key
    file in SIGNERS, with keys= TRUST (public key files) and min_version=."""
    image = os.path.join(tmp, "image-v2.squashfs")
    if not os.path.exists(image):
        with open(bundle(board, 2), "rb") as f:
            f.seek(4096)
            with open(image, "wb") as out:
                shutil.copyfileobj(f, out)
    out = os.path.join(tmp, name + ".bundle")
    cmd = [strata_bundle(), "create", "--version", str(version), "--compatible", board]
    if signers:
        cmd += ["--key", ",".join(signers)]
    if trust:
        cmd += ["--keys", ",".join(trust)]
    if min_version:
        cmd += ["--min-version", str(min_version)]
    subprocess.run(cmd + [image, out], check=True, stdout=subprocess.DEVNULL)
    return out


def unsigned_or_for(board, tmp, compatible, name, size_mib=None):
    """A bundle signed with the board's key, for another board (compatible),
    or with an image of size_mib MiB (sparse: only its header is used)."""
    image = os.path.join(tmp, name + ".img")
    if size_mib:
        with open(image, "wb") as f:
            f.truncate(size_mib << 20)
    else:
        with open(bundle(board, 2), "rb") as f:
            f.seek(4096)
            with open(image, "wb") as out:
                shutil.copyfileobj(f, out)
    out = os.path.join(tmp, name + ".bundle")
    subprocess.run([strata_bundle(), "create", "--version", "9", "--compatible", compatible,
                    "--key", os.path.join(out_dir(board), "keys", "update.key"), image, out],
                   check=True, stdout=subprocess.DEVNULL)
    return out


def file_slots_disk(board, tmp):
    """A disk for image-file slots: the data partition (64 MiB) holds slot a's
    image as strata/slots/slot-a.img; root-a and root-b stay empty."""
    tree = os.path.join(tmp, "data-tree")
    os.makedirs(os.path.join(tree, "strata", "slots"))
    subprocess.run(["cp", os.path.join(out_dir(board), "root.squashfs"),
                    os.path.join(tree, "strata", "slots", "slot-a.img")], check=True)
    data = os.path.join(tmp, "data.ext4")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "data", "-d", tree, "-F", data, "64M"], check=True)
    disk = os.path.join(tmp, "files.img")
    tool("mkdisk", board, disk, f"data={data}")
    return disk


class Tape:
    """Bundles laid end to end (4 KiB aligned) in one raw drive image; the
    guest streams bundle i with `tail -c +OFFSET DEV | head -c SIZE`."""

    def __init__(self, path, bundles, limits=None):
        self.path, self.entries = path, []
        limits = limits or {}
        with open(path, "wb") as out:
            for i, b in enumerate(bundles):
                start = out.tell()
                with open(b, "rb") as f:
                    data = f.read(limits.get(i, -1))
                out.write(data)
                self.entries.append((start, len(data)))
                out.write(b"\0" * (-out.tell() % 4096))
            out.write(b"\0" * 4096)
        self.sectors = os.path.getsize(path) // 512

    def device(self):
        """The guest's name for this drive (found by its size), as a shell word."""
        return f"$(for d in /sys/block/vd*; do [ \"$(cat $d/size)\" = {self.sectors} ] && echo /dev/${{d##*/}}; done)"

    def stream(self, i, size=None):
        """The guest command that writes bundle i (or its first SIZE bytes) to stdout."""
        start, length = self.entries[i]
        return f"tail -c +{start + 1} {self.device()} | head -c {size if size is not None else length}"


def slots(m):
    """This boot's slots section of the status, with the record as on flash now ("now")."""
    return json.loads(m.ok("strata status --json"))["slots"]


def version(m):
    for line in m.ok("cat /etc/os-release").splitlines():
        if line.startswith("VERSION_ID="):
            return line.split("=", 1)[1].strip()
    return None


def reboot(m, timeout=90):
    """A clean reboot through BusyBox init; -no-reboot makes QEMU exit."""
    m.send("reboot\n")
    m.wait_exit(timeout)


def readonly(m, slot):
    """The kernel's read-only flag of a partition slot (BLKROSET), "1" or "0"."""
    dev = slots(m)[slot]["device"]
    return m.ok(f"cat /sys/class/block/{os.path.basename(dev)}/ro").strip()
