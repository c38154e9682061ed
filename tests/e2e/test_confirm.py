"""The device confirms its own update (BusyBox root): an update that ships
health checks in /etc/strata/health.d is kept by S99strata-confirm when they
pass, and marked bad with a reboot back to the previous slot when one fails."""
import os

from base import BoardTest
import slots
from slots import Tape, reboot, version


def checks_dir(tmp, name, checks):
    """An EXTRA_DIR for tools/mkbundle holding /etc/strata/health.d/NAME scripts."""
    root = os.path.join(tmp, name)
    d = os.path.join(root, "etc", "strata", "health.d")
    os.makedirs(d)
    for check, body in checks.items():
        path = os.path.join(d, check)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o755)
    return root


class Confirm(BoardTest):
    def bundle(self, version, checks):
        out = self.path(f"v{version}.bundle")
        self.tool("mkbundle", self.board, str(version), out, checks_dir(self.tmp, f"extra-{version}", checks))
        return out

    def test_passing_checks_keep_the_update_and_a_failing_one_rolls_back(self):
        disk = self.disk()
        tape = Tape(self.path("tape.img"), [
            self.bundle(2, {"10-shell": "test -x /bin/sh", "20-data": "test -d /var/lib/app"}),
            self.bundle(3, {"10-shell": "test -x /bin/sh", "20-app": "echo 'app does not answer'; exit 3"}),
        ])
        m = self.boot(disk=disk, drives=[tape.path])
        m.wait_shell()
        # The factory image ships no checks: nothing runs on a normal boot.
        self.assertFalse(m.seen(r"strata: confirm:"))
        m.ok(f"{tape.stream(0)} | strata update -", timeout=180)
        reboot(m)

        # S99strata-confirm starts after rcS's marker and writes to the
        # console: wait for it to finish before using the shell.
        m = self.boot(disk=disk, drives=[tape.path])
        m.expect(r"strata-demo: system up", 90)
        m.expect(r"strata: confirm: /etc/strata/health.d/20-data: passed", 60)
        m.expect(r"strata: confirm: every check passed: keeping slot b", 60)
        m.expect(r"strata: mark-good: ", 60)
        m.sh("true")
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["b"]["status"], version(m)), ("b", "good", "2"))
        # Run by hand on a confirmed slot: no checks, nothing changes.
        self.assertIn("slot b is not on trial", m.ok("strata confirm"))
        m.ok(f"{tape.stream(1)} | strata update -", timeout=180)
        reboot(m)

        m = self.boot(disk=disk, drives=[tape.path])
        m.expect(r"strata: confirm: /etc/strata/health.d/20-app: FAILED \(exited 3\): marking slot a bad", 90)
        m.wait_exit(90)  # rebooted by strata confirm
        m = self.boot(disk=disk, drives=[tape.path])
        m.expect(r"strata-demo: system up", 90)
        # b is confirmed: its checks are not run again.
        m.expect(r"strata: confirm: slot b is not on trial .*: checks not run", 60)
        m.sh("true")
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["a"]["status"], s["now"]["b"]["status"]), ("b", "bad", "good"))
        self.assertEqual(version(m), "2")
