"""The walking skeleton's promise, judged on the serial console of a real
kernel booting the real initramfs and root image."""
import json
import unittest

from base import BoardTest


class OverlayBoot(BoardTest):
    def test_overlay_root_with_readonly_bind(self):
        # The board's config asks for a persistent upper; this is the tmpfs one.
        m = self.boot(words="strata.upper.mode=tmpfs")
        m.wait_shell()

        # / is an overlay of the squashfs lower and the tmpfs upper.
        mounts = m.ok("cat /proc/self/mountinfo")
        root = [l for l in mounts.splitlines() if l.split()[4:5] == ["/"]]
        self.assertEqual(len(root), 1, mounts)
        self.assertIn(" - overlay overlay ", root[0])
        self.assertIn("lowerdir=/run/strata/lower", root[0])
        self.assertIn("upperdir=/run/strata/upper/data", root[0])
        self.assertRegex(mounts, r" /run/strata/lower .* - squashfs /dev/vda1 ro")
        self.assertRegex(mounts, r" /run/strata/upper .* - tmpfs tmpfs ")

        # A file written under / lands in the upper, not in the lower.
        m.ok("echo strata > /written-by-test")
        self.assertEqual(m.ok("cat /run/strata/upper/data/written-by-test").strip(), "strata")
        rc, _ = m.sh("test -e /run/strata/lower/written-by-test")
        self.assertNotEqual(rc, 0)

        # The read-only bind refuses writes with EROFS; its parent is writable.
        rc, out = m.sh("touch /etc/factory/new-file")
        self.assertNotEqual(rc, 0)
        self.assertIn("Read-only file system", out)
        self.assertIn("sensor_offset=17", m.ok("cat /etc/factory/calibration"))
        m.ok("touch /etc/new-file-in-parent")
        self.assertRegex(mounts, r" /etc/factory .*\bro,nosuid,nodev\b")

        # Nothing of the initramfs is left over.
        for line in mounts.splitlines():
            self.assertNotIn(" rootfs ", line)
            self.assertNotIn(" /newroot ", line)
        rc, _ = m.sh("test -e /init")
        self.assertNotEqual(rc, 0)

        # BusyBox init is PID 1, started as the configured init.
        self.assertEqual(m.ok("readlink /proc/1/exe").strip(), "/bin/busybox")
        self.assertEqual(m.ok("cat /proc/1/comm").strip(), "init")
        self.assertTrue(m.seen(r"strata: root switched; exec /sbin/init"))

        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertEqual(status["mode"], "overlay")
        self.assertEqual(status["lower"]["device"], "/dev/vda1")
        self.assertEqual(status["lower"]["fstype"], "squashfs")
        self.assertEqual(status["upper"]["mode"], "tmpfs")
        self.assertFalse(status["degraded"])
        for stage in ("modules", "devices", "modules-needed", "mount", "binds"):
            self.assertIn(stage, status["stages_ms"])

        # Only the modules this boot needs: the storage ones before the probe,
        # ext4 for the data partition (the A/B record) before it is mounted,
        # then what the plan mounts (the board lists f2fs, erofs, loop and
        # dm-verity too: none of them is loaded).
        self.assertTrue(m.seen(r"strata: stage modules-needed: \d+ modules for ext4, 0 problems"))
        self.assertTrue(m.seen(r"strata: stage modules-needed: \d+ modules for ext4, overlay, squashfs, 0 problems"))
        loaded = {l.split()[0] for l in m.ok("cat /proc/modules").splitlines() if l.strip()}
        for needed in ("virtio_blk", "ext4", "squashfs", "overlay"):
            self.assertIn(needed, loaded)
        for unneeded in ("f2fs", "erofs", "loop", "dm_verity", "dm_mod"):
            self.assertNotIn(unneeded, loaded)
            self.assertFalse(m.seen(r"strata: module /lib/modules/%s\.ko" % unneeded.replace("_", "-")))

        m.send("poweroff -f\n")
        m.wait_exit(60)


if __name__ == "__main__":
    unittest.main()
