"""Shared set-up for the QEMU scenarios: the board comes from STRATA_BOARD
(default qemu-aarch64); each test gets a scratch dir and a console log."""
import os
import shutil
import tempfile
import unittest

import subprocess

from machine import TOP, Machine, fresh_disk, out_dir

BOARD = os.environ.get("STRATA_BOARD", "qemu-aarch64")
# The board whose scenarios cut the power at every point; the others (armhf,
# where a boot costs half as much again) cut at every second one. What a cut
# interrupts is the same C++ on every board; what differs (the 32-bit build,
# the kernel, the disk) every second point still reaches. STRATA_ALL_POINTS=1
# runs them all on every board.
REFERENCE_BOARD = "qemu-aarch64"


def points_for(board, points):
    """The cut points a scenario runs on board: all on the reference board,
    every second one (the first and, for an odd count, the last) elsewhere."""
    if board == REFERENCE_BOARD or os.environ.get("STRATA_ALL_POINTS") == "1":
        return list(points)
    return list(points)[::2]


class BoardTest(unittest.TestCase):
    board = BOARD

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"strata-e2e-{self.board}-")
        self.machines = []

    def tearDown(self):
        for m in self.machines:
            m.close()
        ok = all(e is None for _, e in getattr(self._outcome, "errors", [])) if hasattr(self._outcome, "errors") else True
        if os.environ.get("STRATA_KEEP_LOGS") or not ok:
            print(f"\n(console logs kept in {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def disk(self, name="disk.img", source=None):
        return fresh_disk(self.board, self.tmp, name, source)

    def boot(self, disk=None, words="", initrd=None, qemu_extra="", drives=(), firmware=False, blkdebug=None,
             countdown=False):
        log = os.path.join(self.tmp, f"console-{len(self.machines)}.log")
        m = Machine(self.board, disk or self.disk(), words, initrd, log, qemu_extra, drives, firmware,
                    blkdebug, countdown).start()
        self.machines.append(m)
        return m

    def tool(self, *args):
        """Runs one of the project's host tools (tools/NAME ARGS...)."""
        subprocess.run([os.path.join(TOP, "tools", args[0]), *args[1:]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def out(self, name):
        return os.path.join(out_dir(self.board), name)
