"""The PAM area's lab faults (pam.*). Every lab host's /etc/pam.d/su is Debian's own
(util-linux's, the capture tests/fixtures/facts/pam/debian12-su.txt) with its pam_wheel
line in force, as a hardened host has it: `auth required pam_wheel.so` right after
pam_rootok; a boot step makes the wheel group (Debian has none by default)."""

from __future__ import annotations

from .base import ANY, CAPTURES, Fault

SU = "/etc/pam.d/su"
BOOT = "/etc/fleetcheck-lab/boot.d/pam.sh"
BOOT_SCRIPT = ("# fleetcheck lab (lab/faults/pam.py): the group su requires\n"
               "getent group wheel >/dev/null 2>&1 || groupadd -r wheel\nexit 0\n")
COMMENTED = "# auth       required   pam_wheel.so\n"

FAULTS = {
    "pam-wheel-removed": Fault(ANY, "the pam_wheel line of /etc/pam.d/su is deleted: any "
                               "user who knows root's password may su", "pam.su_wheel", True),
}


def healthy_su() -> str:
    stock = (CAPTURES / "pam" / "debian12-su.txt").read_text()
    if COMMENTED not in stock:   # the capture changed: the lab would not be hardened
        raise ValueError(f"{COMMENTED.strip()!r} is not in Debian's su capture")
    return stock.replace(COMMENTED, COMMENTED[2:], 1)


def host_files(lab, h) -> dict[str, str]:
    """Debian's su with pam_wheel in force, and the boot step making the wheel group."""
    return {SU: healthy_su(), BOOT: BOOT_SCRIPT}


def _pam_wheel_removed(lab, h, heal):
    if heal:
        lab.put_file(h.name, SU, healthy_su())
    else:
        lab.sh(h.name, rf"sed -i '/^auth[[:space:]]*required[[:space:]]*pam_wheel\.so/d' {SU}")
