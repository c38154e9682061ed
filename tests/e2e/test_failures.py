"""Failures that must end in a booted system or a clear message, never a
kernel panic: a root device that never appears, a corrupt config, a missing
init, and the break-into-shell and debug switches."""
import json
import unittest

from base import BoardTest

MISSING = "strata.slots.mode=none strata.root.source=PARTLABEL=no-such-root strata.boot.device_timeout_ms=1500"


class Failures(BoardTest):
    def test_missing_root_rescue_then_retry(self):
        m = self.boot(words=MISSING)
        m.expect(r"BOOT FAILED \(attempt 1\): root device PARTLABEL=no-such-root not found after waiting \d+ ms")
        m.expect(r"/dev/vda1 TYPE=squashfs .*PARTLABEL=root-a")  # the console lists what was seen
        m.expect(r"policy rescue: a shell follows")
        m.expect(r"strata-rescue# ")
        self.assertIn("rescue-ok", m.ok("echo rescue-$((40+2)) && echo rescue-ok"))
        m.send("exit\n")
        m.expect(r"BOOT FAILED \(attempt 2\)")
        m.expect(r"strata-rescue# ")

    def test_missing_root_reboot_policy(self):
        m = self.boot(words=MISSING + " strata.boot.on_failure=reboot strata.boot.reboot_delay=2")
        m.expect(r"BOOT FAILED \(attempt 1\)")
        m.expect(r"rebooting in 2 s")
        m.expect(r"reboot in 1\n")
        m.wait_exit(60)  # -no-reboot: the reboot ends QEMU
        self.assertFalse(m.seen(r"Kernel panic"))

    def test_corrupt_config_boots_with_defaults_and_warnings(self):
        cfg = self.path("corrupt.ini")
        with open(cfg, "wb") as f:
            f.write(b"[root]\nsource = PARTLABEL=root-a\n"
                    b"[upper]\nsize = lots\n"          # line 4: bad value
                    b"this line is not ini\n"           # line 5: not key=value
                    b"[binds]\nreadonly = relative/path\n"  # line 7: bad path
                    b"[nosuch]\nkey = 1\n"              # line 9: unknown section
                    b"\xff\xfe\x00garbage\n")
        initrd = self.path("initrd.gz")
        self.tool("mkinitramfs", self.board, self.out("strata-init"), initrd, cfg)
        m = self.boot(initrd=initrd)
        m.wait_shell()
        self.assertTrue(m.seen(r"config: /etc/strata/strata.ini:4: \[upper\] size = 'lots': not a size .* using '50%' \(the default\) instead"))
        self.assertTrue(m.seen(r"config: /etc/strata/strata.ini:7: \[binds\] readonly = 'relative/path'"))
        self.assertTrue(m.seen(r"config: /etc/strata/strata.ini:9: unknown key \[nosuch\] key"))
        self.assertTrue(m.seen(r"DEGRADED BOOT"))
        status = json.loads(m.ok("cat /run/strata/status"))
        self.assertTrue(status["degraded"])
        self.assertTrue(any("size = 'lots'" in w for w in status["warnings"]), status["warnings"])
        self.assertIn("size=50%", status["upper"]["options"])

    def test_break_before_mount_then_continue(self):
        m = self.boot(words="strata.break=mount")
        m.expect(r"strata.break=mount: shell before the 'mount' stage")
        m.expect(r"strata-rescue# ")
        rc, _ = m.sh("grep -q ' /run/strata/lower ' /proc/mounts")
        self.assertNotEqual(rc, 0, "the lower must not be mounted yet")
        self.assertIn("block", m.ok("ls /sys/class"))
        m.send("exit\n")
        m.wait_shell()
        m.ok("grep -q ' /run/strata/lower ' /proc/mounts")

    def test_bad_init_falls_back(self):
        m = self.boot(words="strata.boot.init=/sbin/no-such-init")
        m.expect(r"cannot exec /sbin/no-such-init: No such file or directory")
        m.wait_shell()
        self.assertEqual(m.ok("cat /proc/1/comm").strip(), "init")

    def test_debug_logs_every_syscall(self):
        m = self.boot(words="strata.debug")
        m.wait_shell()
        log = m.ok("dmesg | grep 'strata: '")
        for call in ("finit_module(", "mount(/dev/vda1, /run/strata/lower, squashfs", "open_tree(", "mount_setattr(",
                     "move_mount(", "pivot_root(., .)"):
            self.assertIn(call, log)


if __name__ == "__main__":
    unittest.main()
