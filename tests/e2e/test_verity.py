"""dm-verity lowers on the real kernel: strata-init sets up the verity device
through the device-mapper ioctls, reads every block before mounting, and a
flipped byte in the image on the host disk stops that root from booting (with
slots: the other slot boots, the reason on the console and in the status)."""
import json
import os
import unittest

from base import BoardTest
import slots
from slots import Tape, reboot, version

MiB = 1 << 20


def partition_start(board, name):
    """Byte offset of a partition in the board's disk image (tools/mkdisk: 1 MiB, then in order)."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "board", board, "board.conf")) as f:
        conf = f.read()
    parts = conf.split("BOARD_PARTITIONS=", 1)[1].split("\n", 1)[0].strip("\"'").split()
    start = 1
    for p in parts:
        n, size = p.split(":")
        if n == name:
            return start * MiB
        start += int(size)
    raise KeyError(name)


def flip_byte(disk, offset):
    with open(disk, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


class Verity(BoardTest):
    def verity_image(self, version):
        img = self.path(f"root-v{version}.squashfs")
        self.tool("mkrootfs", "--verity", self.board, img, "squashfs", str(version))
        with open(img + ".verity") as f:
            return img, f.read().strip()

    def root_words(self, params, mode="required"):
        # One root, no slots: the parameters come from the command line (as from the initramfs config).
        return (f'strata.slots.mode=none strata.upper.mode=tmpfs strata.persist.paths= '
                f'strata.root.source=PARTLABEL=root-a strata.root.verity={mode} '
                f'strata.root.verity_params="{params}"')

    def test_root_boots_through_verity(self):
        img, params = self.verity_image(5)
        disk = self.path("disk.img")
        self.tool("mkdisk", self.board, disk, f"root-a={img}")
        m = self.boot(disk=disk, words=self.root_words(params))
        m.wait_shell()
        self.assertTrue(m.seen(r"strata: dm-verity: the root image verified \(\d+ blocks"), m.tail())
        st = json.loads(m.ok("cat /run/strata/status"))
        v = st["lower"]["verity"]
        self.assertEqual((v["mode"], v["used"], v["name"]), ("required", True, "strata-root"))
        self.assertEqual(v["root_hash"], params.split()[5])
        dm = os.path.basename(v["device"])
        self.assertEqual(m.ok(f"cat /sys/block/{dm}/dm/name").strip(), "strata-root")
        # The lower is that device, and the whole image reads back.
        self.assertIn(v["device"], m.ok("grep /run/strata/lower /proc/mounts"))
        self.assertIn("VERSION_ID=5", m.ok("cat /etc/os-release"))
        m.ok(f"cat {v['device']} >/dev/null")
        self.assertFalse(m.seen(r"DEGRADED"))

    def test_flipped_byte_stops_the_root_with_the_reason(self):
        img, params = self.verity_image(5)
        disk = self.path("disk.img")
        self.tool("mkdisk", self.board, disk, f"root-a={img}")
        blocks = int(params.split()[3])
        flip_byte(disk, partition_start(self.board, "root-a") + (blocks // 2) * 4096 + 123)
        m = self.boot(disk=disk, words=self.root_words(params))
        m.expect(r"BOOT FAILED \(attempt 1\): dm-verity: the root image is corrupt \(read /dev/dm-\d+ at byte \d+\): "
                 r"Input/output error")
        m.expect(r"strata-rescue# ")
        self.assertTrue(m.seen(r"device-mapper: verity: \d+:\d+: data block \d+ is corrupted"), m.tail())

    def test_required_without_params_is_refused(self):
        m = self.boot(words="strata.slots.mode=none strata.upper.mode=tmpfs strata.persist.paths= "
                            "strata.root.verity=required")
        m.expect(r"BOOT FAILED \(attempt 1\): the root image has no trusted root hash \(\[root\] verity_params is "
                 r"empty\); root verity = required: not booted")

    def test_on_without_params_boots_plain_and_says_so(self):
        m = self.boot(words="strata.slots.mode=none strata.upper.mode=tmpfs strata.persist.paths= "
                            "strata.root.verity=on")
        m.wait_shell()
        self.assertTrue(m.seen(r"DEGRADED BOOT"), m.tail())
        self.assertTrue(m.seen(r"booting it without dm-verity \(root verity = on\)"), m.tail())


class VeritySlots(BoardTest):
    """A/B: the root hash comes from a signed bundle's manifest through the slot record."""

    def verity_bundle(self, version):
        path = self.path(f"verity-v{version}.bundle")
        slots.tool("mkbundle", "--verity", self.board, str(version), path)
        with open(path, "rb") as f:
            header = f.read(4096).split(b"\0", 1)[0].decode()
        line = [x for x in header.splitlines() if x.startswith("verity=")][0]
        return path, line.split("=", 1)[1]

    def start(self, disk, words, tape=None):
        m = self.boot(disk=disk, words=words, drives=[tape.path] if tape else ())
        m.wait_shell()
        return m

    def test_update_boots_a_verity_slot_and_a_flipped_byte_falls_back_to_slot_a(self):
        words = "strata.root.verity=on"
        disk = self.disk()
        bundle, params = self.verity_bundle(2)
        tape = Tape(self.path("tape.img"), [bundle])
        m = self.start(disk, words, tape)
        # Slot a (the factory image) has no root hash in the record: booted unchecked, and said so.
        self.assertTrue(m.seen(r"slot a has no trusted root hash in the slot record; booting it without dm-verity"),
                        m.tail())
        out = m.ok(f"{tape.stream(0)} | strata update -", timeout=180)
        self.assertIn("update done: version 2 in slot b", out)
        now = slots.slots(m)["now"]
        self.assertEqual(now["b"]["verity_root_hash"], params.split()[5])
        self.assertIsNone(now["a"]["verity_root_hash"])
        reboot(m)

        m = self.start(disk, words)
        self.assertTrue(m.seen(r"strata: dm-verity: slot b verified \(\d+ blocks"), m.tail())
        self.assertEqual(version(m), "2")
        st = json.loads(m.ok("cat /run/strata/status"))
        v = st["lower"]["verity"]
        self.assertEqual((v["used"], v["name"], v["root_hash"]), (True, "strata-b", params.split()[5]))
        self.assertIn(v["device"], m.ok("grep /run/strata/lower /proc/mounts"))
        # The raw slot under the verity device stays read-only in the kernel.
        self.assertEqual(slots.readonly(m, "b"), "1")
        m.ok("strata mark-good")
        reboot(m)

        # One byte of slot b's image flipped on the host disk, in the middle of its data.
        blocks = int(params.split()[3])
        flip_byte(disk, partition_start(self.board, "root-b") + (blocks // 2) * 4096 + 77)
        m = self.start(disk, words)
        self.assertTrue(m.seen(r"slot b: root cannot be mounted: dm-verity: slot b is corrupt \(read /dev/dm-\d+ at "
                               r"byte \d+\): Input/output error; trying the other slot \(fallback-slot\)"), m.tail())
        self.assertEqual(version(m), "1")
        s = slots.slots(m)
        self.assertEqual(s["booted"], "a")
        st = json.loads(m.ok("cat /run/strata/status"))
        self.assertIn("dm-verity: slot b is corrupt", json.dumps(st))
        self.assertTrue(m.seen(r"DEGRADED BOOT"), m.tail())

    def test_corruption_while_running_restarts_then_the_next_boot_falls_back(self):
        words = "strata.root.verity=on"
        disk = self.disk()
        bundle, params = self.verity_bundle(2)
        tape = Tape(self.path("tape.img"), [bundle])
        m = self.start(disk, words, tape)
        m.ok(f"{tape.stream(0)} | strata update -", timeout=180)
        reboot(m)
        m = self.start(disk, words)
        self.assertTrue(m.seen(r"strata: dm-verity: slot b verified"), m.tail())
        m.ok("strata mark-good")
        st = json.loads(m.ok("cat /run/strata/status"))
        raw, dm = slots.slots(m)["b"]["device"], st["lower"]["verity"]["device"]
        # Flash going bad under the running system: a block of the raw slot changes
        # (its read-only flag lifted for the test), the caches are dropped, the block is read again.
        blocks = int(params.split()[3])
        m.ok(f"blockdev --setrw {raw} && printf strata-corrupt | "
             f"dd of={raw} bs=1 seek={(blocks // 2) * 4096 + 77} conv=notrunc 2>/dev/null && sync && "
             "echo 3 > /proc/sys/vm/drop_caches")
        m.send(f"cat {dm} > /dev/null; echo read-$((1+1))-survived\n")
        # restart_on_corruption: the kernel restarts (-no-reboot: QEMU exits), no garbage is read.
        m.wait_exit(90)
        self.assertTrue(m.seen(r"device-mapper: verity: \d+:\d+: data block \d+ is corrupted"), m.tail())
        self.assertFalse(m.seen(r"read-2-survived"), m.tail())

        # The kernel does not say why it restarted; the next boot's check finds the block.
        m = self.start(disk, words)
        self.assertTrue(m.seen(r"slot b: root cannot be mounted: dm-verity: slot b is corrupt"), m.tail())
        self.assertEqual(version(m), "1")
        self.assertEqual(slots.slots(m)["booted"], "a")

    def test_required_refuses_a_slot_without_a_root_hash(self):
        m = self.boot(words="strata.root.verity=required")
        m.expect(r"BOOT FAILED \(attempt 1\): no A/B slot can be booted")
        m.expect(r"strata-rescue# ")
        self.assertTrue(m.seen(r"slot a has no trusted root hash in the slot record \(root verity = required\)"),
                        m.tail())


if __name__ == "__main__":
    unittest.main()
