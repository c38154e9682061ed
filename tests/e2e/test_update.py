"""A/B updates on the real kernel: update, reboot, mark-good; an update
never confirmed rolls back; refused bundles change nothing; image-file
slots; remounts for maintenance."""
import json
import unittest

from base import BoardTest
import slots
from slots import Tape, reboot, version


class Update(BoardTest):
    def tape(self, bundles, limits=None):
        return Tape(self.path(f"tape-{len(self.machines)}.img"), bundles, limits)

    def start(self, disk, tape=None, words=""):
        m = self.boot(disk=disk, words=words, drives=[tape.path] if tape else ())
        m.wait_shell()
        return m

    def test_update_reboot_mark_good_and_stay(self):
        disk = self.disk()
        tape = self.tape([slots.bundle(self.board, 2)])
        m = self.start(disk, tape)
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["active"]), ("a", "a"))
        self.assertEqual((s["now"]["a"]["status"], s["now"]["b"]["status"]), ("good", "bad"))
        self.assertEqual(version(m), "1")
        # The inactive slot is read-only in the kernel outside an update.
        self.assertEqual(slots.readonly(m, "b"), "1")
        m.ok("echo board-7 > /etc/hostname && echo gone > /etc/not-preserved && sync")

        out = m.ok(f"{tape.stream(0)} | strata update -", timeout=180)
        self.assertIn("update done: version 2 in slot b", out)
        self.assertIn("copied /etc/hostname into the new slot's upper", out)
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"], s["b"]["tries"], s["b"]["version"]), ("b", "trial", 3, "2"))
        self.assertEqual(s["a"]["status"], "good")
        self.assertEqual(slots.readonly(m, "b"), "1")  # the write window closed
        reboot(m)

        m = self.start(disk)
        self.assertTrue(m.seen(r"strata: slots: slot b on trial: 2 boot tries left"), m.tail())
        self.assertEqual(version(m), "2")
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["b"]["tries"]), ("b", 2))
        # The preserve list came along; the rest of slot a's upper did not.
        self.assertEqual(m.ok("cat /etc/hostname").strip(), "board-7")
        self.assertNotEqual(m.sh("test -e /etc/not-preserved")[0], 0)
        out = m.ok("strata mark-good")
        self.assertIn("mark-good", out)
        good = slots.slots(m)["now"]
        self.assertEqual((good["b"]["status"], good["active"]), ("good", "b"))
        reboot(m)

        m = self.start(disk)
        s = slots.slots(m)
        self.assertEqual((s["booted"], version(m)), ("b", "2"))
        # A normal boot of a good slot writes nothing.
        self.assertEqual(s["now"]["seq"], good["seq"])
        self.assertNotIn("written", s)
        self.assertIn("slot b:  good", m.ok("strata status"))

    def test_update_never_confirmed_rolls_back_with_slot_a_upper_as_it_was(self):
        disk = self.disk()
        tries = "strata.slots.tries=2"
        tape = self.tape([slots.bundle(self.board, 2)])
        m = self.start(disk, tape, words=tries)
        m.ok("echo from-a > /etc/a-marker && sync")
        m.ok(f"{tape.stream(0)} | strata update -", timeout=180)
        reboot(m)
        for left in (1, 0):
            m = self.start(disk, words=tries)
            self.assertEqual(version(m), "2")
            self.assertEqual(slots.slots(m)["now"]["b"]["tries"], left)
            m.power_cut()  # never marked good
        m = self.start(disk, words=tries)
        self.assertTrue(m.seen(r"slot b was on trial and used up its boot tries"), m.tail())
        s = slots.slots(m)
        self.assertEqual((s["booted"], version(m)), ("a", "1"))
        self.assertEqual((s["now"]["b"]["status"], s["now"]["active"]), ("bad", "a"))
        self.assertTrue(any("slot b" in r for r in s["reasons"]), s["reasons"])
        self.assertEqual(m.ok("cat /etc/a-marker").strip(), "from-a")

    def test_refused_bundles_change_nothing(self):
        disk = self.disk()
        good = slots.bundle(self.board, 2)
        bundles = [
            slots.corrupt(good, self.path("corrupt.bundle")),
            slots.signed_with_other_key(self.board, self.tmp),
            slots.unsigned_or_for(self.board, self.tmp, "another-board", "foreign"),
            slots.unsigned_or_for(self.board, self.tmp, self.board, "huge", size_mib=64),
            good,
        ]
        tape = self.tape(bundles, limits={3: 4096})
        m = self.start(disk, tape)
        m.ok("echo kept > /etc/a-marker && sync")
        before = slots.slots(m)["now"]

        def refused(cmd, message, written):
            seq = slots.slots(m)["now"]["seq"]
            rc, out = m.sh(cmd, timeout=180)
            self.assertNotEqual(rc, 0, out)
            self.assertRegex(out, message)
            self.assertEqual(slots.readonly(m, "b"), "1", "write window left open")
            now = slots.slots(m)["now"]
            self.assertEqual((now["active"], now["a"]), (before["active"], before["a"]))
            self.assertEqual(now["b"]["status"], "bad")
            if not written:
                self.assertEqual(now["seq"], seq, f"the record changed for: {cmd}")

        refused(f"{tape.stream(0)} | strata update -", r"the bundle is corrupt; slot b stays marked bad", True)
        refused(f"{tape.stream(1)} | strata update -", r"bad signature", False)
        refused(f"{tape.stream(2)} | strata update -", r"the bundle is for 'another-board'", False)
        refused(f"{tape.stream(3)} | strata update -", r"larger than slot b", False)
        refused(f"{tape.stream(4, 100000)} | strata update -", r"the bundle ended after \d+ of \d+ image bytes", True)
        refused(f"{tape.stream(4)} | strata update --slot a -", r"slot a is the running slot", False)
        refused("head -c 3000 /etc/os-release | strata update -", r"ends inside its header", False)
        reboot(m)
        m = self.start(disk)
        self.assertEqual((slots.slots(m)["booted"], version(m)), ("a", "1"))
        self.assertEqual(m.ok("cat /etc/a-marker").strip(), "kept")

    def test_image_file_slots_and_remount(self):
        # The data partition holds slot a's image; root-a and root-b stay empty.
        disk = slots.file_slots_disk(self.board, self.tmp)
        words = "strata.slots.mode=files"
        tape = self.tape([slots.bundle(self.board, 2)])
        m = self.start(disk, tape, words=words)
        s = slots.slots(m)
        self.assertEqual((s["mode"], s["booted"]), ("files", "a"))
        images = "/run/strata/data/strata/slots"
        self.assertRegex(m.ok(f"grep ' {images} ' /proc/self/mountinfo"), r" ro,")
        self.assertNotEqual(m.sh(f"touch {images}/x")[0], 0)
        # The progress for a client: one JSON object per line, each phase from its start to its end.
        out = m.ok(f"{tape.stream(0)} | strata update --progress json -", timeout=180)
        self.assertIn("update done: version 2 in slot b", out)
        progress = [json.loads(line) for line in out.splitlines() if line.startswith('{"phase":')]
        ends = {(p["phase"], p["percent"]) for p in progress if p["bytes"] == p["total"] > 0}
        self.assertEqual(ends, {("writing", 100.0), ("verifying", 100.0)}, out)
        self.assertEqual([p["bytes"] for p in progress if p["phase"] == "writing"][0], 0)
        self.assertRegex(m.ok(f"grep ' {images} ' /proc/self/mountinfo"), r" ro,")
        reboot(m)

        m = self.start(disk, words=words)
        self.assertEqual((slots.slots(m)["booted"], version(m)), ("b", "2"))
        self.assertRegex(m.ok("cat /proc/self/mountinfo"), r" /run/strata/lower .* - squashfs /dev/loop\d+ ro")
        m.ok("strata mark-good")

        # Maintenance: open the image directory, and close it again once nobody writes there.
        m.ok(f"strata remount rw {images}")
        m.ok(f"touch {images}/x")
        m.ok(f"sleep 600 > {images}/held & echo $! > /tmp/held.pid")
        rc, out = m.sh(f"strata remount ro {images}")
        self.assertNotEqual(rc, 0)
        self.assertRegex(out, r"pid \d+ \(sleep\) has .*held open for writing")
        m.ok("kill $(cat /tmp/held.pid); while kill -0 $(cat /tmp/held.pid) 2>/dev/null; do sleep 0.1; done")
        m.ok(f"strata remount ro {images}")
        self.assertNotEqual(m.sh(f"touch {images}/y")[0], 0)
        # A read-only bind of the root image cannot be opened: the image itself is read-only.
        rc, out = m.sh("strata remount rw /etc/factory")
        self.assertNotEqual(rc, 0)
        self.assertIn("/etc/factory", out)
        self.assertNotEqual(m.sh("touch /etc/factory/x")[0], 0)


if __name__ == "__main__":
    unittest.main()
