"""The boot area's lab faults (boot.*). The lab's hosts run no systemd (tini is PID 1):
the SysV path is the real one here. Each host gets Debian sysvinit's stock
/etc/inittab (id:2:initdefault:, from the sysvinit package: the fixture
tests/fixtures/facts/boot/debian-sysvinit.txt records its source), so the default
runlevel is a real initdefault line; its rc links are the rootfs' own (Debian's
update-rc.d layout, no insserv: S01/K01), changed with the real update-rc.d. At boot
the lab disables samba-ad-dc (the AD DC of a package whose standalone smbd the lab
runs), which the lab inventory declares boot.disabled."""

from __future__ import annotations

from pathlib import Path

from .base import ANY, Fault

INITTAB = "/etc/inittab"
BOOT_SCRIPT = "/etc/fleetcheck-lab/boot.d/boot.sh"
UNWANTED = "samba-ad-dc"
CAPTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "facts"

FAULTS = {
    "boot-disabled": Fault(ANY, "cron (a declared service) is disabled at boot: "
                           "update-rc.d cron disable (its S links become K links)",
                           "boot.enabled", True),
    "boot-unwanted-enabled": Fault(ANY, f"{UNWANTED} (declared boot.disabled) is enabled at "
                                   f"boot again: update-rc.d {UNWANTED} enable",
                                   "boot.enabled", True),
    "default-runlevel": Fault(ANY, "the default runlevel is changed to 5 (graphical) in "
                              "/etc/inittab's initdefault line (declared multi-user)",
                              "boot.default_target", True),
}


def stock_inittab() -> str:
    return (CAPTURES / "boot" / "debian-sysvinit.txt").read_text()


def host_files(lab, h) -> dict[str, str]:
    """Debian's stock /etc/inittab, and the boot step disabling samba-ad-dc."""
    return {INITTAB: stock_inittab(),
            BOOT_SCRIPT: f"update-rc.d {UNWANTED} disable >/dev/null 2>&1 || true\n"}


def _boot_disabled(lab, h, heal):
    lab.exec(h.name, ["update-rc.d", "cron", "enable" if heal else "disable"], check=True)


def _boot_unwanted_enabled(lab, h, heal):
    lab.exec(h.name, ["update-rc.d", UNWANTED, "disable" if heal else "enable"], check=True)


def _default_runlevel(lab, h, heal):
    if heal:
        lab.put_file(h.name, INITTAB, stock_inittab())
    else:
        lab.sh(h.name, r"sed -i 's/^\([^#:]*\):[0-9S]*:initdefault:/\1:5:initdefault:/' "
                       f"{INITTAB}")
