"""Power cuts while the slot record is written, by the PID-1 at boot (trial
decrement, a trial out of tries marked bad) and by the CLI (mark-good,
mark-bad, rollback), each between the record's two copies: the next boot
reads one valid copy and comes up on a slot it may boot."""
import unittest

from cuts import CutTest
import slots


class RecordCuts(CutTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # b on trial (3 tries), and b on trial with its last try used.
        cls.updated = cls.prepare("updated.img", "")
        cls.exhausted = cls.prepare("exhausted.img", "strata.slots.tries=1", boots_after=1)
        # b good and running (a good too).
        cls.on_b = cls.copy(cls.updated, "on-b.img")
        m = cls.machine(cls.on_b)
        try:
            m.wait_shell()
            m.ok("strata mark-good")
        finally:
            m.close()

    @classmethod
    def prepare(cls, name, words, boots_after=0):
        disk = cls.fresh(name)
        m = cls.machine(disk, words)
        try:
            m.wait_shell()
            rc, out = m.sh(f"{cls.tape.stream(0)} | strata update -", timeout=180)
            assert rc == 0, out
        finally:
            m.close()
        for _ in range(boots_after):
            m = cls.machine(disk, words)
            try:
                m.wait_shell()
            finally:
                m.close()
        return disk

    def test_cut_while_the_boot_counts_a_try(self):
        disk = self.copy(self.updated, "cut-decrement.img")
        self.cut_at(disk, "state-trial-decrement-between-copies", None, pid1=True)
        m, s = self.check_recovered(disk)
        self.assertEqual(s["booted"], "b")
        self.assertIn(s["now"]["b"]["tries"], (1, 2))  # the cut try counted, or not: never more tries

    def test_cut_while_the_boot_marks_an_exhausted_trial_bad(self):
        disk = self.copy(self.exhausted, "cut-mark-bad-at-boot.img")
        self.cut_at(disk, "state-mark-bad-at-boot-between-copies", None, pid1=True)
        m, s = self.check_recovered(disk)
        self.assertEqual((s["booted"], s["now"]["b"]["status"]), ("a", "bad"))

    def test_cut_during_mark_good(self):
        disk = self.copy(self.updated, "cut-mark-good.img")
        self.cut_at(disk, "state-mark-good-between-copies", "strata mark-good")
        m, s = self.check_recovered(disk)
        self.assertEqual(s["booted"], "b")
        m.ok("strata mark-good")
        self.assertEqual(slots.slots(m)["now"]["b"]["status"], "good")

    def test_cut_during_mark_bad(self):
        disk = self.copy(self.on_b, "cut-mark-bad.img")
        self.cut_at(disk, "state-mark-bad-between-copies", "strata mark-bad")
        m, s = self.check_recovered(disk)
        if s["booted"] == "a":
            self.assertEqual(s["now"]["b"]["status"], "bad")

    def test_cut_during_rollback(self):
        disk = self.copy(self.on_b, "cut-rollback.img")
        self.cut_at(disk, "state-rollback-between-copies", "strata rollback --no-reboot")
        m, s = self.check_recovered(disk)
        self.assertEqual(s["now"]["a"]["status"], "good")


if __name__ == "__main__":
    unittest.main()
