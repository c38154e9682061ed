"""Full uppers: a persistent upper whose data partition is filled to ENOSPC
through the overlay, and a tmpfs upper filled the same way. The system keeps
running, `strata status` says the upper is full, `strata update` refuses
with the space it needs where it needs any on the data partition (image-file
slots), and `strata factory-reset` still works and frees the space."""
import json
import unittest

from base import BoardTest
import slots
from slots import Tape, reboot, version

FILL = "dd if=/dev/zero of=/fill bs=1M 2>&1; sync"


class FullUpper(BoardTest):
    def fill(self, m):
        rc, out = m.sh(FILL, timeout=120)
        self.assertIn("No space left on device", out)
        # Still running: reading works, a new file in / does not.
        self.assertIn("VERSION_ID", m.ok("cat /etc/os-release"))
        rc, out = m.sh("head -c 65536 /dev/zero > /etc/after-full")
        self.assertNotEqual(rc, 0, out)  # BusyBox says "I/O error" for ENOSPC on stdout
        space = json.loads(m.ok("strata status --json"))["upper"]["space"]
        self.assertTrue(space["full"], space)
        self.assertIn("FULL, changes to / fail", m.ok("strata status"))
        return space

    def test_persistent_upper_full_update_refused_reset_frees(self):
        # Image-file slots: an update needs its image's size on the data partition.
        disk = slots.file_slots_disk(self.board, self.tmp)
        words = "strata.slots.mode=files"
        tape = Tape(self.path("tape.img"), [slots.bundle(self.board, 2)])
        m = self.boot(disk=disk, words=words, drives=[tape.path])
        m.wait_shell()
        m.ok("strata mark-good && echo kept > /var/lib/app/marker && sync")  # the first record write
        self.fill(m)
        # The record is rewritten in place and never grows: it still works on a full partition.
        m.ok("strata mark-good")
        self.assertEqual(slots.slots(m)["now"]["health"], "ok")

        rc, out = m.sh(f"{tape.stream(0)} | strata update -", timeout=180)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"not enough space for the image: it needs \d+ bytes on /run/strata/data/strata/slots, "
                              r"\d+ are available .*free \d+ bytes .*nothing written")
        now = slots.slots(m)["now"]
        self.assertEqual((now["a"]["status"], now["b"]["status"]), ("good", "bad"))

        out = m.ok("strata factory-reset --no-reboot")
        self.assertIn("factory reset (overlay) requested", out)
        reboot(m)

        m = self.boot(disk=disk, words=words, drives=[tape.path])
        m.wait_shell()
        self.assertNotEqual(m.sh("test -e /fill")[0], 0)
        space = json.loads(m.ok("strata status --json"))["upper"]["space"]
        self.assertFalse(space["full"], space)
        self.assertGreater(space["free_bytes"], 16 << 20)
        self.assertEqual(m.ok("cat /var/lib/app/marker").strip(), "kept")  # persistent paths survive a reset
        self.assertIn("update done: version 2 in slot b", m.ok(f"{tape.stream(0)} | strata update -", timeout=180))

    def test_tmpfs_upper_full(self):
        m = self.boot(words="strata.upper.mode=tmpfs strata.upper.size=16m")
        m.wait_shell()
        space = self.fill(m)
        self.assertLessEqual(space["size_bytes"], 16 << 20)
        self.assertIn("upper:     tmpfs", m.ok("strata status"))
        self.assertEqual(version(m), "1")
        out = m.ok("strata factory-reset --no-reboot")
        self.assertIn("factory reset", out)
        # A tmpfs upper frees itself at the reboot.
        m.ok("rm /fill")
        self.assertFalse(json.loads(m.ok("strata status --json"))["upper"]["space"]["full"])


if __name__ == "__main__":
    unittest.main()
