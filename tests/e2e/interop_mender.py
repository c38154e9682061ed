"""Mender drives strata: Debian's own mender-client (3.4) in the Debian root,
standalone, with strata's update module (payload type "strata") and an
artifact made on the host with Debian's mender-artifact around a signed
strata bundle. `mender install` streams the bundle into the slot not
running (the module's Download), the next boot runs it on trial; `mender
rollback` there brings the previous slot back; installed again, `mender
commit` keeps it. Mender's own state lives in /data/mender, a [persist] path,
so it crosses the switch between slots."""
from base import BoardTest
import debian
import slots

WORDS = "systemd.show_status=false"
PAYLOAD = "/data/mender/modules/v3/payloads/0000/tree"


class Mender(BoardTest):
    def start(self, disk, drive):
        m = debian.boot(self, disk, drive, WORDS)
        # Standalone mode: the daemon (no server configured here) must not run beside it.
        m.ok("systemctl stop mender-client", timeout=120)
        return m

    def mender(self, m, args, timeout=120):
        rc, out = m.sh(f"mender --no-syslog {args} 2>&1", timeout)
        self.assertEqual(rc, 0, f"mender {args} exited {rc}:\n{out}")
        return out

    def install(self, m):
        debian.copy_from_drive(m, self.drive, self.size, "/run/update.mender")
        out = self.mender(m, "install /run/update.mender", timeout=900)
        self.assertIn("Use 'commit' to update, or 'rollback' to roll back the update.", out)
        m.ok("rm /run/update.mender")
        return out

    def test_mender_installs_rolls_back_and_commits_through_strata(self):
        disk = self.disk(source=debian.artifact(self.board, "disk.img"))
        self.drive, self.size = debian.file_drive(self, debian.artifact(self.board, "mender-5.mender"), "artifact.img")
        drive = self.drive

        m = self.start(disk, drive)
        self.assertEqual(self.mender(m, "show-artifact").strip().splitlines()[-1], f"{self.board}-1")
        out = self.install(m)
        # strata's progress lines reach Mender's log: size, speed, time left, then the read-back.
        self.assertRegex(out, r"strata: writing +\d+%  [\d.]+ of [\d.]+ MiB  [\d.]+ MiB/s  \d+ s left")
        self.assertRegex(out, r"strata: verifying 100%")
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"], s["b"]["version"], s["a"]["status"]), ("b", "trial", "5", "good"))
        self.assertEqual(m.ok(f"cat {PAYLOAD}/tmp/strata-slot").strip(), "b")
        debian.reboot(m)

        # b on trial: Mender rolls it back; a boots again, b is never booted again.
        m = self.start(disk, drive)
        self.assertEqual(m.ok("cat /etc/strata-test-release").strip(), "5")
        self.assertEqual(slots.slots(m)["now"]["b"]["status"], "trial")
        self.assertIn("Rolling back Artifact...", self.mender(m, "rollback"))
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"], s["a"]["status"]), ("a", "bad", "good"))
        debian.reboot(m)
        m = self.start(disk, drive)
        self.assertEqual(slots.slots(m)["booted"], "a")
        self.assertEqual(self.mender(m, "show-artifact").strip().splitlines()[-1], f"{self.board}-1")

        # Installed again and committed after the reboot: b is kept.
        self.install(m)
        debian.reboot(m)
        m = self.start(disk, drive)
        self.assertEqual(slots.slots(m)["booted"], "b")
        self.assertIn("Committing Artifact...", self.mender(m, "commit"))
        s = slots.slots(m)["now"]
        self.assertEqual((s["active"], s["b"]["status"], s["a"]["status"]), ("b", "good", "good"))
        self.assertEqual(self.mender(m, "show-artifact").strip().splitlines()[-1], f"{self.board}-5")
        # Nothing left to commit.
        rc, _ = m.sh("mender --no-syslog commit >/dev/null 2>&1")
        self.assertEqual(rc, 2)
