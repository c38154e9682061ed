"""Group updates through U-Boot ([slots] bootloader = uboot): `strata update`
of a bundle holding a slot's boot image (kernel, initramfs, cmdline.txt) and
its root image, streamed from a "tape" drive. The new group boots on trial
from its own boot partition; a group whose kernel cannot boot is tried the
configured number of times and given up; a power cut at the steps of writing
a group leaves the device on the good slot."""
import atexit
import os
import shutil
import subprocess
import tempfile
import unittest

from base import BoardTest
from machine import TOP
from slots import Tape
import slots
from uboot import newest_state, slot_boot_image, state, uboot_disk, write_partition

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


class GroupUpdate(GroupTest):

    def test_group_boots_on_trial_is_kept_and_a_bad_kernel_falls_back(self):
        tape = Tape(self.path("tape.img"), [good_group(self.board), bad_kernel_group(self.board, self.tmp),
                                            slots.bundle(self.board, 2)])
        disk = uboot_disk(self)
        m = self.fboot(tape, disk)
        m.expect(r"strata-boot: booting slot a: ", 60)
        m.wait_shell(120)
        self.assertNotIn("demo.group", m.ok("cat /proc/cmdline"))
        s = self.status(m)
        boot_b = s["b"]["boot_device"]
        self.assertRegex(boot_b, r"^/dev/vd[a-z]7$")

        # A root image alone would boot under slot b's old (here: no) kernel: refused before a byte is written.
        rc, out = m.sh(f"{tape.stream(2)} | strata update -", timeout=120)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("the bundle holds a root image only", out)
        self.assertIn("nothing written", out)
        self.assertEqual(self.status(m)["now"]["b"]["status"], "bad")

        # (a) The group of version 2: boot-b and root-b written, then the trial.
        rc, out = m.sh(f"{tape.stream(0)} | strata update -", timeout=300)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, rf"writing the boot image \(\d+ bytes\) to {boot_b}")
        self.assertIn("writing the root image", out)
        self.assertIn(f"slot b's group written: boot image on {boot_b}", out)
        self.assertRegex(m.ok("strata status"), r"bootloader: uboot .*order b a, slot a good, slot b trial \(3 tries")
        slots.reboot(m)
        self.assertEqual(newest_state(disk, self.board)["strata_b"], "trial")

        m = self.fboot(tape, disk)
        m.expect(r"strata-boot: slot b on trial: writing tries left 2", 60)
        m.expect(r"strata-boot: booting slot b: .*demo\.group=2.*strata\.slot=b strata\.trial=2", 60)
        m.wait_shell(120)
        self.assertIn("demo.group=2", m.ok("cat /proc/cmdline"))
        # The initramfs is the group's own: its config copy carries the group's line.
        self.assertIn("; group 2: made by tools/mkbundle --group", m.ok("cat /run/strata/strata.ini"))
        self.assertEqual(slots.version(m), "2")
        m.ok("strata mark-good")
        slots.reboot(m)
        self.assertEqual(newest_state(disk, self.board), state(order="b a", b="good"))

        m = self.fboot(tape, disk)
        m.expect(r"strata-boot: booting slot b: .*demo\.group=2", 60)
        m.wait_shell(120)
        self.assertFalse(m.seen(r"writing tries left"))
        self.assertEqual(slots.version(m), "2")

        # (c) A valid bundle whose kernel is cut short, into slot a with 2 tries
        # (group 2's strata.slots.tries=2): U-Boot starts it twice, then gives up.
        rc, out = m.sh(f"{tape.stream(1)} | strata update -", timeout=300)
        self.assertEqual(rc, 0, out)
        self.assertIn("slot a is on trial for 2 boots", out)
        slots.reboot(m)
        for left in (1, 0):
            m = self.fboot(tape, disk)
            m.expect(rf"strata-boot: slot a on trial: writing tries left {left}", 60)
            m.expect(r"strata-boot: booting slot a: .*demo\.group=3", 60)
            try:
                m.expect(r"strata: strata-init starting", 25, allow_panic=True)
                self.fail("a truncated kernel reached strata-init")
            except slots_boot_error():
                pass
            m.power_cut()  # the watchdog
        m = self.fboot(tape, disk)
        m.expect(r"strata-boot: slot a is on trial with no tries left: not booted", 60)
        m.expect(r"strata-boot: booting slot b: .*strata\.slot=b .*strata\.bootfallback=a", 60)
        m.wait_shell(120)
        self.assertEqual(slots.version(m), "2")
        out = m.ok("strata status")
        self.assertIn("slot a used up its boot tries", out)
        self.assertRegex(out, r"bootloader: uboot .*slot a trial \(0 tries left\)")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board)["strata_a_tries"], "0")


def slots_boot_error():
    from machine import BootError
    return BootError


# The cut points, in the order a group reaches them: the boot image's steps,
# the boundary to the root image, the root's stream, and the commit point
# between the record (trial) and the bootloader state (still bad).
CUTS = ["update-boot-window-open", "update-boot-streamed-50", "update-boot-verified", "update-boot-window-closed",
        "update-streamed-50", "update-window-closed", "state-update-finish-before-bootloader"]


class GroupUpdateCuts(GroupTest):
    def test_cut_at_the_steps_of_writing_a_group(self):
        """Each boot checks the cut before it and makes the next: one boot and
        one update per point, slot a's cmdline.txt naming the crash point."""
        tape = Tape(self.path("tape.img"), [good_group(self.board)])
        disk = uboot_disk(self)
        points = CUTS + [None]
        for i, point in enumerate(points):
            words = f"strata.crash_at={point}" if point else ""
            write_partition(disk, self.board, "boot-a",
                            slot_boot_image(self.board, self.path(f"boot-a-{i}.vfat"), words=words))
            m = self.fboot(tape, disk)
            m.expect(r"strata-boot: booting slot a: ", 60)
            m.wait_shell(120)
            s = self.status(m)
            self.assertEqual(s["booted"], "a", f"after the cut at {points[i - 1] if i else None}")
            if i:
                # The bootloader never saw a half-written b as bootable.
                self.assertEqual(s["bootloader_state"]["b"]["status"], "bad", f"cut at {points[i - 1]}: {s}")
                out = m.ok("strata status")
                self.assertRegex(out, r"bootloader: uboot .*order a b, slot a good, slot b bad", points[i - 1])
            if point is None:
                break
            m.send(f"{tape.stream(0)} | strata update -\n")
            m.expect(rf"strata\.crash_at={point}: waiting for the power cut", 300)
            m.power_cut()
            st = newest_state(disk, self.board)
            self.assertEqual((st["strata_order"], st["strata_b"]), ("a b", "bad"), f"cut at {point}")
        # The cut after the record said trial left a disagreement the status names.
        self.assertIn("DISAGREE", m.ok("strata status"))
        # Repeated, the update runs to its end and the group goes on trial.
        rc, out = m.sh(f"{tape.stream(0)} | strata update -", timeout=300)
        self.assertEqual(rc, 0, out)
        m.send("poweroff -f\n")
        m.wait_exit(60)
        st = newest_state(disk, self.board)
        self.assertEqual((st["strata_order"], st["strata_b"]), ("b a", "trial"))


if __name__ == "__main__":
    unittest.main()
