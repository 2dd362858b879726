"""The filesystem area's lab faults (lab/faults/fs.py), each seen by a probe on the host
and gone once healed. fstab and mount are each host's own (its mount namespace) and
`automount -m` reads the host's real maps; swap and the disks are the shared kernel's
and this machine's (no swap, no SMART disk), so the hosts carry real captures (the lab
inventory's fs_swap.path and fs_smart.path) and no probe or fault runs swapon. The
autofs daemon cannot run here (no autofs filesystem in the kernel): its running is
proven on unit tests (tests/unit/test_fs_area.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

FS_DIR = "/etc/fleetcheck-lab/fs"


def test_fstab_unmounted_is_idempotent(healthy, ssh):
    entries = "grep -c '^lab-scratch /srv/lab-scratch ' /etc/fstab || true"
    healthy.fault("web1", "fstab-unmounted")
    healthy.fault("web1", "fstab-unmounted")
    assert ssh.out("web1", entries).strip() == "1", "applied twice: one fstab line"
    assert ssh.out("web1", "mountpoint -q /srv/lab-scratch && echo yes || echo no").strip() \
        == "no"
    healthy.heal("web1", "fstab-unmounted")
    ssh.toggles("web1", "fstab-unmounted", entries, "0", "1")


def test_fstab_unmounted_mounts_by_hand_and_heals(healthy, ssh):
    healthy.fault("web1", "fstab-unmounted")
    assert ssh.out("web1", "findmnt --verify >/dev/null && mount -- /srv/lab-scratch && "
                           "findmnt -n -o FSTYPE /srv/lab-scratch").strip() == "tmpfs"
    healthy.heal("web1", "fstab-unmounted")
    assert ssh.out("web1", "mountpoint -q /srv/lab-scratch && echo yes || echo no").strip() \
        == "no"


def test_swap_off(healthy, ssh):
    ssh.toggles("web1", "swap-off", f"tail -n +2 {FS_DIR}/swaps | wc -l", "2", "0")


def test_automount_map_broken(healthy, ssh):
    probe = "automount -m 2>/dev/null | grep -c 'share | .*files1.lab.test:/srv/share' || true"
    ssh.toggles("web1", "automount-map-broken", probe, "1", "0")


def test_disk_failing(healthy, ssh):
    probe = (f"grep -l '\"passed\": false' {FS_DIR}/smart/*.json 2>/dev/null | wc -l")
    ssh.toggles("web1", "disk-failing", probe, "0", "1")
