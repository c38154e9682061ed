"""A QEMU board on a pipe: boot it, wait for console markers, run shell
commands and read their exit codes, cut its power. Every wait has a
host-side timeout; a kernel panic anywhere fails the wait at once (QEMU
exits 0 after a panic, so its exit code says nothing)."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
import ctypes

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """QEMU gets SIGKILL when the test process dies (say a ctest timeout),
    instead of running on as an orphan in its own session."""
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PANIC = re.compile(r"Kernel panic|Attempted to kill init")
COUNTDOWN = "Hit any key to stop autoboot"
PROMPT = re.compile(r"\n=> ")


class BootError(AssertionError):
    pass


class Machine:
    def __init__(self, board, disk, words="", initrd=None, log=None, qemu_extra="", drives=(), firmware=False,
                 blkdebug=None, countdown=False):
        """firmware: boot through U-Boot from the disk alone (no kernel words);
        otherwise QEMU loads the kernel and initramfs itself (faster).
        countdown: let U-Boot's autoboot count down (2 s of wall time in Debian's
        default environment); otherwise a key stops it and `boot` runs the same
        bootcmd at once."""
        self.board, self.disk, self.words, self.drives = board, disk, words, list(drives)
        self.firmware = firmware
        self.skip_countdown = firmware and not countdown
        self.stdin_lock = threading.Lock()
        self.blkdebug = blkdebug  # a QEMU blkdebug config for the main disk (I/O errors)
        self.initrd, self.qemu_extra = initrd, qemu_extra
        self.log_path = log
        self.buf = ""
        self.pos = 0
        self.cond = threading.Condition()
        self.proc = None

    def start(self):
        cmd = [os.path.join(TOP, "tools", "run-qemu"), self.board, "--disk", self.disk]
        if self.blkdebug:
            cmd += ["--blkdebug", self.blkdebug]
        for d in self.drives:
            cmd += ["--drive", d]
        if not self.firmware:
            cmd += ["--direct"] + (["--initrd", self.initrd] if self.initrd else [])
            cmd += ["--"] + self.words.split()
        env = dict(os.environ, QEMU_EXTRA=self.qemu_extra)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.log = open(self.log_path, "a") if self.log_path else None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                break
            text = data.decode("utf-8", "replace").replace("\r", "")
            if self.log:
                self.log.write(text)
                self.log.flush()
            with self.cond:
                self.buf += text
                if self.skip_countdown:
                    self._stop_countdown()
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _stop_countdown(self):
        """U-Boot's autoboot: a key at the countdown, then `boot` at the prompt
        (once per U-Boot start: a reset runs U-Boot again)."""
        at = self.buf.rfind(COUNTDOWN)
        if at < 0 or at == getattr(self, "_countdown_at", None):
            return
        if not getattr(self, "_key_sent", False):
            self._write(b"\n")
            self._key_sent = True
        if PROMPT.search(self.buf, at):
            self._write(b"boot\n")
            self._countdown_at, self._key_sent = at, False

    def _write(self, data):
        with self.stdin_lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except OSError:
                pass  # QEMU gone: the waits say so

    def expect(self, pattern, timeout=60, allow_panic=False):
        """Waits for pattern after the last match; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                if not allow_panic and PANIC.search(self.buf):
                    raise BootError(f"kernel panic while waiting for {pattern!r}:\n{self.tail()}")
                if self.proc.poll() is not None:
                    # Let the reader drain what is left before giving up.
                    self.cond.wait(0.5)
                    m = rx.search(self.buf, self.pos)
                    if m:
                        self.pos = m.end()
                        return m
                    raise BootError(f"QEMU exited ({self.proc.returncode}) before {pattern!r}:\n{self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BootError(f"timed out after {timeout} s waiting for {pattern!r}:\n{self.tail()}")
                self.cond.wait(min(left, 1.0))

    def seen(self, pattern):
        """True when pattern occurs anywhere in the output so far."""
        with self.cond:
            return re.search(pattern, self.buf) is not None

    def tail(self, n=60):
        return "\n".join(self.buf.splitlines()[-n:])

    def send(self, text):
        with self.stdin_lock:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()

    def wait_shell(self, timeout=90):
        self.expect(r"strata-demo: system up", timeout)
        self.sh("true", timeout=30)

    def sh(self, cmd, timeout=30):
        """Runs cmd in the console shell; returns (exit code, output)."""
        tok = uuid.uuid4().hex[:10]
        self.send(f"echo {tok}-BEGIN; {cmd}; echo {tok}-$?-END\n")
        self.expect(rf"\n{tok}-BEGIN\n", timeout)
        start = self.pos
        m = self.expect(rf"{tok}-(\d+)-END", timeout)
        return int(m.group(1)), self.buf[start:m.start()]

    def ok(self, cmd, timeout=30):
        rc, out = self.sh(cmd, timeout)
        if rc != 0:
            raise AssertionError(f"'{cmd}' exited {rc}:\n{out}")
        return out

    def wait_exit(self, timeout=60):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BootError(f"QEMU still running after {timeout} s:\n{self.tail()}")

    def power_cut(self):
        """Pulls the plug: SIGKILL, no flush of anything in the guest."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self):
        self.power_cut()
        # QEMU is gone: the reader reaches the end of its output, then the log closes.
        if self.proc:
            self.reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout) if self.proc else ():
            try:
                f.close()
            except OSError:
                pass
        if self.log:
            self.log.close()


def out_dir(board):
    return os.path.join(TOP, "out", board)


def fresh_disk(board, tmpdir, name="disk.img", source=None):
    """A private copy of the board's disk image (sparse)."""
    dst = os.path.join(tmpdir, name)
    subprocess.run(["cp", "--sparse=always", source or os.path.join(out_dir(board), "disk.img"), dst], check=True)
    return dst
