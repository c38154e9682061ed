"""Shared by the group-update scenarios ([slots] bootloader = uboot): group
bundles made by tools/mkbundle (cached per test process) and a U-Boot boot
with the bundle "tape" attached."""
import atexit
import os
import shutil
import subprocess
import tempfile

from base import BoardTest
from machine import TOP
import slots
from uboot import slot_boot_image

_cache = tempfile.mkdtemp(prefix="strata-groups-")
atexit.register(shutil.rmtree, _cache, True)
_built = {}


def mkbundle(board, version, *options):
    """A group bundle made by tools/mkbundle (cached per test process)."""
    key = (board, version, options)
    if key not in _built:
        path = os.path.join(_cache, f"{board}-group-{version}-{len(_built)}.bundle")
        r = subprocess.run([os.path.join(TOP, "tools", "mkbundle"), *options, board, str(version), path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise AssertionError(f"tools/mkbundle {' '.join(options)} {board} {version} failed:\n{r.stderr}")
        _built[key] = path
    return _built[key]


def good_group(board):
    """Version 2: the board's kernel, an initramfs whose config says "; group 2",
    cmdline.txt with demo.group=2, and 2 tries for what this group installs next."""
    return mkbundle(board, 2, "--group", "--words", "strata.slots.tries=2")


def bad_kernel_group(board, tmp):
    """Version 3: a valid, signed group whose kernel is cut to a third."""
    kernel = os.path.join(tmp, "vmlinuz-truncated")
    with open(os.path.join(TOP, "out", board, "vmlinuz"), "rb") as f:
        data = f.read()
    with open(kernel, "wb") as f:
        f.write(data[: len(data) // 3])
    boot = slot_boot_image(board, os.path.join(tmp, "boot-truncated.vfat"), words="demo.group=3", kernel=kernel)
    return mkbundle(board, 3, "--boot", boot)


class GroupTest(BoardTest):
    def status(self, m):
        return slots.slots(m)

    def fboot(self, tape, disk):
        """Through U-Boot with the tape attached. The disk goes last: virtio-mmio
        enumerates disks in reverse, and U-Boot's distro boot scans virtio 0 only."""
        return self.boot(tape.path, firmware=True, drives=[disk])
