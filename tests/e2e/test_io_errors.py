"""I/O errors (QEMU blkdebug, EIO) on every device strata reads or writes:
the lower while booting, the data partition (mount, the slot record's
copies, the upper), and the target slot during an update (write, flush,
read-back). Each ends in a booted good slot or a clear console message with
the documented policy, and nothing previously good is lost: the record, the
other slot, and the data in the persistent path (/var/lib/app).

The base disk is made once per class: slot b running version 2 and good,
slot a good with version 1, a marker in /var/lib/app."""
import json
import os
import unittest

from base import BoardTest
from cuts import TapeTest
import faults
import slots
from slots import version

MARKER = "/var/lib/app/io-marker"


class IoErrors(TapeTest):
    prefix = "strata-io"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = cls.fresh("base.img")
        m = cls.machine(cls.base)
        try:
            m.wait_shell()
            rc, out = m.sh(f"{cls.tape.stream(0)} | strata update -", timeout=180)
            assert rc == 0, out
            m.send("reboot\n")
            m.wait_exit(90)
        finally:
            m.close()
        m = cls.machine(cls.base)
        try:
            m.wait_shell()
            m.ok(f"strata mark-good && echo kept > {MARKER} && sync")
            m.send("reboot\n")
            m.wait_exit(90)
        finally:
            m.close()
        cls.parts = faults.partitions(cls.base)

    def disk(self, name):
        return self.copy(self.base, name)

    def boot(self, disk, rules=None, shell=True):
        conf = None
        if rules:
            conf = faults.blkdebug(os.path.join(self.dir, f"blkdebug-{self.count + 1}.conf"), rules)
        m = self.machine(disk, "", blkdebug=conf)
        self.machines.append(m)
        if shell:
            m.wait_shell()
            # The kernel's I/O error lines would land in the middle of command output.
            m.ok("dmesg -n 1")
        return m

    def sector(self, partition, offset=0):
        return self.parts[partition][0] + offset // faults.SECTOR

    def assert_intact(self, m, booted="b"):
        """Nothing good was lost: the slot booted, both slots good with their
        versions, the record whole, the persistent data there."""
        s = slots.slots(m)
        now = s["now"]
        self.assertEqual(s["booted"], booted, now)
        self.assertEqual(now["health"], "ok", now)
        self.assertEqual((now["a"]["status"], now["b"]["status"]), ("good", "good"), now)
        self.assertEqual(now["b"]["version"], "2", now)  # slot a's image came with the disk: no version recorded
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")

    # -- the lower, while booting -------------------------------------------

    def test_lower_superblock_unreadable_other_slot_boots(self):
        disk = self.disk("lower-sb.img")
        m = self.boot(disk, [{"event": "read_aio", "sector": self.sector("root-b")}])
        self.assertTrue(m.seen(r"slot b: root could not be mounted \(no filesystem found on \S+ \(PARTLABEL=root-b\): "
                               r"it could not be read: Input/output error"), m.tail())
        self.assertEqual(version(m), "1")
        s = slots.slots(m)
        self.assertEqual(s["booted"], "a")
        # A good slot that failed to mount once is not marked bad: the next boot tries it again.
        self.assertEqual((s["now"]["a"]["status"], s["now"]["b"]["status"]), ("good", "good"))
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")
        m.power_cut()
        self.assert_intact(self.boot(disk))

    def test_init_unreadable_other_slot_boots(self):
        disk = self.disk("lower-init.img")
        sector = faults.squashfs_file_sector(disk, "root-b", "/bin/busybox")
        m = self.boot(disk, [{"event": "read_aio", "sector": sector}])
        self.assertTrue(m.seen(r"slot b: root cannot be mounted: read the init /bin/busybox from the image: "
                               r"Input/output error; trying the other slot"), m.tail())
        s = slots.slots(m)
        self.assertEqual((s["booted"], version(m)), ("a", "1"))
        # As for the superblock above: b stays good for the next boot (one boot less here).
        self.assertEqual((s["now"]["a"]["status"], s["now"]["b"]["status"], s["now"]["active"]), ("good", "good", "b"))
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")

    # -- the data partition -------------------------------------------------

    def test_data_superblock_unreadable_tmpfs_upper(self):
        disk = self.disk("data-sb.img")
        # ext4's superblock: byte 1024 of the partition.
        m = self.boot(disk, [{"event": "read_aio", "sector": self.sector("data", 1024)}])
        self.assertTrue(m.seen(r"DEGRADED BOOT"), m.tail())
        status = m.ok("strata status")
        self.assertIn("upper:     tmpfs (configured: persistent)", status)
        # The record lives on the data partition: unreadable, slot a boots and nothing is written.
        self.assertEqual(slots.slots(m)["booted"], "a")
        m.power_cut()
        self.assert_intact(self.boot(disk))

    def test_record_copy_unreadable_other_copy_used(self):
        disk = self.disk("record-copy.img")
        copy0 = faults.ext4_file_sector(disk, "data", "/strata/slot-state.0")
        m = self.boot(disk, [{"event": "read_aio", "sector": copy0}])
        s = slots.slots(m)
        self.assertEqual(s["booted"], "b", m.tail())
        self.assertEqual(version(m), "2")
        self.assertIn("slot-state.0: cannot be read: Input/output error; using .1", json.dumps(s))
        self.assertEqual((s["now"]["a"]["status"], s["now"]["b"]["status"], s["now"]["active"]), ("good", "good", "b"))
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")

    def test_record_write_fails_update_refused_record_kept(self):
        disk = self.disk("record-write.img")
        sectors = [faults.ext4_file_sector(disk, "data", f"/strata/slot-state.{i}") for i in (0, 1)]
        m = self.boot(disk, [{"event": "write_aio", "sector": x} for x in sectors])
        rc, out = m.sh(f"{self.tape.stream(0)} | strata update -", timeout=180)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"slot-state\.[01].*Input/output error")
        m.power_cut()
        self.assert_intact(self.boot(disk))

    def test_copy_up_write_error_reported_lower_kept(self):
        # Where the copy-up lands: the same boot on a copy of the disk, without
        # errors (ext4's delayed allocation aims at a fixed block group, so a
        # file copied up from the same state lands in the same place).
        probe = self.disk("copy-up-probe.img")
        m = self.boot(probe)
        lower = m.ok("md5sum /usr/bin/strata").split()[0]
        m.ok("touch /usr/bin/strata && sync")
        m.power_cut()
        at = faults.ext4_file_sector(probe, "data", "/strata/upper-b/data/usr/bin/strata")
        # Writes fail in the free blocks from 2 MiB before to 4 MiB after it, every 32 KiB
        # (the 1.2 MB copy is written in larger requests): the copy-up's data cannot be written.
        disk = self.disk("copy-up.img")
        sectors = faults.ext4_free_sectors(disk, "data", at - 4096, at + 8192, 64)
        self.assertGreater(len(sectors), 100)
        m = self.boot(disk, [{"event": "write_aio", "sector": s} for s in sectors])
        rc, out = m.sh("touch /usr/bin/strata")
        # The writer is told; / still shows the lower's file, whole (nothing half copied hides it).
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Input/output error", out)
        self.assertEqual(m.ok("md5sum /usr/bin/strata").split()[0], lower)
        self.assertIn("boot:      ok", m.ok("strata status"))
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")
        m.power_cut()
        m = self.boot(disk)
        self.assert_intact(m)
        self.assertEqual(m.ok("md5sum /usr/bin/strata").split()[0], lower)
        m.ok("touch /usr/bin/strata")  # the next boot copies it up

    # -- the target slot during an update -----------------------------------

    def update_fails(self, disk, rules, message, boot_again=True):
        m = self.boot(disk, rules)
        rc, out = m.sh(f"{self.tape.stream(0)} | strata update -", timeout=180)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, message)
        now = slots.slots(m)["now"]
        self.assertEqual((now["a"]["status"], now["b"]["status"], now["active"]), ("bad", "good", "b"), now)
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")
        if not boot_again:
            return m
        m.power_cut()
        m = self.boot(disk)
        s = slots.slots(m)
        self.assertEqual((s["booted"], version(m)), ("b", "2"))
        self.assertEqual(s["now"]["a"]["status"], "bad")
        self.assertEqual(m.ok(f"cat {MARKER}").strip(), "kept")
        return m

    def test_update_write_error(self):
        disk = self.disk("update-write.img")
        self.update_fails(disk, [{"event": "write_aio", "sector": self.sector("root-a", 1 << 20)}],
                          r"fsync \S+: Input/output error; the update stops, slot a stays marked bad")

    def test_update_read_back_error(self):
        disk = self.disk("update-read.img")
        self.update_fails(disk, [{"event": "read_aio", "sector": self.sector("root-a", 1 << 20)}],
                          r"read back \S+: Input/output error; the update stops, slot a stays marked bad",
                          boot_again=False)  # the write path's test above boots again after the same refusal


