#!/usr/bin/env python3
"""strata benchmarks (issue 6): boot time of three first stages side by side,
strata-init's own stage timings, and sizes. Run through tools/bench.

Not a test: nothing here judges a number. It exits non-zero only when a boot
did not reach the marker (a broken variant must not pass as a fast one).

Boot time is measured in QEMU virtual time (-icount shift=3,sleep=off): the
guest clock counts instructions, whatever the host's speed. With the device
tree seeds and the RTC pinned and the guest's idle loop polling (see
PIN_INPUTS and WORDS_ICOUNT below), the kernel's part of the boot repeats to
the microsecond; disk waits leave a spread of a few ms. The three variants
share the kernel, the
modules (tools/modorder.py via tools/mkinitramfs), BusyBox, the root image
and the disk; only /init differs:

  strata  strata-init, with tests/bench/strata.ini
  script  tests/bench/script-init, a BusyBox sh /init doing the same job
  floor   tests/bench/floor-init.c, the bare system calls of that job

The root image's /sbin/init is tests/bench/marker-init.c: it writes a marker
to /dev/kmsg and powers off. Measured from the kernel's timestamps:
kernel start (0) -> "Run /init as init process" -> the marker.
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
import report  # noqa: E402
import sizes  # noqa: E402
from machine import BootError, Machine  # noqa: E402  (the e2e tests' QEMU console driver)

# Virtual time: the guest clock counts instructions, 2^3 ns each.
ICOUNT = "-icount shift=3,sleep=off"
# With icount alone the runs still differ. Two inputs change from boot to
# boot: QEMU's virt machine puts fresh random kaslr-seed/rng-seed values in
# the device tree, and the RTC reads the host's clock. Pinned here, the
# kernel's part of the boot repeats to the microsecond.
PIN_INPUTS = "-rtc base=2024-01-01T00:00:00,clock=vm"
PIN_VIRT = "-machine dtb-randomness=off"  # a property of -M virt only
# nohlt: the guest's idle loop polls instead of sleeping in WFI. With
# sleep=off a sleeping vCPU makes QEMU jump the clock to the next timer
# deadline, over and over until the host has completed a disk read: one read
# then costs up to seconds of virtual time, differently in every run (seen:
# 66 s for strata's device stage, 12 s for the script's partition scan).
# Polling turns a disk wait into the instructions run while waiting.
WORDS_ICOUNT = "printk.time=1 nohlt"
# The wall-clock cross-check boots the board as it is, with timestamps.
WORDS_WALL = "printk.time=1"
VARIANTS = [
    # key, label for the tables, what /init is
    ("strata", "strata-init"),
    ("script", "BusyBox script"),
    ("floor", "floor (bare syscalls)"),
    # The same floor loading only the modules this job needs (storage, squashfs, overlay), as strata-init does.
    ("floor_needed", "floor, needed modules only"),
    # The same strata-init and job with the lower through dm-verity (every block checked before mounting).
    ("verity", "strata-init + dm-verity"),
    # strata-init's initramfs with other compressors (the kernel's CONFIG_RD_*): the unpack time.
    ("strata_lz4", "strata-init, initramfs lz4"),
    ("strata_zstd", "strata-init, initramfs zstd"),
    ("strata_none", "strata-init, initramfs uncompressed"),
    # strata-init's boot as a flashed board boots: Debian's U-Boot as the
    # firmware loads the kernel and initramfs from the disk's boot-a.
    ("strata_uboot", "strata-init through U-Boot"),
]
COMPRESSED = {"strata_lz4": "lz4", "strata_zstd": "zstd", "strata_none": "none"}
FIRMWARE = {"strata_uboot"}
MARKER = r"strata-bench: marker"
# marker-init's counter: the ARM generic timer since the machine started (firmware included).
COUNTER = r"strata-bench: marker: real init reached \(counter (\d+) at (\d+) Hz\)"
FAILED = r"strata-bench: FAILED[^\n]*|strata: BOOT FAILED[^\n]*"
TS = r"\[\s*(\d+)\.(\d{6})\] "


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    """Runs a host command; its output goes to stderr (stdout is the report)."""
    subprocess.run(cmd, check=True, stdout=sys.stderr, cwd=TOP, **kw)


# ---------------------------------------------------------------- board and host

def load_board(board):
    """The board's variables, as tools/lib.sh's load_board sets them."""
    names = ["BOARD_PRESET", "BOARD_DEB_ARCH", "BOARD_QEMU", "BOARD_QEMU_ARGS", "BOARD_CMDLINE", "OUT", "SYSROOT", "KERNEL_VERSION",
             "BOARD_MODULES"]
    script = '. "$1/tools/lib.sh"; load_board "$2"; printf "%s\\0" ' + " ".join(f'"${n}"' for n in names)
    out = subprocess.run(["bash", "-c", script, "bench", TOP, board], check=True, capture_output=True, text=True).stdout
    return dict(zip(names, out.split("\0")))


def cross_compiler(preset):
    """The board's C compiler, as CMake found it for tools/build-board's build."""
    for path in sorted(glob.glob(os.path.join(TOP, "build", preset, "CMakeFiles", "*", "CMakeCCompiler.cmake"))):
        with open(path) as f:
            m = re.search(r'^set\(CMAKE_C_COMPILER "([^"]+)"\)', f.read(), re.M)
        if m:
            return m.group(1)
    sys.exit(f"bench: no C compiler recorded in build/{preset}/CMakeFiles: run tools/build-board first")


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return out.splitlines()[0].strip() if out else ""
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def host_info(board_vars, cc):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith(("model name", "Model")):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    with open(os.path.join(board_vars["OUT"], "VERSIONS")) as f:
        for line in f:
            m = re.match(r"Package: (\S+) Version: (\S+)", line)
            if m:
                versions[m.group(1)] = m.group(2)
    kernel_pkg = next((k for k in versions if k.startswith("linux-image")), None)
    git = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git or "unknown",
        "host_cpu": cpu,
        "host_nproc": os.cpu_count(),
        "host_kernel": platform.release(),
        "qemu": first_line([board_vars["BOARD_QEMU"], "--version"]),
        "kernel": f"{board_vars['KERNEL_VERSION']} ({kernel_pkg} {versions.get(kernel_pkg, '?')})" if kernel_pkg
                  else board_vars["KERNEL_VERSION"],
        "busybox": versions.get("busybox-static", "unknown"),
        "cross_compiler": f"{os.path.basename(cc)} {first_line([cc, '-dumpfullversion'])}",
    }


# ---------------------------------------------------------------- build

def build_artifacts(board, bv, cc, work):
    """The benchmark's own images in out/<board>/bench/: guest programs, root
    image with the marker init, disk, one initramfs per variant."""
    os.makedirs(work, exist_ok=True)
    # A private copy: others may rebuild out/<board> while this runs.
    strata_init = os.path.join(work, "strata-init")
    shutil.copy2(os.path.join(bv["OUT"], "strata-init"), strata_init)
    extra = os.path.join(work, "rootfs-extra")
    shutil.rmtree(extra, ignore_errors=True)
    os.makedirs(os.path.join(extra, "sbin"))
    cflags = ["-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror"]
    marker = os.path.join(extra, "sbin", "init")
    floor = os.path.join(work, "floor-init")
    run([cc, *cflags, "-o", marker, os.path.join(HERE, "marker-init.c")])
    run([cc, *cflags, "-o", floor, os.path.join(HERE, "floor-init.c")])
    floor_needed = os.path.join(work, "floor-needed-init")
    needed = job_modules(bv["BOARD_MODULES"].split())
    run([cc, *cflags, f'-DONLY_FOR="{",".join(needed)}"', "-o", floor_needed, os.path.join(HERE, "floor-init.c")])
    tools = os.path.join(TOP, "tools")
    root = os.path.join(work, "root.squashfs")
    disk = os.path.join(work, "disk.img")
    # One image for every variant: the verity tree after the squashfs is unused by the others.
    run([os.path.join(tools, "mkrootfs"), "--verity", board, root, "squashfs", "1", extra])
    config = os.path.join(HERE, "strata.ini")
    with open(root + ".verity") as f:
        verity_line = f.read().strip()
    verity_config = os.path.join(work, "strata-verity.ini")
    with open(config) as f, open(verity_config, "w") as out:
        text = f.read()
        out.write(text.replace("[root]\n", f"[root]\nverity = required\nverity_params = {verity_line}\n", 1))
    inits = {"strata": strata_init, "script": os.path.join(HERE, "script-init"), "floor": floor,
             "floor_needed": floor_needed, "verity": strata_init}
    inits.update({key: strata_init for key in COMPRESSED})
    configs = {"verity": verity_config}
    initrds = {}
    for key, init in inits.items():
        initrds[key] = os.path.join(work, f"{key}.cpio.{COMPRESSED.get(key, 'gzip')}")
        env = dict(os.environ, STRATA_INITRAMFS_COMPRESS=COMPRESSED.get(key, "gzip"))
        run([os.path.join(tools, "mkinitramfs"), board, init, initrds[key], configs.get(key, config)], env=env)
    # Through U-Boot: the same kernel and strata-init initramfs on boot-a, the
    # boot script (bootloader = none) on boot, the same kernel words. One disk
    # for every variant; the direct boots never read those two partitions.
    for key in FIRMWARE:
        initrds[key] = initrds["strata"]
        inits[key] = strata_init
    boot_script, boot_a = os.path.join(work, "boot.vfat"), os.path.join(work, "boot-a.vfat")
    run([os.path.join(tools, "mkbootfs"), "script", board, boot_script, "none"])
    run([os.path.join(tools, "mkbootfs"), "slot", board, boot_a, bv_out(board, "vmlinuz"), initrds["strata"],
         *WORDS_ICOUNT.split()])
    run([os.path.join(tools, "mkdisk"), board, disk, f"root-a={root}", f"boot={boot_script}", f"boot-a={boot_a}"])
    return {"disk": disk, "root": root, "initrds": initrds, "inits": inits, "verity": verity_line,
            "floor_needed_modules": needed}


def bv_out(board, name):
    return os.path.join(TOP, "out", board, name)


def job_modules(board_modules):
    """The board modules the benchmark's job needs: the storage ones, squashfs
    (the lower) and overlay (tmpfs upper). The rule of init/core/module_plan.cpp
    (module_need): filesystems, loop, device-mapper and SHA-256 load on demand,
    the rest before the probe. The boots check that strata-init loaded the
    same modules (modules_loaded in the results)."""
    on_demand = {"squashfs", "erofs", "ext4", "ext2", "ext3", "f2fs", "btrfs", "xfs", "vfat", "fat", "exfat", "jffs2",
                 "ubifs", "nilfs2", "overlay", "loop"}
    out = []
    for m in board_modules:
        n = m.replace("-", "_")
        if n in ("squashfs", "overlay") or not (n in on_demand or n.startswith(("dm_", "sha2", "sha256"))):
            out.append(n)
    return out


# ---------------------------------------------------------------- boots

def usec(m):
    return int(m.group(1)) * 1_000_000 + int(m.group(2))


def parse_console(text):
    """Kernel timestamps (µs) of /init and the marker, strata's stage lines."""
    r = {}
    m = re.search(TS + r"Run /init as init process", text)
    r["init_us"] = usec(m) if m else None
    m = re.search(TS + MARKER, text)
    r["marker_us"] = usec(m) if m else None
    # Machine start -> the marker on the generic timer, minus the kernel's own
    # clock at the marker: the time before the kernel started its clock.
    m = re.search(COUNTER, text)
    if m and r["marker_us"] is not None:
        r["machine_to_marker_us"] = int(m.group(1)) * 1_000_000 // int(m.group(2))
        r["firmware_us"] = r["machine_to_marker_us"] - r["marker_us"]
    # U-Boot's autoboot countdown (bootdelay of its default environment).
    m = re.search(r"Hit any key to stop autoboot:\s+(\d+)", text)
    if m:
        r["bootdelay_s"] = int(m.group(1))
    # "strata: stage modules: 2090 ms" (the summary lines, not the
    # "stage modules: 12 modules, 0 problems, ..." progress line).
    r["stages"] = {s: int(ms) for s, ms in re.findall(r"strata: stage ([\w-]+): (\d+) ms\s*$", text, re.M)}
    # The end of module loading: strata-init's progress line, the marker the
    # script and the floor write.
    m = re.search(TS + r"(strata: stage modules: \d+ modules|strata-bench: modules loaded)", text)
    r["modules_us"] = usec(m) if m else None
    m = re.search(r"strata: stage modules: (\d+) modules", text)
    r["modules_count"] = int(m.group(1)) if m else None
    # strata-init's on-demand modules, and each module's load time ("strata: module PATH: N.NNN ms").
    m = re.search(r"strata: stage modules-needed: (\d+) modules for ([^,]+(?:, [^,]+)*?), \d+ problems", text)
    if m:
        r["modules_count"] = (r["modules_count"] or 0) + int(m.group(1))
        r["modules_needs"] = m.group(2)
    r["module_ms"] = {os.path.basename(p): float(ms) for p, ms in re.findall(r"strata: module (\S+): ([\d.]+) ms", text)}
    # The end of all module loading, for strata-init on demand: its modules-needed line.
    m = re.search(TS + r"strata: stage modules-needed: ", text)
    r["modules_needed_us"] = usec(m) if m else None
    # strata-init's verity check: "dm-verity: ... verified (N blocks, root ..., M ms)".
    m = re.search(r"strata: dm-verity: .* verified \((\d+) blocks, root [0-9a-f.]+, (\d+) ms\)", text)
    if m:
        r["verity_blocks"], r["verity_check_ms"] = int(m.group(1)), int(m.group(2))
    # strata-init's landmarks: its first log line, the last stage summary
    # line (the status file and the switch follow), the switch done.
    for key, pattern in (("strata_start_us", r"strata: strata-init starting"),
                         ("strata_stages_logged_us", r"strata: stage \w+: \d+ ms\s*$"),
                         ("strata_switched_us", r"strata: root switched")):
        found = list(re.finditer(TS + pattern, text, re.M))
        r[key] = usec(found[-1]) if found else None
    return r


