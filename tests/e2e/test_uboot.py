"""Booting as a flashed board does: Debian's U-Boot as QEMU's firmware and
the disk image as the one drive (no -kernel, -initrd or -append). U-Boot's
distro boot finds the boot script on the "boot" partition, which loads the
kernel, initramfs and command line from boot-a."""
import json
import re
import time
import unittest

from base import BoardTest


class FirmwareBoot(BoardTest):
    def test_boot_from_the_disk_alone(self):
        t0 = time.monotonic()
        m = self.boot(firmware=True)
        m.expect(r"U-Boot 20\d\d\.\d\d", 60)
        m.expect(r"Found U-Boot script /boot\.scr", 60)
        m.expect(r"strata-boot: script starting \(bootloader = none\)", 30)
        m.expect(r"strata-boot: booting slot a: console=ttyAMA0", 60)
        t_kernel = time.monotonic()
        m.wait_shell(120)
        t_shell = time.monotonic()
        print(f"\n{self.board}: firmware start -> kernel {t_kernel - t0:.1f} s, -> shell {t_shell - t0:.1f} s (wall)")

        # The kernel got its command line from the disk's boot script, not from QEMU.
        cmdline = m.ok("cat /proc/cmdline")
        self.assertIn("console=ttyAMA0", cmdline)
        self.assertNotIn("strata.slot=", cmdline)  # bootloader = none: strata-init picks the slot
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertEqual(status["slots"]["booted"], "a")
        self.assertEqual(status["lower"]["device"], "/dev/vda1")
        self.assertFalse(status["degraded"], status)
        # The boot partitions are on the disk, where U-Boot found them.
        self.assertRegex(m.ok("cat /proc/partitions"), r"vda7")
        m.send("poweroff -f\n")
        m.wait_exit(60)


if __name__ == "__main__":
    unittest.main()
