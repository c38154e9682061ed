"""I/O errors under the QEMU scenarios: QEMU's blkdebug driver below the
main disk fails reads, writes or flushes at a chosen sector (or all of
them) with EIO. Helpers to find the sectors: the GPT partitions of a disk
image, and where a file of the ext4 data partition lies."""
import json
import os
import subprocess
import tempfile

SECTOR = 512
IOTYPE = {"read_aio": "read", "write_aio": "write", "flush_to_disk": "flush"}


def partitions(disk):
    """{partition name: (first sector, sectors)} from the disk's GPT."""
    out = subprocess.run(["sfdisk", "-J", disk], check=True, capture_output=True, text=True).stdout
    table = json.loads(out)["partitiontable"]
    return {p["name"]: (p["start"], p["size"]) for p in table["partitions"]}


def ext4_file_sector(disk, partition, path):
    """The disk sector holding the first byte of PATH on the ext4 filesystem in
    PARTITION (a name from partitions())."""
    start, size = partitions(disk)[partition]
    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "part.img")
        subprocess.run(["dd", f"if={disk}", f"of={image}", f"bs={SECTOR}", f"skip={start}", f"count={size}",
                        "conv=sparse", "status=none"], check=True)
        head = subprocess.run(["dumpe2fs", "-h", image], check=True, capture_output=True, text=True).stdout
        block_size = int(next(l for l in head.splitlines() if l.startswith("Block size:")).split()[-1])
        out = subprocess.run(["debugfs", "-R", f"bmap {path} 0", image], check=True, capture_output=True,
                             text=True).stdout.strip()
    block = int(out.split()[-1])
    if block == 0:
        raise AssertionError(f"{path} has no first block on {partition}")
    return start + block * block_size // SECTOR


def ext4_free_sectors(disk, partition, first, last, step):
    """Disk sectors from FIRST to LAST (disk sectors), every STEP, that lie in
    free blocks of the ext4 filesystem in PARTITION: where new data goes and
    nothing already written lies."""
    start, size = partitions(disk)[partition]
    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "part.img")
        subprocess.run(["dd", f"if={disk}", f"of={image}", f"bs={SECTOR}", f"skip={start}", f"count={size}",
                        "conv=sparse", "status=none"], check=True)
        out = subprocess.run(["dumpe2fs", image], check=True, capture_output=True, text=True).stdout
    block_size = int(next(l for l in out.splitlines() if l.startswith("Block size:")).split()[-1])
    free = []
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("Free blocks: "):
            continue
        for r in line[len("Free blocks: "):].split(","):
            r = r.strip()
            if r:
                a, _, b = r.partition("-")
                free.append((int(a), int(b or a)))
    per_block = block_size // SECTOR
    out = []
    for s in range(first, last, step):
        block = (s - start) // per_block
        if any(a <= block <= b for a, b in free):
            out.append(s)
    return out


def blkdebug(path, rules):
    """Writes a blkdebug config: each rule a dict with event (read_aio,
    write_aio, flush_to_disk: the requests of that kind fail, from the first
    such event on), optional sector, errno (default EIO) and once."""
    with open(path, "w") as f:
        for r in rules:
            f.write("[inject-error]\n")
            f.write(f'event = "{r["event"]}"\n')
            # The event only arms the rule; iotype says which requests fail.
            f.write(f'iotype = "{IOTYPE[r["event"]]}"\n')
            f.write(f'errno = "{r.get("errno", 5)}"\n')
            if "sector" in r:
                f.write(f'sector = "{r["sector"]}"\n')
            f.write(f'once = "{"on" if r.get("once") else "off"}"\n')
            f.write('immediately = "off"\n\n')
    return path


def squashfs_file_sector(disk, partition, path, other="/etc/os-release"):
    """A disk sector inside the data of PATH in the squashfs image in
    PARTITION: found by trying, on a copy of the image, to spoil one sector
    at a time (from the middle of the image outward) until unsquashfs can
    no longer read PATH while OTHER, and so the image's tables, still read."""
    start, _ = partitions(disk)[partition]
    with open(disk, "rb") as f:
        f.seek(start * SECTOR)
        head = f.read(96)
        size = int.from_bytes(head[40:48], "little")  # bytes_used
        f.seek(start * SECTOR)
        image = bytearray(f.read(size))
    if head[:4] != b"hsqs":
        raise AssertionError(f"no squashfs on {partition}")
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "root.squashfs")
        middle = len(image) // 2 // SECTOR
        for step in range(0, len(image) // SECTOR // 2, 128):
            for s in (middle + step, middle - step):
                spoiled = bytearray(image)
                spoiled[s * SECTOR:(s + 1) * SECTOR] = bytes([0x5A]) * SECTOR
                with open(copy, "wb") as out:
                    out.write(spoiled)
                bad = subprocess.run(["unsquashfs", "-cat", copy, path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode != 0
                if bad and subprocess.run(["unsquashfs", "-cat", copy, other], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL).returncode == 0:
                    return start + s
    raise AssertionError(f"no sector of {path} found in {partition}")
