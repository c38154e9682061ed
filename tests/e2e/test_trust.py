"""Who may update a device and to what: key rotation through updates signed
by a key that stays, downgrades refused with nothing written, and a minimum
version raised by an update (README "Security")."""
import os
import unittest

from base import BoardTest
import slots
from slots import Tape, reboot, version


class Trust(BoardTest):
    def test_keys_rotate_and_downgrades_are_refused(self):
        board_pub = os.path.join(self.out("keys"), "update.pub")
        board_key = os.path.join(self.out("keys"), "update.key")
        new_pub, new_key = slots.keygen(self.tmp, "new-keys")
        b = lambda *a, **k: slots.rewrapped(self.board, self.tmp, *a, **k)  # noqa: E731
        bundles = [
            b("rotate-in", 2, [board_key], trust=[board_pub, new_pub]),   # 0: adds the new key
            b("drop-old-by-old", 3, [board_key], trust=[new_pub]),        # 1: refused: signed by the key it removes
            b("drop-old", 3, [new_key], trust=[new_pub]),                 # 2: removes the board key
            b("old-key", 4, [board_key]),                                 # 3: refused: a removed key
            b("new-key", 4, [new_key], min_version=3),                    # 4: the rotated-in key; raises the minimum
            b("below-minimum", "2.5", [new_key]),                         # 5: refused: below min_version 3
            b("downgrade", "3.5", [new_key]),                             # 6: refused once 4 runs
        ]
        disk = self.disk()
        tape = Tape(self.path("tape.img"), bundles)
        m = self.boot(disk=disk, drives=[tape.path])
        m.wait_shell()
        self.assertEqual(version(m), "1")

        def update(i):
            return m.sh(f"{tape.stream(i)} | strata update -", timeout=180)

        def installed(i, v):
            rc, out = update(i)
            self.assertEqual(rc, 0, out)
            self.assertIn(f"update done: version {v} in slot b", out)
            return slots.slots(m)["now"]

        def refused(i, message):
            before = slots.slots(m)["now"]
            rc, out = update(i)
            self.assertNotEqual(rc, 0, out)
            self.assertRegex(out, message)
            self.assertIn("nothing written", out)
            self.assertEqual(slots.slots(m)["now"], before, "a refusal changed the record")
            self.assertEqual(slots.readonly(m, "b"), "1", "write window left open")

        pub = lambda p: open(p).read().strip()  # noqa: E731
        now = installed(0, 2)
        self.assertEqual(now["keys"], [pub(board_pub), pub(new_pub)])
        refused(1, r"signed only by keys it removes")
        now = installed(2, 3)
        self.assertEqual(now["keys"], [pub(new_pub)])
        refused(3, r"signed by none of the 1 key set by an earlier update")
        now = installed(4, 4)
        self.assertEqual(now["min_version"], "3")
        refused(5, r"version '2\.5' is older than '3', the minimum version this device installs")
        self.assertIn("nothing older than 3 installs", m.ok("strata status"))

        # The record survives the reboot into the update: keys and minimum stay.
        reboot(m)
        m = self.boot(disk=disk, drives=[tape.path])
        m.wait_shell()
        self.assertEqual(slots.slots(m)["booted"], "b")
        m.ok("strata mark-good")
        now = slots.slots(m)["now"]
        self.assertEqual((now["keys"], now["min_version"], now["b"]["status"]), ([pub(new_pub)], "3", "good"))
        # 4 runs now: 3.5 is a downgrade although it is above the minimum.
        refused(6, r"version '3\.5' is older than '4', the version of slot b \(running\)")


if __name__ == "__main__":
    unittest.main()
