"""Size analysis for tools/bench: what the static binaries and the initramfs
are made of. Python 3 standard library only.

- ELF: file size and whether a symbol table is left (stripped or not).
- GNU ld link map (-Wl,-Map): every input section that made it into the
  output, attributed to the archive or object it came from, so the binary's
  bytes split into libstdc++, glibc, libblkid, inih, ... and our own code.
- newc cpio (gzip): every member, grouped into /init, modules, BusyBox and
  the rest, unpacked bytes and an estimate of each group's compressed bytes.
"""
import gzip
import subprocess
import os
import re
import struct
import zlib

# ---------------------------------------------------------------- ELF


def elf_info(path):
    """{'bytes': file size, 'stripped': no .symtab, 'machine': e_machine name}."""
    with open(path, "rb") as f:
        data = f.read()
    info = {"path": path, "bytes": len(data), "stripped": None, "machine": None}
    if data[:4] != b"\x7fELF":
        return info
    is64, little = data[4] == 2, data[5] == 1
    e = "<" if little else ">"
    machine = struct.unpack_from(e + "H", data, 18)[0]
    info["machine"] = {0xB7: "aarch64", 0x28: "arm", 0x3E: "x86_64"}.get(machine, hex(machine))
    if is64:
        shoff, = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
    if not shoff or shstrndx >= shnum:
        info["stripped"] = True
        return info

    def section(i):
        off = shoff + i * shentsize
        if is64:
            name, typ = struct.unpack_from(e + "II", data, off)
            sh_offset, = struct.unpack_from(e + "Q", data, off + 0x18)
        else:
            name, typ = struct.unpack_from(e + "II", data, off)
            sh_offset, = struct.unpack_from(e + "I", data, off + 0x10)
        return name, typ, sh_offset

    strtab_off = section(shstrndx)[2]
    names = []
    for i in range(shnum):
        name_off = section(i)[0]
        end = data.index(b"\0", strtab_off + name_off)
        names.append(data[strtab_off + name_off:end].decode())
    info["stripped"] = ".symtab" not in names
    return info


# ---------------------------------------------------------------- link map

# Where an input section came from -> the component it is counted under.
COMPONENTS = [
    # With LTO (the static builds) our code arrives as the link-time partitions (*.ltrans.o).
    ("strata (own code)", re.compile(r"libstrata_(core|sys|ops|pid1)\.a\(|CMakeFiles/strata-init\.dir/|\.ltrans\d*\.ltrans\.o$")),
    ("OpenSSL libcrypto (SHA-256)", re.compile(r"libcrypto\.a\(")),
    ("zlib (crc32)", re.compile(r"libz\.a\(")),
    ("libstdc++", re.compile(r"libstdc\+\+\.a\(|libsupc\+\+\.a\(")),
    ("glibc", re.compile(r"/(libc|libm|libpthread|libdl|librt|libc_nonshared|libmvec)\.a\(|/crt[1in]\.o$|/[Ss]crt1\.o$")),
    ("libgcc", re.compile(r"/libgcc(_eh)?\.a\(|/crtbegin\w*\.o$|/crtend\w*\.o$")),
    ("libblkid", re.compile(r"libblkid\.a\(")),
    ("inih", re.compile(r"libinih\.a\(")),
    ("libsodium", re.compile(r"libsodium\.a\(")),
    ("linker stubs and padding", re.compile(r"^linker stubs$|^\*fill\*$")),
]
NOBITS = {".bss", ".tbss"}

OUT_SECTION = re.compile(r"^(\.?[\w.$-]+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?\s*$")
IN_SECTION = re.compile(r"^ (\.[\w.$-]+|COMMON)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+))?$")
CONTINUATION = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$")
FILL = re.compile(r"^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")


def component_of(origin):
    for name, rx in COMPONENTS:
        if rx.search(origin):
            return name
    return "other: " + os.path.basename(origin)


def object_of(origin):
    """'init/pid1/libstrata_pid1.a(boot.cpp.o)' -> 'boot.cpp'."""
    m = re.search(r"\(([^()]+)\)$", origin)
    base = m.group(1) if m else os.path.basename(origin)
    return re.sub(r"\.(o|obj)$", "", base)