class BootStateIoErrors(BoardTest):
    """[slots] bootloader = uboot, booted through U-Boot from the disk: I/O
    errors on the raw bootstate partition, where U-Boot and the CLI
    (libubootenv) keep the redundant state pair. U-Boot reads around an
    unreadable copy and says so; the CLI uses the other copy and says so;
    a write that fails leaves the copy read intact, mark-good says what
    failed, and the next boot still comes up on a good slot."""

    def uboot_disk(self, bstate):
        from uboot import slot_boot_image, uboot_disk
        boot_b = slot_boot_image(self.board, self.path("boot-b.vfat"))
        return uboot_disk(self, bstate=bstate, boot_b=boot_b, root_b=self.out("root.squashfs"))

    def copy_sector(self, disk, i):
        from uboot import COPY_OFFSET
        return faults.partitions(disk)["bootstate"][0] + COPY_OFFSET[i] // faults.SECTOR

    def boot_with(self, disk, rules):
        conf = faults.blkdebug(self.path(f"blkdebug-{len(self.machines)}.conf"), rules)
        return self.boot(disk, firmware=True, blkdebug=conf)

    def shell(self, m):
        m.wait_shell(120)
        m.ok("dmesg -n 1")  # the kernel's I/O error lines would land in the middle of command output

    def test_copy_unreadable_other_copy_used(self):
        from uboot import newest_state, read_state, state
        disk = self.uboot_disk(state(order="b a", b="good"))
        m = self.boot_with(disk, [{"event": "read_aio", "sector": self.copy_sector(disk, 1)}])
        m.expect(r"strata-boot: cannot read copy 1 of the bootloader state", 60)
        m.expect(r"strata-boot: bootloader state copy 0 .*order b a", 60)
        m.expect(r"strata-boot: booting slot b", 60)
        self.shell(m)
        out = m.ok("strata status")
        self.assertRegex(out, r"bootloader: uboot \(/dev/vda5\): order b a, slot a good, slot b good")
        self.assertIn("WARNING: copy 1 of the bootloader state on /dev/vda5 cannot be read (Input/output error): "
                      "the other copy is used", out)
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertTrue(read_state(disk, self.board)[0][0])
        self.assertEqual(newest_state(disk, self.board), state(order="b a", b="good"))

    def test_both_copies_unreadable_slot_a_boots_visibly(self):
        from uboot import newest_state, state
        disk = self.uboot_disk(state(order="b a", b="good"))
        m = self.boot_with(disk, [{"event": "read_aio", "sector": self.copy_sector(disk, i)} for i in (0, 1)])
        m.expect(r"strata-boot: cannot read copy 0 of the bootloader state", 60)
        m.expect(r"strata-boot: cannot read copy 1 of the bootloader state", 60)
        m.expect(r"strata-boot: bootloader state: no valid copy \(blank, torn or unreadable\): booting slot a", 60)
        self.shell(m)
        self.assertIn("strata.slot=a", m.ok("cat /proc/cmdline"))
        out = m.ok("strata status")
        self.assertRegex(out, r"bootloader: uboot \(/dev/vda5\): no valid state: copy 0 of the bootloader state on "
                              r"/dev/vda5 cannot be read \(Input/output error\); copy 1 .*cannot be read")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.assertEqual(newest_state(disk, self.board), state(order="b a", b="good"))  # nothing written

    def test_write_error_mark_good_says_so_next_boot_good(self):
        from uboot import newest_state, state
        # Copy 1 is the newer (flags 2): U-Boot reads it and writes its try into copy 0,
        # so the CLI then reads copy 0 and writes copy 1, where writes fail.
        disk = self.uboot_disk(state(order="b a", b="trial", b_tries=3))
        rules = [{"event": "write_aio", "sector": self.copy_sector(disk, 1)}]
        m = self.boot_with(disk, rules)
        m.expect(r"strata-boot: slot b on trial: writing tries left 2", 60)
        m.expect(r"strata-boot: booting slot b", 60)
        self.shell(m)
        rc, out = m.sh("strata mark-good")
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"mark-good failed: the slot record is written but the bootloader state is not "
                              r"\(cannot (write|flush) copy 1 of the bootloader state on /dev/vda5 \(the other copy is "
                              r"unchanged\): Input/output error\): the bootloader boots by its state as it was")
        out = m.ok("strata status")
        self.assertRegex(out, r"bootloader: uboot \(/dev/vda5\): order b a, slot a good, slot b trial \(2 tries left\)")
        m.power_cut()
        self.assertEqual(newest_state(disk, self.board), state(order="b a", b="trial", b_tries=2))
        # U-Boot cannot take the next try (its write fails): it does not start b on trial, a boots.
        m = self.boot_with(disk, rules)
        m.expect(r"strata-boot: cannot write the bootloader state: slot b not booted on trial", 60)
        m.expect(r"strata-boot: booting slot a", 60)
        self.shell(m)
        self.assertIn("strata.slot=a", m.ok("cat /proc/cmdline"))
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["a"]["status"]), ("a", "good"), s)
        m.send("poweroff -f\n")
        m.wait_exit(60)


if __name__ == "__main__":
    unittest.main()