def boot_once(board, art, key, mode, n, timeout, logdir):
    """One boot to the marker. Returns the parsed timings or {'error': ...}."""
    logfile = os.path.join(logdir, f"{mode}-{key}-{n}.log")
    if os.path.exists(logfile):
        os.remove(logfile)
    m = Machine(board, art["disk"], words=art["words"][mode], initrd=art["initrds"][key], log=logfile,
                qemu_extra=art["qemu_extra"][mode], firmware=key in FIRMWARE)
    t0 = time.monotonic()
    result = {"log": os.path.relpath(logfile, TOP)}
    try:
        m.start()
        hit = m.expect(f"{MARKER}|{FAILED}", timeout=timeout)
        if "FAILED" in hit.group(0):
            raise BootError(hit.group(0))
        m.wait_exit(timeout=60)  # the marker init powers off: QEMU exits by itself
        result.update(parse_console(m.buf))
        if result["init_us"] is None or result["marker_us"] is None:
            raise BootError("no kernel timestamps on the console for /init or the marker")
        if m.seen(r"strata: DEGRADED BOOT"):
            # Reached the marker, but by another road than the job measured.
            raise BootError("strata-init reported a degraded boot")
    except BootError as e:
        result["error"] = str(e).splitlines()[0]
    finally:
        m.close()
    result["wall_s"] = round(time.monotonic() - t0, 2)
    status = result.get("error") or f"/init -> marker {(result['marker_us'] - result['init_us']) / 1000:.1f} ms"
    log(f"{mode} {key} run {n}: {status} ({result['wall_s']} s wall)")
    return result


