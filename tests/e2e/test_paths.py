"""Configured paths that are symlinks in the image (relative, absolute,
climbing past the root), dangling links, a loop and a path with '..': the
boot goes on, each link's target inside the new root is bound, the rest is
skipped with the reason on the console and in the status (DEGRADED)."""
import json
import os
import subprocess
import unittest

from base import BoardTest
from test_persist import partition_offset

BINDS = ["/etc/rel", "/etc/abs", "/etc/climb", "/etc/../srv/dotdot", "/etc/dangling", "/etc/initramfs",
         "/etc/loop"]
PERSIST = ["/var/lib/applink", "/var/lib/gone"]
WORDS = "strata.binds.readonly=" + ",".join(BINDS) + " strata.persist.paths=" + ",".join(PERSIST)


class LinkedPaths(BoardTest):
    def linked_image(self, disk, version=1):
        """The demo image plus the links, written into slot a."""
        extra = self.path(f"links-{version}")
        for d, f, text in (("srv/factory", "cal", "cal"), ("srv/plain", "x", "plain"), ("srv/climbed", "x", "up"),
                           ("srv/dotdot", "x", "dotdot"), ("opt/app", "config", "app")):
            os.makedirs(os.path.join(extra, d), exist_ok=True)
            with open(os.path.join(extra, d, f), "w") as fh:
                fh.write(text + "\n")
        os.makedirs(os.path.join(extra, "etc"), exist_ok=True)
        os.makedirs(os.path.join(extra, "var/lib/svc"), exist_ok=True)
        for target, at in (("../srv/factory", "etc/rel"), ("/srv/plain", "etc/abs"),
                           ("../../../../../../srv/climbed", "etc/climb"), ("/nowhere", "etc/dangling"),
                           ("/newroot", "etc/initramfs"),  # exists in the initramfs only
                           ("loop", "etc/loop"), ("../../opt/app", "var/lib/applink"),
                           ("/nowhere/state", "var/lib/gone"), ("../var/lib/svc", "etc/svc")):
            os.symlink(target, os.path.join(extra, at))
        img = self.path(f"root-links-{version}.squashfs")
        self.tool("mkrootfs", self.board, img, "squashfs", str(version), extra)
        off, size = partition_offset(disk, "root-a")
        self.assertLessEqual(os.path.getsize(img), size)
        subprocess.run(["dd", f"if={img}", f"of={disk}", "bs=1M", f"seek={off >> 20}", "conv=notrunc",
                        "status=none"], check=True)

    def test_links_bound_at_their_targets_and_the_rest_skipped(self):
        disk = self.disk("links.img")
        self.linked_image(disk)
        m = self.boot(disk=disk, words=WORDS)
        m.expect(r"strata: DEGRADED BOOT:", 90)
        skipped = {
            "read-only bind /etc/dangling": "dangling symlink: /nowhere does not exist",
            "read-only bind /etc/initramfs": "dangling symlink: /newroot does not exist",
            "read-only bind /etc/loop": "too many symlinks",
            "persistent path /var/lib/gone": "dangling symlink: /nowhere/state does not exist",
        }
        m.wait_shell()
        for what, why in skipped.items():
            self.assertTrue(m.seen(rf"strata:   {what} skipped: {why}"), f"{what}: {why}\n{m.tail()}")

        mounts = m.ok("cat /proc/mounts")
        for at in ("/srv/factory", "/srv/plain", "/srv/climbed", "/srv/dotdot"):
            line = [ln for ln in mounts.splitlines() if ln.split()[1:2] == [at]]
            self.assertTrue(line, f"nothing mounted at {at}:\n{mounts}")
            self.assertTrue(line[-1].split()[3].startswith("ro"), line[-1])
        self.assertEqual(m.ok("cat /etc/rel/cal").strip(), "cal")
        self.assertNotEqual(m.sh("touch /etc/rel/new")[0], 0)
        self.assertNotEqual(m.sh("touch /etc/abs/new")[0], 0)
        # The persistent path through a link: its target, kept on the data partition under the configured name.
        self.assertIn(" /opt/app ", mounts)
        self.assertEqual(m.ok("cat /var/lib/applink/config").strip(), "app")
        m.ok("echo kept > /var/lib/applink/state && sync")
        self.assertEqual(m.ok("cat /run/strata/data/strata/persist/var/lib/applink/state").strip(), "kept")

        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertTrue(status["degraded"])
        for what, why in skipped.items():
            self.assertTrue(any(w.startswith(f"{what} skipped: {why}") for w in status["warnings"]),
                            f"{what}: {status['warnings']}")
        self.assertTrue(any("read-only bind /etc/rel: bound at /srv/factory" in a for a in status["actions"]),
                        status["actions"])

        # The next boot finds the persistent file again.
        m.send("poweroff -f\n")
        m.wait_exit(60)
        m = self.boot(disk=disk, words=WORDS)
        m.wait_shell()
        self.assertEqual(m.ok("cat /opt/app/state").strip(), "kept")

    def test_preserve_paths_follow_links_into_the_upper(self):
        disk = self.disk("preserve.img")
        self.linked_image(disk, 1)
        words = "strata.upper.on_lower_change=preserve strata.upper.preserve=/etc/svc,/etc/loop,/etc/hostname"
        m = self.boot(disk=disk, words=words)
        m.wait_shell()
        # Written through the image's link: the file is in the upper at the target.
        m.ok("echo user > /etc/svc/db && echo other > /etc/other && sync")
        self.assertEqual(m.ok("cat /run/strata/upper/data/var/lib/svc/db").strip(), "user")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        self.linked_image(disk, 2)
        m = self.boot(disk=disk, words=words)
        m.expect(r"strata:   preserve path /etc/loop skipped: too many symlinks", 90)
        m.wait_shell()
        self.assertIn("VERSION_ID=2", m.ok("cat /etc/os-release"))
        self.assertTrue(m.seen(r"lower image changed .*: preserve"))
        self.assertEqual(m.ok("cat /etc/svc/db").strip(), "user")
        self.assertNotEqual(m.sh("cat /etc/other")[0], 0)
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertTrue(status["degraded"])
        self.assertTrue(any(w.startswith("preserve path /etc/loop skipped") for w in status["warnings"]),
                        status["warnings"])


if __name__ == "__main__":
    unittest.main()
