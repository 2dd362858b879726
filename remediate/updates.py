"""updates.applied: apply the pending updates, non-interactively, keeping local
configuration files, on hosts whose inventory allows it (`updates: {auto_apply:
true}`, set per host or group), then restart the services that still run deleted
(upgraded) libraries, only those the inventory marks restartable (`updates:
{restart_services: [cron]}`). --serial, --interval and --max-fail pace the fleet as
for every fix. The re-check judges afresh: 0 pending, no listed service on deleted
libraries (a service the upgrade itself made stale is found by it, and restarted by the
next --remediate).

Restarts are the engine's Service action (as service.running starts a service):
`systemctl restart -- NAME`, else `service NAME restart`; a SysV service without an
init script is refused, as there. No service is restarted that the inventory does not
name: a restart cuts a daemon's clients (a database, a file server's sessions), which a
person schedules. sshd is no exception either way: Debian's unit and init script test
the configuration (`sshd -t`) before they restart the listener, and open sessions
survive it, but a listener that does not come back locks out every new login, so it is
restarted only where the inventory names it (`restart_services: [ssh]`).

What an upgrade cannot fix is refused with what to do: a reboot that is due, stale
package lists (set `updates.refresh_lists` or refresh them), updates apt keeps back
(they need new packages: `apt-get dist-upgrade` is a decision for a person).

No inventory value reaches the upgrade command (it is one of three fixed commands);
the vars that decide are checked here and a bad one refuses the plan: `updates` a
mapping, `auto_apply` exactly true, `max_list_age_days` a number, the package
manager one of apt, dnf, yum, every `restart_services` name a service name
(values.unit: never an option, no '/').
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.pkgstate import update_settings
from fleetcheck.facts.restart import findings, service_name
from fleetcheck.remediation import RunCommand, Service, fix, refuse
from fleetcheck.remediation.edit import unsafe

UPGRADE = {
    "apt": Command("DEBIAN_FRONTEND=noninteractive apt-get -y -q "
                   "-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef "
                   "upgrade"),
    "dnf": Command("dnf -y upgrade"),
    "yum": Command("yum -y update"),
}


def _max_age(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        age = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return age if math.isfinite(age) and age >= 0 else None


def _restartable(conf) -> tuple[list[str] | None, str | None]:
    """The names of updates.restart_services, or (None, why they are refused)."""
    names = conf.get("restart_services")
    if not isinstance(names, list):
        return None, ("updates.restart_services must be a list of service names, got "
                      f"{values.describe(names)}")
    why = unsafe([(values.unit, name, f"updates.restart_services[{i}]")
                  for i, name in enumerate(names)])
    return (None, why) if why else (names, None)


def _upgrade(ctx, conf, state, max_age) -> tuple[list, list[str]]:
    """The upgrade (when allowed and something is pending), or why there is none."""
    if state.manager not in UPGRADE:
        return [], [f"no upgrade command for the package manager "
                    f"{values.shown(state.manager)}"]
    if state.manager == "apt":
        sim = ctx.facts.get("apt")
        count, kept = len(sim.upgrades), sim.not_upgraded
    else:
        count, kept = len(ctx.facts.get("dnf", manager=state.manager).updates), 0
    if count and conf.get("auto_apply") is True:
        return [RunCommand(f"apply {count} pending update(s) ({state.manager}, local "
                           "config files kept)", command=UPGRADE[state.manager])], []
    reasons = []
    if count:
        reasons.append(f"{count} pending update(s), but automatic updates are not allowed "
                       "for this host (inventory var updates.auto_apply: true)")
    if kept:
        reasons.append(f"{kept} update(s) kept back by apt: they need new packages "
                       "(apt-get dist-upgrade, by hand)")
    if state.reboot_required or state.kernel_outdated:
        reasons.append("a reboot is due: schedule it")
    age = state.lists_age_days
    if age is None or age > max_age:
        reasons.append("the package lists are stale: set updates.refresh_lists or refresh them")
    return [], reasons


def _restarts(ctx, names: list[str]) -> tuple[list, list[str]]:
    """A restart of each service of `names` that runs deleted libraries (in the order
    found, once each), and what is left to a person."""
    processes = ctx.vars.get("service_processes")
    found = findings(ctx.facts.get("restart"))
    pids: dict[str, list[str]] = {}
    others = []
    for finding in found:
        name = service_name(finding, names, processes if isinstance(processes, Mapping)
                            else None)
        if name is None:
            others.append((finding.service or finding.comm or "?")
                          + (f" (pid {finding.pid})" if finding.pid else ""))
        else:
            pids.setdefault(name, []).extend([str(finding.pid)] if finding.pid else [])
    actions, reasons = [], []
    for name, running in pids.items():
        state = ctx.facts.get("service", name=name)
        if state.init == "sysv" and not state.known:
            reasons.append(f"{name} runs deleted libraries but has no init script on this "
                           "host: restart it by hand")
            continue
        actions.append(Service(f"restart {name}: it runs deleted (upgraded) libraries"
                               + (f" (pid {', '.join(running[:5])})" if running else ""),
                               name=name, operation="restart"))
    if others:
        reasons.append(f"not in updates.restart_services, restart by hand (or name them "
                       f"there): {', '.join(sorted(set(others))[:10])}")
    return actions, reasons


@fix("updates.applied")
def plan_updates(ctx):
    """Where `updates: {auto_apply: true}` (host or group): `apt-get -y -o
    Dpkg::Options::=--force-confold upgrade` (local config files kept) or `dnf -y
    upgrade` / `yum -y update`; then a restart (`systemctl restart`, else `service NAME
    restart`) of each service that runs deleted libraries and is named in
    `updates.restart_services`, never another. A due reboot, stale lists, updates apt
    keeps back and services not named are refused with what to do."""
    updates = ctx.vars.get("updates")
    if updates is not None and not isinstance(updates, Mapping):
        return refuse(ctx.check_id, ctx.host, "the var updates must be a mapping, got "
                      f"{values.describe(updates)}")
    try:
        conf = update_settings(ctx.vars)
    except (TypeError, ValueError, AttributeError) as exc:
        return refuse(ctx.check_id, ctx.host, f"the vars updates / apt cannot be read: {exc}")
    names, why = _restartable(conf)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    restart = conf.get("check_deleted_libs") is True and bool(names)
    if conf.get("auto_apply") is not True and not restart:
        return refuse(ctx.check_id, ctx.host, "automatic updates are not allowed for this "
                      "host (inventory var updates.auto_apply: true), and no service may "
                      "be restarted (updates.restart_services)")
    max_age = _max_age(conf.get("max_list_age_days"))
    if max_age is None:
        return refuse(ctx.check_id, ctx.host, "updates.max_list_age_days must be a number "
                      f"of days, got {values.describe(conf.get('max_list_age_days'))}")
    state = ctx.facts.get("pkgstate")
    if conf["refresh_lists"]:
        state = ctx.facts.get("pkgstate", after_refresh=True)
    if state.manager not in UPGRADE and not restart:
        return refuse(ctx.check_id, ctx.host, f"no upgrade command for the package manager "
                      f"{values.shown(state.manager)}")
    actions, reasons = _upgrade(ctx, conf, state, max_age)
    if restart:
        more, why = _restarts(ctx, names)
        actions += more
        reasons += why
    if actions:
        return ctx.plan(*actions)
    return refuse(ctx.check_id, ctx.host, "; ".join(reasons) or "nothing to upgrade or "
                  "restart")
