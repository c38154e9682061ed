"""The tested Debian root (tools/build-debian): boots with systemd on the
serial console, root logged in; helpers to reach a running system."""
import os

from machine import out_dir


def artifact(board, name):
    return os.path.join(out_dir(board), "debian", name)


def wait_running(m, timeout=600):
    """Waits for root's shell on the console, then for systemd to finish
    starting: returns what `systemctl is-system-running --wait` says."""
    m.expect(r"root@strata-debian:~# ", timeout)
    m.sh("true", timeout=60)
    # Services may write to the console meanwhile: the answer is the last line.
    out = m.sh("systemctl is-system-running --wait", timeout=timeout)[1].strip()
    return out.splitlines()[-1] if out else out


def failed_units(m):
    return m.ok("systemctl list-units --state=failed --no-legend --plain", timeout=60).strip()


def reboot(m, timeout=300):
    """A clean reboot through systemd; -no-reboot makes QEMU exit."""
    m.send("systemctl reboot\n")
    m.wait_exit(timeout)
