"""A root the user brings: an unmodified Debian 12 with systemd
(tools/mkdebian-root), packed by tools/mkroot. It boots through strata's
overlay to a running system with no failed unit, takes a strata update that
confirms itself (strata-confirm.service runs the update's health check, then
mark-good), rolls back an update whose health check fails, and comes back
clean from a factory reset. Judged from the serial console. One scenario,
since a Debian boot under emulation takes minutes."""
import os
import unittest

from base import BoardTest
import debian
import slots
from slots import Tape

# systemd's progress lines would interleave with the shell's output.
WORDS = "systemd.show_status=false"


class Debian(BoardTest):
    def start(self, disk, tape=None):
        m = self.boot(disk=disk, words=WORDS, drives=[tape.path] if tape else (),
                      initrd=debian.artifact(self.board, "initramfs.cpio.gz"))
        self.assertEqual(debian.wait_running(m), "running", m.tail())
        self.assertEqual(debian.failed_units(m), "")
        return m

    def debian_disk(self):
        return self.disk(source=debian.artifact(self.board, "disk.img"))

    def test_update_confirms_itself_a_failing_one_rolls_back_and_a_reset_cleans(self):
        disk = self.debian_disk()
        tape = Tape(self.path("tape.img"),
                    [debian.artifact(self.board, "update-2.bundle"), debian.artifact(self.board, "update-3.bundle")])
        m = self.start(disk, tape)
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["a"]["status"]), ("a", "good"))
        self.assertIn("strata ", m.ok("strata --version"))
        m.ok("echo kept > /root/note && sync")
        out = m.ok(f"{tape.stream(0)} | strata update -", timeout=600)
        self.assertIn("update done: version 2 in slot b", out)
        debian.reboot(m)

        # The trial boot: strata-confirm.service runs the update's check and keeps b.
        m = self.start(disk, tape)
        # The unit ran before the boot counted as complete.
        self.assertTrue(m.seen(r"strata: confirm: every check passed: keeping slot b"), m.tail())
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["b"]["status"], s["now"]["b"]["version"]), ("b", "good", "2"))
        self.assertEqual(m.ok("cat /etc/strata-test-release").strip(), "2")
        self.assertEqual(m.ok("cat /root/note").strip(), "kept")  # /root is on the preserve list

        # Version 3's check fails: marked bad, rebooted, back on b.
        out = m.ok(f"{tape.stream(1)} | strata update -", timeout=600)
        self.assertIn("update done: version 3 in slot a", out)
        debian.reboot(m)
        m = self.boot(disk=disk, words=WORDS, drives=[tape.path],
                      initrd=debian.artifact(self.board, "initramfs.cpio.gz"))
        m.expect(r"strata: confirm: .*20-app: FAILED \(exited 1\): marking slot a bad", 900)
        m.wait_exit(300)
        m = self.start(disk, tape)
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["a"]["status"], s["now"]["b"]["status"]), ("b", "bad", "good"))
        self.assertEqual(m.ok("cat /etc/strata-test-release").strip(), "2")

        # A factory reset discards what was written to / and boots clean.
        m.ok("echo mine > /etc/motd.local && mkdir -p /srv/data && echo x > /srv/data/.hidden && sync")
        m.send("strata factory-reset\n")
        m.wait_exit(300)
        m = self.start(disk, tape)
        self.assertNotEqual(m.sh("test -e /etc/motd.local")[0], 0)
        self.assertNotEqual(m.sh("test -e /srv/data/.hidden")[0], 0)
        self.assertIn("factory reset", m.ok("strata status"))
        self.assertEqual(slots.slots(m)["booted"], "b")

if __name__ == "__main__":
    unittest.main()
