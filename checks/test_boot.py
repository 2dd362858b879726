"""The boot (LPIC-2 202): the host boots into the declared target or runlevel
(boot.default_target), and the services that must run start at boot while those that
must not do not (boot.enabled, the complement of service.running: a daemon running
now but not enabled is down after the next reboot). All of it from the var `boot`
(fleetcheck.facts.boot.VARS)."""

import pytest

from fleetcheck.facts.boot import (NEVER_DEFAULT, RUNLEVEL_TARGETS, canonical_target,
                                   declared_target, settings)
from fleetcheck.facts.boot_enabled import boot_runlevels, expectations, judge


def _target_facts(host, item):
    if settings(host.vars).get("default_target") is not None:
        yield "boot"


@pytest.mark.check("boot.default_target", severity="medium", facts=[_target_facts],
                   title="the host boots into the declared target or runlevel",
                   compare={"default target": ("declared_target", "default"),
                            "SysV runlevel": ("declared", "initdefault"),
                            "init": (None, "init")})
def test_boot_default_target(host, facts, evidence):
    """systemd: `systemctl get-default`; SysV init: the initdefault entry of
    /etc/inittab; a host with neither (a container, busybox init) is not judged. Var
    `boot.default_target`: a target (multi-user, graphical.target) or a runlevel (3),
    mapped as systemd maps them (runlevelN.target: 2, 3, 4 multi-user, 5 graphical, 1
    rescue): a SysV host declared multi-user passes on 2, 3 or 4, one declared 3 only
    on 3. A server that boots graphical runs a display manager nobody uses; one that
    boots rescue has no network. Without an initdefault, init asks on the console at
    boot: a host that never comes up unattended. --remediate runs `systemctl set-default
    -- TARGET`, or rewrites the initdefault line of /etc/inittab (read back first)."""
    declared = settings(host.vars).get("default_target")
    if declared is None:
        pytest.skip("the default target is not judged (boot.default_target is null)")
    level, target = declared_target(declared)
    boot = facts.boot
    evidence.add(init=boot.system, declared=str(declared), declared_target=target)
    if boot.system == "none":
        pytest.skip("neither systemd nor /etc/inittab: no default target or runlevel "
                    "(a container's init)")
    if boot.system == "systemd":
        now = canonical_target(boot.target)
        evidence.add(default=boot.target)
        if boot.target is None:
            pytest.fail(f"no default target (default.target is missing), declared {target}",
                        pytrace=False)
        assert now == target, f"boots into {boot.target}, declared {target}"
        return
    evidence.add(initdefault=boot.runlevel, inittab_lines=boot.initdefault_lines)
    if boot.runlevel is None:
        pytest.fail(f"/etc/inittab has no initdefault runlevel (init asks on the console "
                    f"at boot), declared {declared}", pytrace=False)
    if level is not None:
        assert boot.runlevel == level, f"boots into runlevel {boot.runlevel}, declared " \
                                       f"runlevel {level}"
        return
    if target in NEVER_DEFAULT or target not in RUNLEVEL_TARGETS.values():
        pytest.fail(f"{target} has no SysV runlevel (runlevel {boot.runlevel} here)",
                    pytrace=False)
    now = RUNLEVEL_TARGETS[boot.runlevel]
    assert now == target, f"boots into runlevel {boot.runlevel} ({now}), declared {target}"


def _enabled_facts(host, item):
    want, clashes = expectations(host.vars)
    if want or clashes:
        yield from ("boot_enabled", "boot")


@pytest.mark.check("boot.enabled", severity="medium", facts=[_enabled_facts],
                   title="declared services start at boot, declared-disabled ones do not",
                   compare={"services at boot": (None, "states"),
                            "runlevels": (None, "runlevels"),
                            "not judged": (None, "not_judged")})
def test_boot_enabled(host, facts, evidence):
    """Var `boot.enabled` (services that must start at boot), `boot.disabled` (must not:
    masked counts as disabled) and, unless `boot.services_enabled` is false, every
    service of `services`: a daemon that runs now but is not enabled is down after the
    next reboot. systemd: `systemctl list-unit-files` (enabled, enabled-runtime; a static,
    indirect, alias or generated unit cannot be enabled itself and passes); SysV: a start
    (S) link in /etc/rc<N>.d for inittab's default runlevel N (2-5 when unknown) or in
    rcS.d (Debian, update-rc.d), or `chkconfig --list` on RHEL 6. A service of `services`
    with no unit or init script (started another way) is left to service.running.
    --remediate runs `systemctl enable|disable -- UNIT`, `update-rc.d NAME
    enable|disable` (defaults when it has no link yet) or `chkconfig NAME on|off`."""
    want, clashes = expectations(host.vars)
    if not want and not clashes:
        pytest.skip("no service declared (boot.enabled, boot.disabled, services)")
    enabled = facts.boot_enabled
    runlevels = boot_runlevels(enabled, facts.boot)
    judged, states, skipped = judge(want, enabled, runlevels)
    found = [text for _, _, text in judged]
    found += [f"{name} is declared both enabled and disabled" for name in clashes]
    evidence.add(init=enabled.system, runlevels=list(runlevels) or None, states=states,
                 not_judged=skipped or None)
    if found:
        evidence.advice = ("systemctl enable|disable NAME, update-rc.d NAME enable|disable "
                           "or chkconfig NAME on|off")
    assert not found, "; ".join(found)
