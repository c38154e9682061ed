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
        # Untouched: U-Boot counts down and boots by itself (the other
        # scenarios stop the countdown and type `boot`).
        m = self.boot(firmware=True, countdown=True)
        m.expect(r"U-Boot 20\d\d\.\d\d", 60)
        m.expect(r"Hit any key to stop autoboot: +2 [\b ]+1 [\b ]+0 *\n", 30)
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


class BootloaderPowerCuts(BoardTest):
    """Cuts while U-Boot writes its state and while the CLI changes it: every
    next boot comes up on a good slot (or the trial slot with a try taken)."""

    def test_cut_while_uboot_writes_its_state(self):
        from uboot import newest_state, read_state, slot_boot_image, state, uboot_disk
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"))
        disk = uboot_disk(self, bstate=state(order="b a", b="trial", b_tries=3), boot_b=boot_b,
                          root_b=self.out("root.squashfs"))
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b on trial: writing tries left 2", 60)
        m.power_cut()
        copies = read_state(disk, self.board)
        self.assertTrue(copies[0][0] or copies[1][0], "a cut left no valid copy")
        self.assertIn(newest_state(disk, self.board)["strata_b_tries"], ("3", "2"))
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b on trial: writing tries left [12]", 60)
        m.wait_shell(120)
        self.assertIn("strata.slot=b", m.ok("cat /proc/cmdline"))
        m.send("poweroff -f\n")
        m.wait_exit(60)

    def _cut_cli(self, command, point, expect_after):
        from uboot import newest_state, slot_boot_image, state, uboot_disk, write_partition
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"), words=f"strata.crash_at={point}")
        disk = uboot_disk(self, bstate=state(order="b a", b="trial", b_tries=3), boot_b=boot_b,
                          root_b=self.out("root.squashfs"))
        m = self.boot(disk, firmware=True)
        m.wait_shell(120)
        m.send(f"strata {command}\n")
        m.expect(rf"strata.crash_at={point}: waiting for the power cut", 60)
        m.power_cut()
        # The next boot, without the crash point: a slot boots, and the command completes when repeated.
        write_partition(disk, self.board, "boot-b", slot_boot_image(self.board, self.path("boot-b2.vfat")))
        m = self.boot(disk, firmware=True)
        m.wait_shell(120)
        booted = m.ok("cat /proc/cmdline")
        self.assertRegex(booted, r"strata\.slot=[ab]")
        if "strata.slot=b" in booted:
            m.ok(f"strata {command}")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board), expect_after)

    def test_cut_during_mark_good_between_record_and_bootloader(self):
        from uboot import state
        self._cut_cli("mark-good", "state-mark-good-before-bootloader", state(order="b a", b="good"))

    def test_cut_during_rollback_between_record_and_bootloader(self):
        from uboot import state
        self._cut_cli("rollback --no-reboot", "state-rollback-before-bootloader", state(order="a b", b="bad"))




