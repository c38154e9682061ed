"""Shared by the U-Boot scenarios: a disk set up for [slots] bootloader =
uboot (the uboot boot script on "boot", each slot's kernel, initramfs and
command line on boot-a / boot-b), and the bootloader state pair on the raw
"bootstate" partition written and read from the host in libubootenv's
redundant layout (CRC-32 of the data, a flags byte, NUL-separated
name=value pairs), the layout the boot script reads."""
import os
import re
import struct
import subprocess
import zlib

from machine import TOP, out_dir

ENV_SIZE = 0x4000
COPY_OFFSET = (0, 0x10000)
UBOOT_WORDS = "strata.slots.bootloader=uboot"


def partitions(board):
    """{name: (offset bytes, size bytes)} from the board's BOARD_PARTITIONS (tools/mkdisk's layout)."""
    with open(os.path.join(TOP, "board", board, "board.conf")) as f:
        conf = f.read()
    layout = re.search(r'^BOARD_PARTITIONS="([^"]*)"', conf, re.M).group(1)
    out, start = {}, 1
    for p in layout.split():
        name, mib = p.split(":")
        out[name] = (start << 20, int(mib) << 20)
        start += int(mib)
    return out


def write_partition(disk, board, name, image):
    off, size = partitions(board)[name]
    with open(image, "rb") as f:
        data = f.read()
    assert len(data) <= size, f"{image} does not fit {name}"
    with open(disk, "r+b") as f:
        f.seek(off)
        f.write(data)


def tool(*args):
    subprocess.run([os.path.join(TOP, "tools", args[0]), *args[1:]], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def slot_boot_image(board, path, words="", initrd=None, kernel=None):
    """A slot's boot partition image: kernel, initramfs, cmdline.txt with WORDS."""
    tool("mkbootfs", "slot", board, path, kernel or os.path.join(out_dir(board), "vmlinuz"),
         initrd or os.path.join(out_dir(board), "initramfs.cpio.gz"), *(UBOOT_WORDS + " " + words).split())
    return path


def env_copy(variables, flags):
    data = b"".join(f"{k}={v}".encode() + b"\0" for k, v in sorted(variables.items())) + b"\0"
    data = data.ljust(ENV_SIZE - 5, b"\0")
    return struct.pack("<I", zlib.crc32(data)) + bytes([flags & 0xFF]) + data


def state(order="a b", a="good", b="bad", a_tries=0, b_tries=0):
    return {"strata_order": order, "strata_a": a, "strata_b": b,
            "strata_a_tries": f"{a_tries:x}", "strata_b_tries": f"{b_tries:x}"}


def write_state(disk, board, variables, copies=(0, 1), flags=1):
    off = partitions(board)["bootstate"][0]
    with open(disk, "r+b") as f:
        for i in copies:
            f.seek(off + COPY_OFFSET[i])
            f.write(env_copy(variables, flags + i))


def blank_state(disk, board):
    off, size = partitions(board)["bootstate"]
    with open(disk, "r+b") as f:
        f.seek(off)
        f.write(b"\0" * size)


def read_state(disk, board):
    """[(valid, flags, variables)] for copy 0 and 1."""
    off = partitions(board)["bootstate"][0]
    out = []
    with open(disk, "rb") as f:
        for i in (0, 1):
            f.seek(off + COPY_OFFSET[i])
            raw = f.read(ENV_SIZE)
            crc, flags, data = struct.unpack("<I", raw[:4])[0], raw[4], raw[5:]
            valid = zlib.crc32(data) == crc
            variables = {}
            if valid:
                for kv in data.split(b"\0\0")[0].split(b"\0"):
                    if b"=" in kv:
                        k, v = kv.decode().split("=", 1)
                        variables[k] = v
            out.append((valid, flags, variables))
    return out


def newest_state(disk, board):
    """The variables of the copy U-Boot and libubootenv use (the valid one with flags one ahead)."""
    c = read_state(disk, board)
    valid = [i for i in (0, 1) if c[i][0]]
    if not valid:
        return None
    if len(valid) == 2:
        d = (c[1][1] - c[0][1]) & 0xFF
        return c[1][2] if 0 < d < 0x80 else c[0][2]
    return c[valid[0]][2]


def uboot_disk(test, name="disk.img", bstate=None, boot_b=None, root_b=None):
    """A private disk for bootloader = uboot: the uboot script, slot a's group
    with the uboot word, the state (default: a good, b bad, order a b)."""
    disk = test.disk(name)
    board = test.board
    script = test.path("boot-uboot.vfat")
    if not os.path.exists(script):
        tool("mkbootfs", "script", board, script, "uboot")
    write_partition(disk, board, "boot", script)
    boot_a = test.path("boot-a-uboot.vfat")
    if not os.path.exists(boot_a):
        slot_boot_image(board, boot_a)
    write_partition(disk, board, "boot-a", boot_a)
    if boot_b:
        write_partition(disk, board, "boot-b", boot_b)
    if root_b:
        write_partition(disk, board, "root-b", root_b)
    write_state(disk, board, bstate or state())
    return disk
