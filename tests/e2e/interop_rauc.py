"""RAUC drives strata on a board booted through U-Boot ([slots] bootloader =
uboot, where a slot is a group: boot-x with kernel, initramfs and
cmdline.txt, and root-x): Debian's own rauc (1.8) in the Debian root, strata
as its custom bootloader backend, system-uboot.conf giving each rootfs slot a
boot child, and a bundle made on the host with Debian's rauc and a test CA
(tools/mkrauc --boot) holding both images. `rauc install` writes boot-b and
root-b through strata's write windows, U-Boot boots the new group on trial
(its cmdline.txt says demo.group=4), `rauc status mark-good` ends the trial in
strata's record and in U-Boot's state; a bundle never marked good falls back
after U-Boot's one try. The none-mode backend: tests/unit/test_rauc_backend.cpp
(the same transitions, root windows only) and interop_mender/interop_debian
boot this root's none-mode disk."""
from base import BoardTest
import debian
import slots


def readonly(m, dev):
    return m.ok(f"cat /sys/class/block/{dev.rsplit('/', 1)[-1]}/ro").strip()


def views(m):
    """(strata's record, U-Boot's state) as strata status --json reads them now:
    {slot: (status, tries)} each, plus the order."""
    s = slots.slots(m)
    rec, env = s["now"], s["bootloader_state"]
    return ({k: (rec[k]["status"], rec[k]["tries"]) for k in "ab"} | {"active": rec["active"]},
            {k: (env[k]["status"], env[k]["tries"]) for k in "ab"} | {"order": env["order"]},
            s["bootloader_state"]["disagreements"])


class Rauc(BoardTest):
    def start(self, disk, drive):
        return debian.boot(self, disk, drive, firmware=True)

    def test_rauc_installs_a_group_through_strata_and_uboot_and_an_unconfirmed_one_falls_back(self):
        disk = self.disk(source=debian.artifact(self.board, "disk-uboot.img"))
        drive, size = debian.file_drive(self, debian.artifact(self.board, "rauc-4.raucb"), "bundle.img")

        m = self.start(disk, drive)
        self.assertIn("Booted from: rootfs.0 (a)", m.ok("rauc status", timeout=120))
        self.assertNotIn("demo.group", m.ok("cat /proc/cmdline"))
        b = slots.slots(m)["b"]
        self.assertEqual((readonly(m, b["device"]), readonly(m, b["boot_device"])), ("1", "1"))
        debian.copy_from_drive(m, drive, size, "/run/update.raucb")
        out = m.ok("rauc install /run/update.raucb", timeout=900)
        self.assertIn("Installing `/run/update.raucb` succeeded", out)
        record, env, disagree = views(m)
        self.assertEqual(record, {"a": ("good", 0), "b": ("trial", 1), "active": "b"})
        self.assertEqual(env, {"a": ("good", 0), "b": ("trial", 1), "order": "b a"})
        self.assertEqual(disagree, [])
        # Both windows closed again when RAUC made b primary.
        self.assertEqual((readonly(m, b["device"]), readonly(m, b["boot_device"])), ("1", "1"))
        debian.reboot(m)

        # U-Boot takes b's one try and boots its new group: kernel words from boot-b.
        m = self.start(disk, drive)
        self.assertTrue(m.seen(r"strata-boot: booting slot b: .*demo\.group=4"), m.tail())
        self.assertIn("demo.group=4", m.ok("cat /proc/cmdline"))
        self.assertEqual(m.ok("cat /etc/strata-test-release").strip(), "4")
        self.assertIn("Booted from: rootfs.1 (b)", m.ok("rauc status", timeout=120))
        record, env, _ = views(m)
        self.assertEqual((record["b"][0], env["b"]), ("trial", ("trial", 0)))
        m.ok("rauc status mark-good", timeout=120)
        record, env, disagree = views(m)
        self.assertEqual(record, {"a": ("good", 0), "b": ("good", 0), "active": "b"})
        self.assertEqual(env, {"a": ("good", 0), "b": ("good", 0), "order": "b a"})
        self.assertEqual(disagree, [])

        # The same bundle into a's group, never marked good: U-Boot boots it once
        # on trial, then falls back to b, which stays good.
        debian.copy_from_drive(m, drive, size, "/run/update.raucb")
        m.ok("rauc install /run/update.raucb", timeout=900)
        record, env, _ = views(m)
        self.assertEqual((record["active"], record["a"], env["a"], env["order"]), ("a", ("trial", 1), ("trial", 1), "a b"))
        debian.reboot(m)
        m = self.start(disk, drive)
        self.assertTrue(m.seen(r"strata-boot: booting slot a: .*demo\.group=4"), m.tail())
        self.assertEqual(slots.slots(m)["booted"], "a")
        debian.reboot(m)
        m = self.start(disk, drive)
        self.assertTrue(m.seen(r"strata-boot: slot a is on trial with no tries left: not booted"), m.tail())
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["b"]["status"], s["bootloader_state"]["b"]["status"]), ("b", "good", "good"))
        self.assertNotEqual(s["now"]["a"]["status"], "good")
        self.assertIn("Booted from: rootfs.1 (b)", m.ok("rauc status", timeout=120))
