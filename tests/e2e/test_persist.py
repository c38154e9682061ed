"""Persistent upper, persistent paths and factory reset on the real kernel,
with power cuts (QEMU killed, or strata.crash_at) in the middle."""
import json
import os
import subprocess
import unittest

from base import BoardTest

FAST = "strata.boot.device_timeout_ms=2000"


def partition_offset(disk, name):
    """Byte offset and size of the GPT partition called name."""
    table = json.loads(subprocess.run(["sfdisk", "-J", disk], check=True, capture_output=True, text=True).stdout)
    for p in table["partitiontable"]["partitions"]:
        if p.get("name") == name:
            return p["start"] * 512, p["size"] * 512
    raise AssertionError(f"no partition {name} in {disk}")


class Persistence(BoardTest):
    def reboot(self, m, disk, words=""):
        m.send("poweroff -f\n")
        m.wait_exit(60)
        m2 = self.boot(disk=disk, words=words)
        m2.wait_shell()
        return m2

    def test_changes_survive_reboot_and_factory_reset_removes_them(self):
        disk = self.disk()
        m = self.boot(disk=disk)
        m.wait_shell()
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertEqual(status["upper"]["mode"], "persistent")
        m.ok("echo kept > /etc/survivor && echo dot > /root/.dotfile && echo app > /var/lib/app/state && sync")
        m = self.reboot(m, disk)
        self.assertEqual(m.ok("cat /etc/survivor").strip(), "kept")
        self.assertEqual(m.ok("cat /root/.dotfile").strip(), "dot")
        self.assertEqual(m.ok("cat /var/lib/app/state").strip(), "app")

        # `strata factory-reset` asks the next boot to reset, and reboots.
        m.send("strata factory-reset\n")
        m.expect(r"factory reset \(overlay\) requested")
        m.wait_exit(60)  # reboot under -no-reboot ends QEMU
        m = self.boot(disk=disk)
        m.wait_shell()
        for f in ("/etc/survivor", "/root/.dotfile"):
            rc, _ = m.sh(f"test -e {f}")
            self.assertNotEqual(rc, 0, f"{f} survived the reset")
        # The overlay tier keeps the persistent paths.
        self.assertEqual(m.ok("cat /var/lib/app/state").strip(), "app")
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertTrue(any("factory reset (overlay) done" in a for a in status["actions"]), status["actions"])
        # The trash is emptied in the background after the switch.
        m.ok("for i in $(seq 50); do [ -z \"$(ls -A /run/strata/data/strata/trash)\" ] && break; sleep 0.2; done; "
             "[ -z \"$(ls -A /run/strata/data/strata/trash)\" ]")

    def test_reset_all_from_command_line(self):
        disk = self.disk()
        m = self.boot(disk=disk)
        m.wait_shell()
        m.ok("echo x > /etc/survivor && echo app > /var/lib/app/state && rm /var/lib/app/settings.conf && sync")
        m = self.reboot(m, disk, words="strata.reset=all")
        rc, _ = m.sh("test -e /etc/survivor")
        self.assertNotEqual(rc, 0)
        rc, _ = m.sh("test -e /var/lib/app/state")
        self.assertNotEqual(rc, 0)
        # Reseeded from the image.
        self.assertEqual(m.ok("cat /var/lib/app/settings.conf").strip(), "mode=factory")

    def test_power_cut_at_every_reset_step_completes_the_reset(self):
        # One disk with changes and a reset requested, copied for each point.
        requested = self.disk("reset-requested.img")
        m = self.boot(disk=requested)
        m.wait_shell()
        m.ok("echo x > /etc/survivor && echo y > /.hidden && echo app > /var/lib/app/state && sync")
        m.ok("strata factory-reset --all --no-reboot")
        m.send("poweroff -f\n")
        m.wait_exit(60)
        for point in ("reset-upper-moved", "reset-persist-moved", "reset-done"):
            with self.subTest(point=point):
                disk = self.disk(f"disk-{point}.img", source=requested)
                m = self.boot(disk=disk, words=f"strata.crash_at={point}")
                m.expect(rf"strata.crash_at={point}: simulating a power cut")
                m.wait_exit(60)
                m = self.boot(disk=disk)
                m.wait_shell()
                for f in ("/etc/survivor", "/.hidden", "/var/lib/app/state"):
                    rc, _ = m.sh(f"test -e {f}")
                    self.assertNotEqual(rc, 0, f"{f} survived a reset cut at {point}")
                self.assertEqual(m.ok("cat /var/lib/app/settings.conf").strip(), "mode=factory")
                rc, _ = m.sh("test -e /run/strata/data/strata/reset-request")
                self.assertNotEqual(rc, 0, "the reset request must be gone")
                m.close()

    def test_power_cut_while_requesting_reset(self):
        # QEMU killed right after the CLI returns: the request is durable.
        disk = self.disk()
        m = self.boot(disk=disk)
        m.wait_shell()
        m.ok("echo x > /etc/survivor && sync")
        m.ok("strata factory-reset --no-reboot")
        m.power_cut()
        m = self.boot(disk=disk)
        m.wait_shell()
        rc, _ = m.sh("test -e /etc/survivor")
        self.assertNotEqual(rc, 0)

    def test_f2fs_data_partition(self):
        disk = self.disk()
        off, size = partition_offset(disk, "data")
        part = self.path("data.f2fs")
        subprocess.run(["truncate", "-s", str(size), part], check=True)
        subprocess.run(["mkfs.f2fs", "-q", "-f", "-l", "data", part], check=True)
        subprocess.run(["dd", f"if={part}", f"of={disk}", "bs=1M", f"seek={off >> 20}", "conv=notrunc",
                        "status=none"], check=True)
        m = self.boot(disk=disk)
        m.wait_shell()
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertEqual(status["data"]["fstype"], "f2fs")
        self.assertEqual(status["upper"]["mode"], "persistent")
        self.assertFalse(status["degraded"], status["warnings"])
        m.ok("echo on-f2fs > /etc/f2fs-file && sync")
        m = self.reboot(m, disk)
        self.assertEqual(m.ok("cat /etc/f2fs-file").strip(), "on-f2fs")

    def test_missing_data_partition_falls_back_to_tmpfs_visibly(self):
        disk = self.disk()
        off, _ = partition_offset(disk, "data")
        with open(disk, "r+b") as f:  # wipe the ext4 superblock: no LABEL=data anywhere
            f.seek(off)
            f.write(b"\0" * (2 << 20))
        m = self.boot(disk=disk, words=FAST)
        m.wait_shell()
        self.assertTrue(m.seen(r"DEGRADED BOOT"))
        self.assertTrue(m.seen(r"data partition LABEL=data not found; booting with a tmpfs upper"))
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertTrue(status["degraded"])
        self.assertEqual(status["upper"]["mode"], "tmpfs")
        self.assertEqual(status["upper"]["configured"], "persistent")
        m.ok("touch /etc/writable")

    def test_corrupt_data_filesystem_per_policy(self):
        base = self.disk("corrupt.img")
        off, size = partition_offset(base, "data")
        part = self.path("data.ext4")
        subprocess.run(["dd", f"if={base}", f"of={part}", "bs=1M", f"skip={off >> 20}", f"count={size >> 20}",
                        "status=none"], check=True)
        subprocess.run(["debugfs", "-w", "-R", "clri <2>", part], check=True, capture_output=True)  # no root inode
        subprocess.run(["dd", f"if={part}", f"of={base}", "bs=1M", f"seek={off >> 20}", "conv=notrunc",
                        "status=none"], check=True)
        for policy, mode in (("tmpfs", "tmpfs"), ("readonly", "none")):
            with self.subTest(policy=policy):
                disk = self.disk(f"corrupt-{policy}.img", source=base)
                m = self.boot(disk=disk, words=f"strata.data.on_failure={policy}")
                m.wait_shell()
                self.assertTrue(m.seen(r"data partition /dev/vda3 \(LABEL=data\): mount ext4"))
                self.assertTrue(m.seen(r"DEGRADED BOOT"))
                status = json.loads(m.ok("cat /run/strata/status"))
                self.assertEqual(status["upper"]["mode"], mode)
                self.assertTrue(status["degraded"])
                m.close()
        disk = self.disk("corrupt-rescue.img", source=base)
        m = self.boot(disk=disk, words="strata.data.on_failure=rescue")
        m.expect(r"BOOT FAILED \(attempt 1\): data partition /dev/vda3 .*\(data on_failure = rescue\)")
        m.expect(r"strata-rescue# ")
        # Nothing was formatted: the damaged filesystem is still there to repair.
        # (BusyBox here has no blkid: read the ext4 magic and label from the superblock.)
        self.assertEqual(m.ok("dd if=/dev/vda3 bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1").split(), ["53", "ef"])
        self.assertEqual(m.ok("dd if=/dev/vda3 bs=1 skip=1144 count=4 2>/dev/null; echo").strip(), "data")

    def new_lower(self, disk, version, extra=None):
        img = self.path(f"root-v{version}.squashfs")
        args = ["mkrootfs", self.board, img, "squashfs", str(version)]
        if extra:
            args.append(extra)
        self.tool(*args)
        off, _ = partition_offset(disk, "root-a")
        subprocess.run(["dd", f"if={img}", f"of={disk}", "bs=1M", f"seek={off >> 20}", "conv=notrunc",
                        "status=none"], check=True)

    def test_new_lower_under_keep_discard_preserve(self):
        extra = self.path("v2-extra")
        os.makedirs(os.path.join(extra, "var/lib/app"))
        with open(os.path.join(extra, "var/lib/app/new-in-v2.conf"), "w") as f:
            f.write("v2\n")
        for policy in ("keep", "discard", "preserve"):
            with self.subTest(policy=policy):
                disk = self.disk(f"lower-{policy}.img")
                words = f"strata.upper.on_lower_change={policy} strata.upper.preserve=/etc/hostname"
                m = self.boot(disk=disk, words=words)
                m.wait_shell()
                m.ok("echo custom > /etc/hostname && echo other > /etc/other && sync")
                m.send("poweroff -f\n")
                m.wait_exit(60)
                self.new_lower(disk, 2, extra)
                m = self.boot(disk=disk, words=words)
                m.wait_shell()
                self.assertIn("VERSION_ID=2", m.ok("cat /etc/os-release"))
                host = m.sh("cat /etc/hostname")[1].strip()
                other = m.sh("cat /etc/other")[0] == 0
                expect = {"keep": ("custom", True), "discard": ("", False), "preserve": ("custom", False)}[policy]
                self.assertEqual((host if host == "custom" else "", other), expect)
                self.assertTrue(m.seen(rf"lower image changed .*: {policy}"))
                # new_files = add: a file the new image ships appears in the persistent path.
                self.assertEqual(m.ok("cat /var/lib/app/new-in-v2.conf").strip(), "v2")
                m.close()


if __name__ == "__main__":
    unittest.main()
