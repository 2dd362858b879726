"""The PAM area's lab fault (lab/faults/pam.py), seen by a probe on the host and gone
once healed: the pam_wheel line of the host's own /etc/pam.d/su, and the wheel group
the boot step made."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

WHEEL = "grep -c '^auth[[:space:]]*required[[:space:]]*pam_wheel.so' /etc/pam.d/su || true"


def test_the_wheel_group_exists(healthy, ssh):
    assert ssh.out("web1", "getent group wheel | cut -d: -f1").strip() == "wheel"


def test_pam_wheel_removed_is_idempotent(healthy, ssh):
    healthy.fault("web1", "pam-wheel-removed")
    healthy.fault("web1", "pam-wheel-removed")
    assert ssh.out("web1", WHEEL).strip() == "0", "applied twice: the line stays gone"
    healthy.heal("web1", "pam-wheel-removed")
    ssh.toggles("web1", "pam-wheel-removed", WHEEL, "1", "0")
