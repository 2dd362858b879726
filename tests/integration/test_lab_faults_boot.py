"""The boot area's lab faults (lab/faults/boot.py), each seen by a probe on the host and
gone once healed. The lab runs no systemd: the rc links are the host's own, changed by
the real update-rc.d; /etc/inittab is Debian sysvinit's stock file (host_files)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

LINKS = "ls /etc/rc2.d | grep -E '^[SK][0-9]{2}%s$' || true"


def test_lab_boots_runlevel_2_with_the_ad_dc_disabled(healthy, ssh):
    assert ssh.out("web1", "grep -E '^[^#].*:initdefault:' /etc/inittab").strip() == \
        "id:2:initdefault:"
    assert ssh.out("web1", LINKS % "samba-ad-dc").strip() == "K01samba-ad-dc"


def test_boot_disabled(healthy, ssh):
    ssh.toggles("web1", "boot-disabled", LINKS % "cron", "S01cron", "K01cron")


def test_boot_unwanted_enabled(healthy, ssh):
    ssh.toggles("web1", "boot-unwanted-enabled", LINKS % "samba-ad-dc", "K01samba-ad-dc",
                "S01samba-ad-dc")


def test_default_runlevel_is_idempotent(healthy, ssh):
    probe = "grep -E '^[^#].*:initdefault:' /etc/inittab"
    healthy.fault("web1", "default-runlevel")
    healthy.fault("web1", "default-runlevel")
    assert ssh.out("web1", probe).strip() == "id:5:initdefault:", "applied twice: one line"
    healthy.heal("web1", "default-runlevel")
    ssh.toggles("web1", "default-runlevel", probe, "id:2:initdefault:", "id:5:initdefault:")