def parse_link_map(path):
    """Sums the input sections of every allocated output section by component.

    Returns {'components': {name: file bytes}, 'bss': {name: bytes},
    'own_objects': {object: bytes}, 'linker_generated': bytes,
    'output_sections': {name: size}}. File bytes exclude .bss/.tbss (they take
    RAM, not room in the file); sections at address 0 are not loaded
    (.comment, debug) and are skipped.
    """
    comps, bss, own = {}, {}, {}
    out_sections = {}       # name -> (address, size)
    in_sums = {}
    started = False
    current = None          # (name, addr, size) of the output section
    pending = None          # an input section name waiting for its address line
    pending_out = None      # an output section name waiting for its address line

    def add_input(size, origin):
        if current is None or current[1] == 0 or size == 0:
            return
        comp = component_of(origin)
        target = bss if current[0] in NOBITS else comps
        target[comp] = target.get(comp, 0) + size
        in_sums[current[0]] = in_sums.get(current[0], 0) + size
        if comp.startswith("strata") and current[0] not in NOBITS:
            o = object_of(origin)
            own[o] = own.get(o, 0) + size

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            if line.startswith(("LOAD ", "OUTPUT(", "START GROUP", "END GROUP")):
                continue
            if pending_out is not None:
                m = CONTINUATION.match(line) or re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*$", line)
                if m:
                    current = (pending_out, int(m.group(1), 16), int(m.group(2), 16))
                    out_sections[pending_out] = current[1:]
                    pending_out = None
                    continue
                current = (pending_out, 0, 0)  # an empty output section
                pending_out = None
            if pending is not None:
                m = CONTINUATION.match(line)
                pending = None
                if m:
                    add_input(int(m.group(2), 16), m.group(3).strip())
                    continue
            if line and not line[0].isspace():
                m = OUT_SECTION.match(line)
                if m and m.group(2) is not None:
                    current = (m.group(1), int(m.group(2), 16), int(m.group(3), 16))
                    out_sections[m.group(1)] = current[1:]
                elif m:
                    pending_out = m.group(1)
                continue
            m = FILL.match(line)
            if m:
                add_input(int(m.group(2), 16), "*fill*")
                continue
            m = IN_SECTION.match(line)
            if m:
                if m.group(2) is None:
                    pending = m.group(1)
                else:
                    add_input(int(m.group(3), 16), m.group(4).strip())
    # What the linker made itself (.eh_frame_hdr, .got, PLT, relaxation
    # leftovers): a loaded output section's size minus its input sections.
    linker_generated = sum(max(0, size - in_sums.get(name, 0))
                           for name, (addr, size) in out_sections.items() if addr and name not in NOBITS)
    return {"components": comps, "bss": bss, "own_objects": own, "linker_generated": linker_generated,
            "output_sections": {n: s for n, (a, s) in out_sections.items() if a}}


# ---------------------------------------------------------------- initramfs

def read_cpio(path):
    """Members of a newc cpio (gzip, lz4, zstd, xz or plain): [(name, mode,
    data bytes)], and the uncompressed stream size."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as f:
            raw = f.read()
    elif head[:6] == b"070701" or head[:6] == b"070702":
        with open(path, "rb") as f:
            raw = f.read()
    else:
        # lz4 (legacy frame), zstd, xz: their own tools decompress.
        tool = {b"\x02\x21": ["lz4", "-dc"], b"\x28\xb5": ["zstd", "-dcq"], b"\xfd\x37": ["xz", "-dc"]}.get(head[:2])
        if not tool:
            raise ValueError(f"{path}: not a known compressed cpio")
        raw = subprocess.run(tool + [path], check=True, capture_output=True).stdout
    members, off = [], 0
    while off + 110 <= len(raw):
        if raw[off:off + 6] not in (b"070701", b"070702"):
            raise ValueError(f"{path}: not a newc cpio at offset {off}")
        fields = [int(raw[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        name_start = off + 110
        name = raw[name_start:name_start + namesize - 1].decode("utf-8", "replace")
        data_start = (name_start + namesize + 3) & ~3
        data = raw[data_start:data_start + filesize]
        off = (data_start + filesize + 3) & ~3
        if name == "TRAILER!!!":
            break
        members.append((name.lstrip("./") if name != "." else ".", mode, data))
    return members, len(raw)


def initramfs_breakdown(path, init_label):
    """Groups an initramfs' members: /init, kernel modules, BusyBox (binary and
    applet links), config and module list, directories and device nodes.
    'packed' is each group's data compressed alone with gzip -9: an estimate
    of its share of the real (whole-stream) compressed size."""
    members, stream = read_cpio(path)
    groups = {}

    def group_of(name, mode):
        kind = mode & 0o170000
        if name == "init":
            return init_label
        if name.startswith("lib/modules/") and name.endswith(".ko"):
            return "kernel modules"
        if name == "bin/busybox" or kind == 0o120000:
            return "BusyBox"
        if kind == 0o100000:
            return "config, module list, other files"
        return "directories, device nodes"

    for name, mode, data in members:
        g = groups.setdefault(group_of(name, mode), {"files": 0, "bytes": 0, "data": []})
        g["files"] += 1
        g["bytes"] += len(data)
        g["data"].append(data)
    total_packed = os.path.getsize(path)
    out = {"path": path, "compressed": total_packed, "cpio_stream": stream,
           "unpacked": sum(g["bytes"] for g in groups.values()), "groups": {}}
    for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["bytes"]):
        packed = len(zlib.compress(b"".join(g["data"]), 9)) if g["bytes"] else 0
        out["groups"][name] = {"files": g["files"], "bytes": g["bytes"], "packed_estimate": packed}
    return out
