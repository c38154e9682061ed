"""Power cuts during A/B updates and slot-record writes: boot with
strata.crash_at=<point>, run the operation, and when the console says the
point is reached, kill QEMU (the power cut). Then boot again without the
fault and check that the device comes up on a slot it may boot (a good one,
or one on trial whose fallback is good), that the record is readable, and
that the operation can be done again."""
import os
import shutil
import subprocess
import tempfile
import unittest

from base import BOARD
from machine import Machine, fresh_disk
import slots
from slots import Tape, version

CLI_CUT = r"strata\.crash_at={}: waiting for the power cut"
PID1_CUT = r"strata\.crash_at={}: simulating a power cut"


class TapeTest(unittest.TestCase):
    """Scenarios whose disks are set up once per class (in known slot states,
    copied for each test): one scratch dir, the update-2 tape attached to
    every machine, console logs numbered per class."""
    board = BOARD
    prefix = "strata-cuts"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix=f"{cls.prefix}-{cls.board}-")
        cls.count = 0
        cls.tape = Tape(os.path.join(cls.dir, "tape.img"), [slots.bundle(cls.board, 2)])

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("STRATA_KEEP_LOGS"):
            print(f"\n(console logs kept in {cls.dir})")
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.machines = []

    def tearDown(self):
        for m in self.machines:
            m.close()

    @classmethod
    def machine(cls, disk, words="", tape=True, blkdebug=None):
        cls.count += 1
        log = os.path.join(cls.dir, f"console-{cls.count}.log")
        return Machine(cls.board, disk, words, None, log, "", [cls.tape.path] if tape else [],
                       blkdebug=blkdebug).start()

    @classmethod
    def copy(cls, source, name):
        dst = os.path.join(cls.dir, name)
        subprocess.run(["cp", "--sparse=always", source, dst], check=True)
        return dst

    @classmethod
    def fresh(cls, name):
        return fresh_disk(cls.board, cls.dir, name)


class CutTest(TapeTest):
    """Power cuts: boot with a crash point, cut, boot again and check."""

    def boot(self, disk, words=""):
        m = self.machine(disk, words)
        self.machines.append(m)
        m.wait_shell()
        return m

    def update(self, m, check=True):
        rc, out = m.sh(f"{self.tape.stream(0)} | strata update -", timeout=180)
        if check:
            self.assertEqual(rc, 0, out)
        return out

    def cut_at(self, disk, point, action, words="", pid1=False):
        """Boots with the fault, starts `action` (a shell command, or None for
        a point the boot itself reaches), kills QEMU at the point."""
        m = self.machine(disk, f"strata.crash_at={point} {words}".strip())
        self.machines.append(m)
        if action is not None:
            m.wait_shell()
            m.send(action + "\n")
        m.expect((PID1_CUT if pid1 else CLI_CUT).format(point.replace(".", r"\.")), timeout=180)
        m.power_cut()

    def check_recovered(self, disk, words=""):
        """The next boot: up, on a slot it may boot, the record readable."""
        m = self.boot(disk, words)
        s = slots.slots(m)
        now, booted = s["now"], s["booted"]
        self.assertIn(now["health"], ("ok", "one copy", "missing"), now)
        other = "b" if booted == "a" else "a"
        status = now[booted]["status"]
        self.assertTrue(status == "good" or (status == "trial" and now[other]["status"] == "good"),
                        f"booted slot {booted} is {status}: {now}")
        self.assertEqual(version(m), "1" if booted == "a" else "2")
        return m, s
