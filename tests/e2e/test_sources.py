"""Every kind of lower layer and upper mode, on the real kernel."""
import os
import subprocess
import unittest

from base import BoardTest


class RootSources(BoardTest):
    def test_erofs_partition(self):
        # erofs-utils 1.5 cannot set a label; mkrootfs gives erofs a fixed UUID (matched case-insensitively).
        img = self.path("root.erofs")
        self.tool("mkrootfs", self.board, img, "erofs", "7")
        m = self.boot(words="strata.slots.mode=none strata.root.source=UUID=5A1E0000-0000-4000-8000-0000000000E1", drives=[img])
        m.wait_shell()
        mounts = m.ok("cat /proc/self/mountinfo")
        self.assertRegex(mounts, r" /run/strata/lower .* - erofs /dev/vd[a-z] ro")
        self.assertIn("VERSION_ID=7", m.ok("cat /etc/os-release"))
        m.ok("touch /written && test -e /run/strata/upper/data/written")

    def test_image_file_on_ext4_partition(self):
        # An ext4 filesystem holding /images/root.squashfs, as a second disk.
        tree = self.path("images-tree")
        os.makedirs(os.path.join(tree, "images"))
        self.tool("mkrootfs", self.board, os.path.join(tree, "images", "root.squashfs"), "squashfs", "9")
        img = self.path("images.ext4")
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "images", "-d", tree, "-F", img, "64M"], check=True)
        m = self.boot(words="strata.slots.mode=none strata.root.source=LABEL=images strata.root.image=/images/root.squashfs", drives=[img])
        m.wait_shell()
        mounts = m.ok("cat /proc/self/mountinfo")
        self.assertRegex(mounts, r" /run/strata/source .* - ext4 /dev/vd[a-z] ro")
        self.assertRegex(mounts, r" /run/strata/lower .* - squashfs /dev/loop\d+ ro")
        self.assertIn("VERSION_ID=9", m.ok("cat /etc/os-release"))
        loop = m.ok("grep ' /run/strata/lower ' /proc/self/mountinfo | sed 's/.* - squashfs \\([^ ]*\\) .*/\\1/'").strip()
        self.assertEqual(m.ok(f"cat /sys/block/{loop[5:]}/ro").strip(), "1")
        self.assertEqual(m.ok(f"cat /sys/block/{loop[5:]}/loop/autoclear").strip(), "1")
        self.assertIn('"image": "/images/root.squashfs"', m.ok("cat /run/strata/status"))

    def test_upper_none_is_read_only(self):
        m = self.boot(words="strata.upper.mode=none")
        m.wait_shell()
        root = m.ok("awk '$5==\"/\"' /proc/self/mountinfo")
        self.assertIn(" - squashfs /dev/vda1 ro", root)
        rc, out = m.sh("touch /cannot-write")
        self.assertNotEqual(rc, 0)
        self.assertIn("Read-only file system", out)
        self.assertIn('"mode": "lower-only"', m.ok("cat /run/strata/status"))


if __name__ == "__main__":
    unittest.main()
