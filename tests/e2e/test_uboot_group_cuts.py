"""Power cuts while `strata update` writes a group ([slots] bootloader =
uboot: boot-b, then root-b, then the trial): every next boot comes up on the
good slot a, the bootloader state never calls the half-written b bootable,
and the update completes when repeated."""
import unittest

from groups import GroupTest, good_group
from slots import Tape
from uboot import newest_state, slot_boot_image, uboot_disk, write_partition


# The cut points, in the order a group reaches them: the boot image's window
# open and half written, the boundary between the two images (boot-b done,
# root-b not begun), the root half written, and the commit point between the
# record (trial) and the bootloader state (still bad). Each costs a boot and a
# 50 MB stream through U-Boot; the host system tests cut at every point.
CUTS = ["update-boot-window-open", "update-boot-streamed-50", "update-boot-window-closed", "update-streamed-50",
        "state-update-finish-before-bootloader"]


class GroupUpdateCuts(GroupTest):
    def test_cut_at_the_steps_of_writing_a_group(self):
        """Each boot checks the cut before it and makes the next: one boot and
        one update per point, slot a's cmdline.txt naming the crash point."""
        tape = Tape(self.path("tape.img"), [good_group(self.board)])
        disk = uboot_disk(self)
        points = CUTS + [None]
        for i, point in enumerate(points):
            words = f"strata.crash_at={point}" if point else ""
            write_partition(disk, self.board, "boot-a",
                            slot_boot_image(self.board, self.path(f"boot-a-{i}.vfat"), words=words))
            m = self.fboot(tape, disk)
            m.expect(r"strata-boot: booting slot a: ", 60)
            m.wait_shell(120)
            s = self.status(m)
            self.assertEqual(s["booted"], "a", f"after the cut at {points[i - 1] if i else None}")
            if i:
                # The bootloader never saw a half-written b as bootable.
                self.assertEqual(s["bootloader_state"]["b"]["status"], "bad", f"cut at {points[i - 1]}: {s}")
                out = m.ok("strata status")
                self.assertRegex(out, r"bootloader: uboot .*order a b, slot a good, slot b bad", points[i - 1])
            if point is None:
                break
            m.send(f"{tape.stream(0)} | strata update -\n")
            m.expect(rf"strata\.crash_at={point}: waiting for the power cut", 300)
            m.power_cut()
            st = newest_state(disk, self.board)
            self.assertEqual((st["strata_order"], st["strata_b"]), ("a b", "bad"), f"cut at {point}")
        # The cut after the record said trial left a disagreement the status names.
        self.assertIn("DISAGREE", m.ok("strata status"))
        # Repeated, the update runs to its end and the group goes on trial.
        rc, out = m.sh(f"{tape.stream(0)} | strata update -", timeout=300)
        self.assertEqual(rc, 0, out)
        m.send("poweroff -f\n")
        m.wait_exit(60)
        st = newest_state(disk, self.board)
        self.assertEqual((st["strata_order"], st["strata_b"]), ("b a", "trial"))


if __name__ == "__main__":
    unittest.main()