def summarise(runs):
    """Per variant: the numbers (ms) and whether the runs agree."""
    ok = [r for r in runs if "error" not in r]
    s = {"runs": len(runs), "ok": len(ok), "errors": [r["error"] for r in runs if "error" in r]}
    if not ok:
        return s
    metrics = {
        "kernel_to_init_ms": [r["init_us"] / 1000 for r in ok],
        "init_to_marker_ms": [(r["marker_us"] - r["init_us"]) / 1000 for r in ok],
        "kernel_to_marker_ms": [r["marker_us"] / 1000 for r in ok],
    }
    if all(r.get("firmware_us") is not None for r in ok):
        metrics["firmware_to_kernel_ms"] = [r["firmware_us"] / 1000 for r in ok]
        metrics["machine_to_marker_ms"] = [r["machine_to_marker_us"] / 1000 for r in ok]
    if all(r.get("modules_us") for r in ok):
        metrics["init_to_modules_ms"] = [(r["modules_us"] - r["init_us"]) / 1000 for r in ok]
        metrics["modules_to_marker_ms"] = [(r["marker_us"] - r["modules_us"]) / 1000 for r in ok]
    for name, values in metrics.items():
        s[name] = {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}
    stages = {}
    for r in ok:
        for st, ms in r["stages"].items():
            stages.setdefault(st, []).append(ms)
    s["stages"] = {st: {"median": statistics.median(v), "min": min(v), "max": max(v), "values": v}
                   for st, v in stages.items()}
    # Stretches between strata-init's landmarks (medians, ms).
    for name, a, b in (("init_to_strata_start_ms", "init_us", "strata_start_us"),
                       ("stages_logged_to_switched_ms", "strata_stages_logged_us", "strata_switched_us"),
                       ("switched_to_marker_ms", "strata_switched_us", "marker_us")):
        values = [(r[b] - r[a]) / 1000 for r in ok if r.get(a) and r.get(b)]
        if values:
            s[name] = statistics.median(values)
    per_module = {}
    for r in ok:
        for name, ms in r.get("module_ms", {}).items():
            per_module.setdefault(name, []).append(ms)
    if per_module:
        s["module_ms"] = {name: statistics.median(v) for name, v in per_module.items()}
    if ok[0].get("bootdelay_s") is not None:
        s["bootdelay_s"] = ok[0]["bootdelay_s"]
    if ok[0].get("modules_needs"):
        s["modules_needs"] = ok[0]["modules_needs"]
    if ok[0].get("modules_count") is not None:
        s["modules_count"] = ok[0]["modules_count"]
    checks = [r["verity_check_ms"] for r in ok if "verity_check_ms" in r]
    if checks:
        s["verity_check_ms"] = statistics.median(checks)
        s["verity_blocks"] = ok[0].get("verity_blocks")
    s["identical"] = len(ok) >= 2 and all(
        (r["init_us"], r["marker_us"], r["stages"]) == (ok[0]["init_us"], ok[0]["marker_us"], ok[0]["stages"]) for r in ok)
    return s


