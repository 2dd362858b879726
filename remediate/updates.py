"""updates.applied: apply the pending updates, non-interactively, keeping local
configuration files, on hosts whose inventory allows it (`updates: {auto_apply:
true}`, set per host or group). --serial, --interval and --max-fail pace the fleet
as for every fix. The re-check proves 0 pending.

What an upgrade cannot fix is refused with what to do: a reboot that is due, stale
package lists (set `updates.refresh_lists` or refresh them), updates apt keeps back
(they need new packages: `apt-get dist-upgrade` is a decision for a person).

No inventory value reaches the upgrade command (it is one of three fixed commands);
the vars that decide are checked here and a bad one refuses the plan: `updates` a
mapping, `auto_apply` exactly true, `max_list_age_days` a number, the package
manager one of apt, dnf, yum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.pkgstate import update_settings
from fleetcheck.remediation import RunCommand, fix, refuse

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


@fix("updates.applied")
def plan_updates(ctx):
    """Only where `updates: {auto_apply: true}` (host or group): `apt-get -y -o
    Dpkg::Options::=--force-confold upgrade` (local config files kept) or `dnf -y
    upgrade` / `yum -y update`; a due reboot, stale lists or updates apt keeps back are
    refused with what to do."""
    updates = ctx.vars.get("updates")
    if updates is not None and not isinstance(updates, Mapping):
        return refuse(ctx.check_id, ctx.host, "the var updates must be a mapping, got "
                      f"{values.describe(updates)}")
    try:
        conf = update_settings(ctx.vars)
    except (TypeError, ValueError, AttributeError) as exc:
        return refuse(ctx.check_id, ctx.host, f"the vars updates / apt cannot be read: {exc}")
    if conf.get("auto_apply") is not True:
        return refuse(ctx.check_id, ctx.host, "automatic updates are not allowed for this "
                      "host (inventory var updates.auto_apply: true)")
    max_age = _max_age(conf.get("max_list_age_days"))
    if max_age is None:
        return refuse(ctx.check_id, ctx.host, "updates.max_list_age_days must be a number "
                      f"of days, got {values.describe(conf.get('max_list_age_days'))}")
    state = ctx.facts.get("pkgstate")
    if conf["refresh_lists"]:
        state = ctx.facts.get("pkgstate", after_refresh=True)
    if state.manager not in UPGRADE:
        return refuse(ctx.check_id, ctx.host, f"no upgrade command for the package manager "
                      f"{values.shown(state.manager)}")
    if state.manager == "apt":
        sim = ctx.facts.get("apt")
        count, kept = len(sim.upgrades), sim.not_upgraded
    else:
        count, kept = len(ctx.facts.get("dnf", manager=state.manager).updates), 0
    if count:
        return ctx.plan(RunCommand(f"apply {count} pending update(s) ({state.manager}, "
                                   "local config files kept)", command=UPGRADE[state.manager]))
    reasons = []
    if kept:
        reasons.append(f"{kept} update(s) kept back by apt: they need new packages "
                       "(apt-get dist-upgrade, by hand)")
    if state.reboot_required or state.kernel_outdated:
        reasons.append("a reboot is due: schedule it")
    age = state.lists_age_days
    if age is None or age > max_age:
        reasons.append("the package lists are stale: set updates.refresh_lists or refresh them")
    return refuse(ctx.check_id, ctx.host, "; ".join(reasons) or "nothing to upgrade")
