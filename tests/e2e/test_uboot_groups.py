"""Group updates through U-Boot ([slots] bootloader = uboot): `strata update`
of a bundle holding a slot's boot image (kernel, initramfs, cmdline.txt) and
its root image, streamed from a "tape" drive. The new group boots on trial
from its own boot partition and mark-good keeps it; a group whose kernel
cannot boot is tried the configured number of times and given up."""
import unittest

from groups import GroupTest, bad_kernel_group, good_group
from machine import BootError
import slots
from slots import Tape
from uboot import newest_state, state, uboot_disk


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
            except BootError:
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


if __name__ == "__main__":
    unittest.main()