class BootloaderCounts(BoardTest):
    """[slots] bootloader = uboot: U-Boot's boot script picks the slot from
    the state pair, takes a try before it starts a slot on trial, falls back
    when the tries are used up, and passes strata.slot=; strata-init boots
    that slot and counts nothing; the CLI reads and writes the state with
    libubootenv."""

    def test_trial_group_boots_and_mark_good_keeps_it(self):
        from uboot import newest_state, slot_boot_image, state, uboot_disk
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"), words="strata.test=group-b")
        disk = uboot_disk(self, bstate=state(order="b a", b="trial", b_tries=3), boot_b=boot_b,
                          root_b=self.out("root.squashfs"))
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b on trial: writing tries left 2", 60)
        m.expect(r"strata-boot: booting slot b: .*strata\.test=group-b.*strata\.slot=b strata\.trial=2", 60)
        m.wait_shell(120)
        self.assertIn("strata.test=group-b", m.ok("cat /proc/cmdline"))
        self.assertTrue(m.seen(r"strata: .*slot b on trial: 2 boot tries left \(counted by the bootloader\)"))
        # strata-init counted nothing: the record was not written at boot.
        self.assertFalse(m.seen(r"trial-decrement"))
        out = m.ok("strata status")
        self.assertRegex(out, r"bootloader: uboot \(/dev/vda5\): order b a, slot a good, slot b trial \(2 tries left\)")
        self.assertIn("DISAGREE", out)  # the record never heard of slot b's trial
        # (Root-only bundles on a group board: test_uboot_groups.py streams one and sees it refused.)
        m.ok("strata mark-good")
        out = m.ok("strata status")
        self.assertRegex(out, r"bootloader: uboot \(/dev/vda5\): order b a, slot a good, slot b good")
        self.assertNotIn("DISAGREE", out)
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board), state(order="b a", b="good"))

        # A good slot boots with nothing written.
        with open(disk, "rb") as f:
            before = f.read()
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: booting slot b: .*strata\.slot=b", 60)
        m.wait_shell(120)
        self.assertFalse(m.seen(r"writing tries left"))
        m.send("poweroff -f\n")
        m.wait_exit(60)
        from uboot import partitions
        off, size = partitions(self.board)["bootstate"]
        with open(disk, "rb") as f:
            self.assertEqual(f.read()[off:off + size], before[off:off + size])

    def test_kernel_that_cannot_boot_falls_back_after_its_tries(self):
        from uboot import newest_state, slot_boot_image, state, uboot_disk
        # A truncated kernel: U-Boot starts it and it never reaches strata-init;
        # the host cuts the power after a while, as a board's watchdog would.
        kernel = self.path("vmlinuz-truncated")
        with open(self.out("vmlinuz"), "rb") as f:
            src = f.read()
        with open(kernel, "wb") as f:
            f.write(src[: len(src) // 3])
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"), kernel=kernel)
        disk = uboot_disk(self, bstate=state(order="b a", b="trial", b_tries=1), boot_b=boot_b,
                          root_b=self.out("root.squashfs"))
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b on trial: writing tries left 0", 60)
        m.expect(r"strata-boot: booting slot b", 60)
        try:
            m.expect(r"strata: strata-init starting|reboot: Restarting", 25, allow_panic=True)
            self.fail("a truncated kernel reached strata-init")
        except AssertionError as e:
            if "reached strata-init" in str(e):
                raise
        m.power_cut()  # the watchdog
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b is on trial with no tries left: not booted", 60)
        m.expect(r"strata-boot: booting slot a: .*strata\.slot=a .*strata\.bootfallback=b", 60)
        m.wait_shell(120)
        self.assertTrue(m.seen(r"slot b used up its boot tries without `strata mark-good`: the bootloader booted slot a"))
        out = m.ok("strata status")
        self.assertIn("boot:      DEGRADED", out)
        self.assertIn("slot b used up its boot tries", out)
        self.assertRegex(out, r"bootloader: uboot .*slot b trial \(0 tries left\)")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board)["strata_b_tries"], "0")

    def test_blank_or_torn_state_boots_slot_a_visibly(self):
        from uboot import blank_state, partitions, slot_boot_image, state, uboot_disk
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"))
        disk = uboot_disk(self, bstate=state(order="b a", b="good"), boot_b=boot_b, root_b=self.out("root.squashfs"))
        # Copy 1 torn (its last bytes never written): copy 0 is used.
        off = partitions(self.board)["bootstate"][0]
        with open(disk, "r+b") as f:
            f.seek(off + 0x10000 + 100)
            f.write(b"\xff" * 64)
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: bootloader state copy 0 .*order b a", 60)
        m.expect(r"strata-boot: booting slot b", 60)
        m.power_cut()
        # Both copies blank: slot a, visibly, nothing written.
        blank_state(disk, self.board)
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: bootloader state: no valid copy \(blank, torn or unreadable\): booting slot a, writing nothing", 60)
        m.wait_shell(120)
        self.assertTrue(m.seen(r"the bootloader found no valid copy of its state"))
        out = m.ok("strata status")
        self.assertIn("no valid state", out)
        m.send("poweroff -f\n")
        m.wait_exit(60)

    def test_initramfs_whose_init_exits_falls_back(self):
        import gzip
        import subprocess
        from uboot import newest_state, slot_boot_image, state, uboot_disk
        # The board's initramfs with one more archive whose /init exits: the kernel
        # panics (panic=-1 restarts it, and QEMU with -no-reboot stops).
        stage = self.path("bad-init")
        import os
        os.makedirs(stage)
        with open(os.path.join(stage, "init"), "w") as f:
            f.write("#!/bin/sh\necho strata-test: this init exits\nexit 1\n")
        os.chmod(os.path.join(stage, "init"), 0o755)
        cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input=b"init\n", cwd=stage,
                              check=True, capture_output=True).stdout
        initrd = self.path("initrd-bad-init")
        with open(initrd, "wb") as out:
            with open(self.out("initramfs.cpio.gz"), "rb") as f:
                out.write(f.read())
            out.write(gzip.compress(cpio))
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"), initrd=initrd)
        disk = uboot_disk(self, bstate=state(order="b a", b="trial", b_tries=1), boot_b=boot_b,
                          root_b=self.out("root.squashfs"))
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b on trial: writing tries left 0", 60)
        m.expect(r"strata-test: this init exits", 120)
        m.expect(r"Kernel panic", 60, allow_panic=True)
        m.wait_exit(60)
        m = self.boot(disk, firmware=True)
        m.expect(r"strata-boot: slot b is on trial with no tries left: not booted", 60)
        m.wait_shell(120)
        self.assertIn("strata.slot=a", m.ok("cat /proc/cmdline"))
        self.assertIn("slot b used up its boot tries", m.ok("strata status"))
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board)["strata_order"], "b a")


if __name__ == "__main__":
    unittest.main()
