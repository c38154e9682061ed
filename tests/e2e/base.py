"""Shared set-up for the QEMU scenarios: the board comes from STRATA_BOARD
(default qemu-aarch64); each test gets a scratch dir and a console log."""
import os
import shutil
import tempfile
import unittest

import subprocess

from machine import TOP, Machine, fresh_disk, out_dir

BOARD = os.environ.get("STRATA_BOARD", "qemu-aarch64")


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

    def boot(self, disk=None, words="", initrd=None, qemu_extra="", drives=(), firmware=False, blkdebug=None):
        log = os.path.join(self.tmp, f"console-{len(self.machines)}.log")
        m = Machine(self.board, disk or self.disk(), words, initrd, log, qemu_extra, drives, firmware,
                    blkdebug).start()
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
