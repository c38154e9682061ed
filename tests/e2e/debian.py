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


def boot(test, disk, drive, words="", firmware=False):
    """Boots the Debian disk with DRIVE attached (a file for the guest to read):
    1 GiB, since bundles and artifacts are copied into /run (tmpfs) to install.
    firmware: through U-Boot from disk-uboot.img (its words are in cmdline.txt);
    the disk goes last, since virtio-mmio enumerates disks in reverse and
    U-Boot's distro boot scans virtio 0 only. Returns the machine once systemd
    runs with no failed unit."""
    if firmware:
        m = test.boot(disk=drive, drives=[disk], qemu_extra="-m 1024", firmware=True)
    else:
        m = test.boot(disk=disk, words=words, drives=[drive], qemu_extra="-m 1024",
                      initrd=artifact(test.board, "initramfs.cpio.gz"))
    test.assertEqual(wait_running(m), "running", m.tail())
    test.assertEqual(failed_units(m), "")
    return m


def file_drive(test, src, name):
    """SRC as a drive the guest can read (padded to whole blocks and one more, so its
    size tells it from the disk): returns (drive path, SRC's size)."""
    size = os.path.getsize(src)
    drive = test.path(name)
    with open(src, "rb") as f, open(drive, "wb") as out:
        out.write(f.read())
        out.write(b"\0" * (-size % 4096 + 4096))
    return drive, size


def copy_from_drive(m, drive, size, dest):
    """The first SIZE bytes of DRIVE, found in the guest by its size, into DEST."""
    sectors = os.path.getsize(drive) // 512
    dev = f"$(for d in /sys/block/vd*; do [ \"$(cat $d/size)\" = {sectors} ] && echo /dev/${{d##*/}}; done)"
    m.ok(f"head -c {size} {dev} > {dest}", timeout=300)
