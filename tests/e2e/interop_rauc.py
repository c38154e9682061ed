"""RAUC drives strata: Debian's own rauc (1.8) in the Debian root, with
strata as its custom bootloader backend, and a bundle made on the host with
Debian's rauc and a test CA (tools/mkrauc). `rauc install` writes the slot
not running, the next boot runs it on trial, `rauc status mark-good` ends the
trial in strata's record; a bundle never marked good rolls back."""
from base import BoardTest
import debian
import slots

# One boot on trial before an unconfirmed slot counts as failed.
WORDS = "systemd.show_status=false strata.slots.tries=1"


class Rauc(BoardTest):
    def start(self, disk, drive):
        return debian.boot(self, disk, drive, WORDS)

    def test_rauc_installs_through_strata_and_an_unconfirmed_bundle_rolls_back(self):
        disk = self.disk(source=debian.artifact(self.board, "disk.img"))
        drive, size = debian.file_drive(self, debian.artifact(self.board, "rauc-4.raucb"), "bundle.img")

        m = self.start(disk, drive)
        status = m.ok("rauc status", timeout=120)
        self.assertIn("Booted from: rootfs.0 (a)", status)
        debian.copy_from_drive(m, drive, size, "/run/update.raucb")
        out = m.ok("rauc install /run/update.raucb", timeout=900)
        self.assertIn("Installing `/run/update.raucb` succeeded", out)
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"], s["b"]["tries"], s["a"]["status"]), ("b", "trial", 1, "good"))
        # The write window closed again when RAUC made b primary.
        self.assertEqual(slots.readonly(m, "b"), "1")
        debian.reboot(m)

        m = self.start(disk, drive)
        self.assertEqual(m.ok("cat /etc/strata-test-release").strip(), "4")
        self.assertIn("Booted from: rootfs.1 (b)", m.ok("rauc status", timeout=120))
        self.assertEqual(slots.slots(m)["now"]["b"]["status"], "trial")
        m.ok("rauc status mark-good", timeout=120)
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"]), ("b", "good"))

        # The same bundle into a, never marked good: one trial boot, then back on b.
        debian.copy_from_drive(m, drive, size, "/run/update.raucb")
        m.ok("rauc install /run/update.raucb", timeout=900)
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["a"]["status"]), ("a", "trial"))
        debian.reboot(m)
        m = self.start(disk, drive)
        self.assertEqual(slots.slots(m)["booted"], "a")
        debian.reboot(m)
        m = self.start(disk, drive)
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["a"]["status"], s["now"]["b"]["status"]), ("b", "bad", "good"))
        self.assertIn("Booted from: rootfs.1 (b)", m.ok("rauc status", timeout=120))
