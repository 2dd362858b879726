"""Updates applied: pending updates (apt, dnf, yum), how many are security updates,
whether a reboot is needed, and how old the package lists are.

A host is checked when its vars hold `updates` (a mapping, `{}` for the defaults),
usually set once under `all: vars:`: like shares and exports, the expectation is
declared, so an inventory without it (the embedded local.yml) is not judged on a
patch policy it never stated. Hosts without apt, dnf or yum are not applicable.

    updates:
      max_pending: 0          # non-security updates tolerated (default 0)
      max_list_age_days: 7    # older package lists are a finding
      refresh_lists: false    # true: `apt-get update` / dnf makecache first (network!)
      auto_apply: false       # --remediate may upgrade this host (see remediate/updates.py)
      security_suites: []     # extra apt suites whose updates count as security ones
"""

import pytest

from fleetcheck.facts.pkgstate import update_settings

def pending(facts, manager, suites):
    """(names of pending updates, names of pending security updates)."""
    if manager == "apt":
        sim = facts.apt
        return ([u.name for u in sim.upgrades], [u.name for u in sim.security(suites)],
                sim.not_upgraded)
    every = facts.get("dnf", manager=manager)
    security = facts.get("dnf", manager=manager, security=True)
    return ([f"{u.name}.{u.arch}" for u in every.updates],
            [f"{u.name}.{u.arch}" for u in security.updates], 0)


def _reads(host, item):
    """The facts test_updates_applied reads, in its order (the refresh first)."""
    if not isinstance(host.vars.get("updates"), dict):
        return
    yield "pkgstate"
    manager = host.facts.pkgstate.manager
    if manager == "none":
        return
    if update_settings(host.vars)["refresh_lists"]:
        yield "refresh", {"manager": manager}
        yield "pkgstate", {"after_refresh": True}
    if manager == "apt":
        yield "apt"
    else:
        yield "dnf", {"manager": manager}
        yield "dnf", {"manager": manager, "security": True}


@pytest.mark.check("updates.applied", severity="high", facts=[_reads],
                   title="no pending (security) updates, no reboot pending, fresh lists")
def test_updates_applied(host, facts, evidence):
    """Where the var `updates` is set (`{}` for the defaults): pending updates (`apt-get
    -s upgrade`, `dnf`/`yum -C check-update`), security ones (apt: a `-security` suite
    or `apt.security_suite`; dnf/yum: `--security`), more than `max_pending` others, a
    reboot due (`/var/run/reboot-required`, or a running kernel older than the newest in
    /boot), package lists older than `max_list_age_days`; high, medium without pending
    security updates."""
    if not isinstance(host.vars.get("updates"), dict):
        pytest.skip("no update policy declared (var updates)")
    conf = update_settings(host.vars)
    state = facts.pkgstate
    if state.manager == "none":
        pytest.skip("no apt, dnf or yum on this host")
    if conf["refresh_lists"]:
        refreshed = facts.get("refresh", manager=state.manager)
        evidence.add(refreshed=refreshed.ok, refresh_errors=refreshed.errors)
        if not refreshed.ok:
            pytest.fail("refreshing the package lists failed: "
                        + "; ".join(refreshed.errors[-3:]), pytrace=False)
        # what the refresh changed is read afresh (the refresh itself stays cached)
        state = facts.get("pkgstate", after_refresh=True)
    names, security, kept_back = pending(facts, state.manager, conf["security_suites"])
    age = state.lists_age_days
    evidence.add(manager=state.manager, pending=len(names), security=len(security),
                 security_packages=security[:50], pending_packages=names[:50],
                 kept_back=kept_back, reboot_required=state.reboot_required,
                 reboot_packages=state.reboot_packages, running_kernel=state.running_kernel,
                 newest_kernel=state.newest_kernel, lists_age_days=age)
    problems, worst = [], None
    if security:
        problems.append(f"{len(security)} pending security update(s): {', '.join(security[:10])}")
        worst = "high"
    others = len(names) - len(security) + kept_back
    if others > int(conf["max_pending"]):
        problems.append(f"{others} pending update(s) (tolerated: {conf['max_pending']})")
    if state.reboot_required:
        problems.append("a reboot is required (/var/run/reboot-required"
                        + (f": {', '.join(state.reboot_packages)}" if state.reboot_packages
                           else "") + ")")
    if state.kernel_outdated:
        problems.append(f"running kernel {state.running_kernel} is older than the installed "
                        f"{state.newest_kernel}: reboot")
    if age is None:
        problems.append("no package lists found: never updated")
    elif age > float(conf["max_list_age_days"]):
        problems.append(f"package lists are {age:g} days old (max {conf['max_list_age_days']}); "
                        "pending updates may be unknown")
    if problems and worst is None:
        evidence.severity = "medium"
    assert not problems, "; ".join(problems)
