"""Power cuts at every step of `strata update`: the next boot comes up on
slot a (or on b on trial, once its trial is durably recorded, with a good),
and the update can be run again to its end."""
import os
import subprocess
import unittest

from base import points_for
from cuts import CutTest
import slots

# In the order the update reaches them.
POINTS = [
    "update-marked-bad", "state-update-begin-between-copies", "update-window-open",
    "update-streamed-25", "update-streamed-50", "update-streamed-75", "update-streamed",
    "update-synced", "update-verified", "update-window-closed",
    "seed-copied", "seed-old-moved", "update-seeded",
    "state-update-finish-between-copies", "update-done",
]
# From these on the trial may be on flash: slot b may boot.
TRIAL_MAY_BE_RECORDED = POINTS.index("state-update-finish-between-copies")


class UpdateCuts(CutTest):
    def base_with_good_b(self):
        """Slot a running, slot b good with version 2 (updated, marked good,
        rolled back): a cut must leave b marked bad, never half-written and good."""
        base = self.fresh("base.img")
        m = self.boot(base)
        self.update(m)
        m.send("reboot\n")
        m.wait_exit(90)
        m = self.boot(base)
        m.ok("strata mark-good && strata rollback --no-reboot && sync")
        m.send("reboot\n")
        m.wait_exit(90)
        m = self.boot(base)
        s = slots.slots(m)
        self.assertEqual((s["booted"], s["now"]["b"]["status"]), ("a", "good"))
        m.power_cut()
        return base

    def test_cut_at_every_update_step(self):
        base = self.base_with_good_b()
        for point in points_for(self.board, POINTS):
            i = POINTS.index(point)
            with self.subTest(point=point):
                disk = self.copy(base, f"cut-{point}.img")
                self.cut_at(disk, point, f"{self.tape.stream(0)} | strata update -")
                m, s = self.check_recovered(disk)
                if i < TRIAL_MAY_BE_RECORDED:
                    self.assertEqual(s["booted"], "a", f"cut at {point}")
                    self.assertEqual(s["now"]["b"]["status"], "bad", f"cut at {point}")
                if point == "update-done":
                    self.assertEqual((s["booted"], s["now"]["b"]["status"]), ("b", "trial"))
                if s["booted"] == "a":
                    # Nothing stale is left behind: no lock, no open window.
                    self.assertEqual(slots.readonly(m, "b"), "1")
                    self.assertIn("update done", self.update(m))
                else:
                    self.assertIn("mark-good", m.ok("strata mark-good"))
                m.power_cut()

    def test_cut_during_an_image_file_update(self):
        tree = os.path.join(self.dir, "data-tree")
        os.makedirs(os.path.join(tree, "strata", "slots"), exist_ok=True)
        subprocess.run(["cp", os.path.join(slots.out_dir(self.board), "root.squashfs"),
                        os.path.join(tree, "strata", "slots", "slot-a.img")], check=True)
        data = os.path.join(self.dir, "data.ext4")
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "data", "-d", tree, "-F", data, "64M"], check=True)
        base = os.path.join(self.dir, "files.img")
        slots.tool("mkdisk", self.board, base, f"data={data}")
        words = "strata.slots.mode=files"
        for point in ("update-window-open", "update-streamed-50"):
            with self.subTest(point=point):
                disk = self.copy(base, f"files-cut-{point}.img")
                self.cut_at(disk, point, f"{self.tape.stream(0)} | strata update -", words)
                m, s = self.check_recovered(disk, words)
                self.assertEqual((s["booted"], s["now"]["b"]["status"]), ("a", "bad"))
                images = "/run/strata/data/strata/slots"
                self.assertRegex(m.ok(f"grep ' {images} ' /proc/self/mountinfo"), r" ro,")
                self.assertIn("update done", self.update(m))
                m.power_cut()


if __name__ == "__main__":
    unittest.main()