def run_boots(board, art, mode, runs, timeout, logdir):
    """Runs every variant `runs` times, interleaved (a, b, c, a, b, c, ...)."""
    results = {key: [] for key, _ in VARIANTS}
    for n in range(1, runs + 1):
        for key, _ in VARIANTS:
            results[key].append(boot_once(board, art, key, mode, n, timeout, logdir))
    return {key: {"summary": summarise(rs), "runs": rs} for key, rs in results.items()}


# ---------------------------------------------------------------- updates in the guest

def update_in_guest(board, bv, cc, work, logdir, qemu_extra, image_mib, reps, timeout, words=WORDS_ICOUNT,
                    tag="icount"):
    """`strata update -` inside the board under QEMU (virtual time, like the
    boots) against its parts alone: the same bundle bytes through the same
    pipe (`tail | head` from a raw drive) into tests/bench/stream-bench.c,
    which only reads them, hashes them (OpenSSL's SHA-256, the engine strata
    links) or writes them to the idle slot's partition and fsyncs (the
    device's plain write). Page cache dropped before each run."""
    from slots import Tape  # the e2e tests' bundle drive (tests/e2e/slots.py)
    import random
    triplet = os.path.basename(cc)[:-len("-gcc")]
    sysroot = bv["SYSROOT"]
    sb = os.path.join(work, "stream-bench")
    run([cc, "-static", "-O2", "-s", "-Wall", "-Wextra", "-Werror", f"-I{sysroot}/usr/include",
         f"-I{sysroot}/usr/include/{triplet}", "-o", sb, os.path.join(HERE, "stream-bench.c"),
         f"-L{sysroot}/usr/lib/{triplet}", "-lcrypto"])
    # Root images of incompressible bytes (squashfs stores them as they are), one bundle per run.
    # Built again only when the size or the board's key changed (mksquashfs of random bytes takes minutes).
    extra = os.path.join(work, "update-extra")
    stamp = os.path.join(work, "update-bundles.stamp")
    with open(bv_out(board, os.path.join("keys", "update.pub"))) as f:
        want = f"{image_mib} MiB, {reps} bundles, key {f.read().strip()}"
    bundles = [os.path.join(work, f"update-v{n + 2}.bundle") for n in range(reps)]
    if not os.path.exists(stamp) or open(stamp).read() != want or not all(map(os.path.exists, bundles)):
        shutil.rmtree(extra, ignore_errors=True)
        os.makedirs(os.path.join(extra, "opt"))
        with open(os.path.join(extra, "opt", "payload.bin"), "wb") as f:
            f.write(random.Random(15).randbytes(image_mib << 20))
        for n, path in enumerate(bundles):
            run([os.path.join(TOP, "tools", "mkbundle"), board, str(n + 2), path, extra])
        with open(stamp, "w") as f:
            f.write(want)
    tape = Tape(os.path.join(work, "update-tape.img"), bundles + [sb])
    disk = os.path.join(work, "update-disk.img")
    shutil.copyfile(bv_out(board, "disk.img"), disk)
    logfile = os.path.join(logdir, f"update-{tag}.log")
    if os.path.exists(logfile):
        os.remove(logfile)
    m = Machine(board, disk, words=words, drives=[tape.path], log=logfile, qemu_extra=qemu_extra)
    result = {"qemu_extra": qemu_extra, "image_mib": image_mib, "bundle_bytes": [os.path.getsize(b) for b in bundles], "log":
              os.path.relpath(logfile, TOP), "runs": []}
    t0 = time.monotonic()
    try:
        m.start()
        m.wait_shell(timeout)
        m.ok(f"{tape.stream(reps)} > /tmp/stream-bench && chmod +x /tmp/stream-bench", timeout)
        dev = m.ok("for d in /sys/class/block/*; do grep -qx PARTNAME=root-b $d/uevent && echo /dev/${d##*/}; done; true")
        dev = dev.strip()
        result["device"] = dev
        # The bundle from RAM: BusyBox's tail | head from the drive moves ~1 MiB/s here and
        # would be all the measurement shows. A tmpfs of its own (the board's /tmp is on
        # the data partition).
        m.ok("mkdir -p /run/bench && mount -t tmpfs -o size=128m bench /run/bench", timeout)
        bundle = "/run/bench/update.bundle"
        drop = "sync; echo 3 > /proc/sys/vm/drop_caches"
        line = r"stream-bench \w+: (\d+) bytes in ([\d.]+) s"
        for n in range(reps):
            r = {}
            start, length = tape.entries[n]
            if start % 4096 == 0 and length % 4096 == 0:
                get = f"dd if={tape.device()} of={bundle} bs=4096 skip={start // 4096} count={length // 4096} 2>/dev/null"
            else:
                get = f"{tape.stream(n)} > {bundle}"
            m.ok(get, timeout)
            for mode, cmd in (("read", "/tmp/stream-bench read"), ("hash", "/tmp/stream-bench hash"),
                              ("write", f"/tmp/stream-bench write {dev}")):
                pre = f"blockdev --setrw {dev} && " if mode == "write" else ""
                post = f"; blockdev --setro {dev}" if mode == "write" else ""
                out = m.ok(f"{pre}{drop}; {cmd} < {bundle}{post}", timeout)
                found = re.search(line, out)
                if not found:
                    raise BootError(f"no stream-bench line in: {out}")
                r[mode + "_s"], r[mode + "_bytes"] = float(found.group(2)), int(found.group(1))
            # The update's own figure (streaming: read, hash, write, fsync) and the whole command.
            out = m.ok(f"{drop}; read a b < /proc/uptime; strata update - < {bundle}; read c d < /proc/uptime; "
                       "echo uptime $a $c", timeout)
            found = re.search(r"update done: version \S+ in slot \w \(([\d.]+) MiB in ([\d.]+) s", out)
            up = re.search(r"uptime ([\d.]+) ([\d.]+)", out)
            if not found or not up:
                raise BootError(f"strata update did not report its speed: {out}")
            r["update_mib"], r["update_s"] = float(found.group(1)), float(found.group(2))
            r["update_total_s"] = float(up.group(2)) - float(up.group(1))
            log(f"update in the guest ({tag}), run {n + 1}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k.endswith("_s")))
            result["runs"].append(r)
        m.send("poweroff -f\n")
        m.wait_exit(60)
    except (BootError, AssertionError) as e:
        result["error"] = str(e).splitlines()[0]
        log(f"update in the guest failed: {result['error']} (see {result['log']})")
    finally:
        m.close()
    result["wall_s"] = round(time.monotonic() - t0, 1)
    return result


# ---------------------------------------------------------------- sizes

def size_report(board, bv, art):
    """Binaries per built architecture, the link-map breakdown of a build of
    the same sources with -Wl,-Map, the initramfs of each variant."""
    out = {"binaries": [], "breakdown": None, "initramfs": {}}
    # The benchmarked binary, then the target builds for other architectures
    # (tools/build-board builds one per preset; build/host is not a target,
    # build/bench-* are this script's own).
    board_arch = sizes.elf_info(art["inits"]["strata"])["machine"]
    candidates = [(f"out/{board}/strata-init", art["inits"]["strata"])]
    for preset in sorted(os.listdir(os.path.join(TOP, "build"))):
        if preset in ("host", "sysroot") or preset.startswith("bench-"):
            continue
        candidates.append((f"build/{preset}/init/pid1/strata-init",
                           os.path.join(TOP, "build", preset, "init", "pid1", "strata-init")))
    for label, path in candidates:
        if not os.path.isfile(path):
            continue
        info = sizes.elf_info(path)
        if info["machine"] in (None, "x86_64") or (label.startswith("build/") and info["machine"] == board_arch):
            continue
        info["label"] = label
        info["path"] = os.path.relpath(path, TOP)
        info["built"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(path)))
        out["binaries"].append(info)

    # The same build as the board's preset, plus a link map. A separate build
    # dir so the board's own build is not touched.
    preset = bv["BOARD_PRESET"]
    bdir = os.path.join(TOP, "build", f"bench-{preset}")
    mapfile = os.path.join(bdir, "strata-init.map")
    try:
        for cmd in (["cmake", "--preset", preset, "-B", bdir, "-DSTRATA_TESTS=OFF", "-DSTRATA_FUZZ=OFF",
                     f"-DCMAKE_EXE_LINKER_FLAGS=-Wl,-Map={mapfile}"],
                    ["cmake", "--build", bdir, "--target", "strata-init"]):
            p = subprocess.run(cmd, cwd=TOP, capture_output=True, text=True)
            if p.returncode != 0:
                sys.stderr.write(p.stdout + p.stderr)
                raise subprocess.CalledProcessError(p.returncode, cmd)
        binary = os.path.join(bdir, "init", "pid1", "strata-init")
        b = sizes.parse_link_map(mapfile)
        b["bytes"] = os.path.getsize(binary)
        b["shipped_bytes"] = os.path.getsize(art["inits"]["strata"])
        b["sha256_equal"] = sha256(binary) == sha256(art["inits"]["strata"])
        b["arch"] = sizes.elf_info(binary)["machine"]
        b["map"] = os.path.relpath(mapfile, TOP)
        b["elf_overhead"] = b["bytes"] - sum(b["components"].values()) - b["linker_generated"]
        out["breakdown"] = b
    except subprocess.CalledProcessError as e:
        log(f"link-map build failed ({e}); no size breakdown this time")
        out["breakdown_error"] = str(e)

    labels = {"strata": "strata-init", "script": "/init script", "floor": "floor /init", "floor_needed": "floor /init",
              "verity": "strata-init"}
    labels.update({key: "strata-init" for key in COMPRESSED})
    for key, _ in VARIANTS:
        if key in FIRMWARE:
            continue  # the strata-init variant's initramfs, booted another way
        out["initramfs"][key] = sizes.initramfs_breakdown(art["initrds"][key], labels[key])
    board_initrd = os.path.join(bv["OUT"], "initramfs.cpio.gz")
    if os.path.exists(board_initrd):
        out["initramfs"]["board"] = sizes.initramfs_breakdown(board_initrd, "strata-init")
    return out


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("board", nargs="?", default="qemu-aarch64")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)),
                    help="virtual-time boots per variant (at least 2; default 3)")
    ap.add_argument("--wall-runs", type=int, default=int(os.environ.get("BENCH_WALL_RUNS", 0)),
                    help="also boot each variant N times without icount, in the host's wall-clock time "
                         "(noisy; TCG translation cost counts there; default 0)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("BENCH_TIMEOUT", 300)),
                    help="seconds one boot may take on the host before it counts as failed")
    ap.add_argument("--update-mib", type=int, default=int(os.environ.get("BENCH_UPDATE_MIB", 32)),
                    help="MiB of the root image `strata update` streams inside the guest (0: skip; default 32)")
    ap.add_argument("--update-runs", type=int, default=int(os.environ.get("BENCH_UPDATE_RUNS", 2)),
                    help="updates (each after its baselines) in the one guest boot (default 2)")
    ap.add_argument("--json", help="default: out/BOARD/bench.json")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    if args.runs < 2:
        ap.error("--runs must be at least 2: the point is to show that the numbers repeat")

    t_start = time.monotonic()
    bv = load_board(args.board)
    cc = cross_compiler(bv["BOARD_PRESET"])
    work = os.path.join(bv["OUT"], "bench")
    logdir = os.path.join(work, "logs")
    shutil.rmtree(logdir, ignore_errors=True)  # no console logs of an earlier run
    os.makedirs(logdir)

    log(f"building the benchmark images in {os.path.relpath(work, TOP)}")
    art = build_artifacts(args.board, bv, cc, work)
    # How each kind of boot is run, recorded with the results.
    qemu_icount = " ".join([ICOUNT, PIN_INPUTS] + ([PIN_VIRT] if re.search(r"-M\s+virt\b", bv["BOARD_QEMU_ARGS"]) else []))
    art["qemu_extra"] = {"icount": qemu_icount, "wall": ""}
    art["words"] = {"icount": WORDS_ICOUNT, "wall": WORDS_WALL}
    data = {"board": args.board, "env": host_info(bv, cc), "variants": dict(VARIANTS),
            "floor_needed_modules": art["floor_needed_modules"]}
    log(f"{args.runs} virtual-time boots per variant ({qemu_icount}; kernel: {WORDS_ICOUNT})")
    data["icount"] = {"qemu_args": f"{bv['BOARD_QEMU']} {bv['BOARD_QEMU_ARGS']} {qemu_icount}",
                      "kernel_cmdline": f"{bv['BOARD_CMDLINE']} {WORDS_ICOUNT}",
                      "results": run_boots(args.board, art, "icount", args.runs, args.timeout, logdir)}
    if args.wall_runs > 0:
        log(f"{args.wall_runs} wall-clock boots per variant (no icount)")
        data["wall"] = {"qemu_args": f"{bv['BOARD_QEMU']} {bv['BOARD_QEMU_ARGS']}",
                        "kernel_cmdline": f"{bv['BOARD_CMDLINE']} {WORDS_WALL}",
                        "results": run_boots(args.board, art, "wall", args.wall_runs, args.timeout, logdir)}
    if args.update_mib > 0:
        log(f"`strata update` of a {args.update_mib} MiB image inside the guest, {args.update_runs} runs")
        data["guest_update"] = update_in_guest(args.board, bv, cc, work, logdir, qemu_icount, args.update_mib,
                                               args.update_runs, args.timeout)
        # The same without -icount, with two vCPUs (multi-threaded TCG): the host's real time, where
        # the update's threads can run at once. Noisy (a shared host), but it shows the overlap.
        data["guest_update_smp2"] = update_in_guest(args.board, bv, cc, work, logdir, "-smp 2", args.update_mib,
                                                    args.update_runs, args.timeout, words=WORDS_WALL, tag="smp2")
    log("sizes")
    data["sizes"] = size_report(args.board, bv, art)
    data["bench_wall_s"] = round(time.monotonic() - t_start, 1)

    json_path = args.json or os.path.join(bv["OUT"], "bench.json")
    with open(json_path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    md = report.markdown(data, json_rel=os.path.relpath(json_path, TOP))
    with open(args.results, "w") as f:
        f.write(md)
    print(md)
    log(f"wrote {os.path.relpath(json_path, TOP)} and {os.path.relpath(args.results, TOP)} "
        f"in {data['bench_wall_s']} s")
    failed = [k for mode in ("icount", "wall") if mode in data
              for k, v in data[mode]["results"].items() if v["summary"]["errors"]]
    if failed:
        log(f"some boots did not reach the marker: {', '.join(sorted(set(failed)))} (see the logs in {os.path.relpath(logdir, TOP)})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
