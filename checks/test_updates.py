"""Updates applied: pending updates (apt, dnf, yum), how many are security updates,
whether a reboot is needed, how old the package lists are, and which services still run
deleted (upgraded) libraries.

A host is checked when its vars hold `updates` (a mapping, `{}` for the defaults),
usually set once under `all: vars:`: like shares and exports, the expectation is
declared, so an inventory without it is not judged on a patch policy it never stated.
Hosts without apt, dnf or yum are not applicable.

    updates:
      max_pending: 0          # non-security updates tolerated (default 0)
      max_list_age_days: 7    # older package lists are a finding
      refresh_lists: false    # true: `apt-get update` / dnf makecache first (network!)
      auto_apply: false       # --remediate may upgrade this host (see remediate/updates.py)
      security_suites: []     # extra apt suites whose updates count as security ones
      check_deleted_libs: true  # processes running deleted libraries are a finding
      restart_services: []    # the services --remediate may restart for that

Each finding has its severity and the record takes the worst: a pending security update
is high (a published, fixed vulnerability); a reboot due and a service running a deleted
library are medium (the fix is installed but not in use: the old code still runs); other
updates above the budget and stale lists are low (hygiene: nothing known to be
exploitable, or not known yet).
"""

import pytest

from fleetcheck.facts import FactError, ParseError, kernel
from fleetcheck.facts.pkgstate import update_settings
from fleetcheck.facts.restart import findings, service_name

MAX_SHOWN = 20          # deleted-library findings in the evidence
PATHS_SHOWN = 3         # and paths of each


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
    conf = update_settings(host.vars)
    if conf["refresh_lists"]:
        yield "refresh", {"manager": manager}
        yield "pkgstate", {"after_refresh": True}
    if manager == "apt":
        yield "apt"
    else:
        yield "dnf", {"manager": manager}
        yield "dnf", {"manager": manager, "security": True}
    if conf["check_deleted_libs"]:
        yield "restart"


def deleted_libs(facts, hostvars, conf):
    """(fact or None, problems as (severity, text), evidence) of the processes that run
    deleted libraries or executables: each with its service (unit, or SysV name by its
    comm), pid, comm and a few paths, and the inventory name that marks it restartable."""
    try:
        fact = facts.restart
    except (FactError, ParseError) as exc:
        return None, [("medium", f"cannot tell which processes run deleted libraries: "
                       f"{exc}")], {"deleted_libs_error": str(exc)}
    processes = hostvars.get("service_processes")
    processes = processes if isinstance(processes, dict) else None
    names = conf["restart_services"] if isinstance(conf["restart_services"], list) else []
    shown = [{"service": f.service, "pid": f.pid, "comm": f.comm,
              "paths": f.paths[:PATHS_SHOWN], "restartable": service_name(f, names, processes)}
             for f in findings(fact)[:MAX_SHOWN]]
    evidence = {"deleted_libs_source": fact.source, "deleted_libs": shown,
                "deleted_libs_total": fact.processes_total}
    if fact.source == "needrestart":
        evidence.update(needrestart_kernel_status=fact.kernel_status,
                        needrestart_sessions=fact.sessions[:MAX_SHOWN],
                        needrestart_containers=fact.containers[:MAX_SHOWN])
    if not fact.processes_total:
        return fact, [], evidence
    names = [(s["service"] or s["comm"] or "?") + (f" (pid {s['pid']})" if s["pid"] else "")
             for s in shown[:10]]
    what = "service(s)" if fact.source == "needrestart" else "process(es)"
    return fact, [("medium", f"{fact.processes_total} {what} still run deleted (upgraded) "
                   f"libraries: {', '.join(names)}: restart them")], evidence


def reboot_reasons(state, restart, kernel_judged: bool = False):
    """Why a reboot is due: the reboot-required marker, a newer kernel in /boot, or
    needrestart's kernel status (it also sees an upgrade that keeps the ABI version,
    which /boot's file names do not show). The kernel's two are left to kernel.running
    where it judges the host (`kernel_judged`): one finding for one stale kernel."""
    reasons = []
    if state.reboot_required:
        reasons.append("a reboot is required (/var/run/reboot-required"
                       + (f": {', '.join(state.reboot_packages)}" if state.reboot_packages
                          else "") + ")")
    if kernel_judged:
        return reasons
    if state.kernel_outdated:
        reasons.append(f"running kernel {state.running_kernel} is older than the installed "
                       f"{state.newest_kernel}: reboot")
    elif restart is not None and restart.kernel_pending and not state.reboot_required:
        reasons.append(f"needrestart: the running kernel {restart.kernel_running} is not "
                       f"the newest installed ({restart.kernel_expected or 'unknown'}): "
                       "reboot")
    return reasons


@pytest.mark.check("updates.applied", severity="high", facts=[_reads],
                   title="no pending (security) updates, no reboot due, no service on "
                   "deleted libraries, fresh lists",
                   compare={"security updates": (None, "security_packages"),
                            "pending updates": (None, "pending_packages"),
                            "reboot required": (None, "reboot_required"),
                            "kernel": ("newest_kernel", "running_kernel"),
                            "lists age (days)": (None, "lists_age_days")})
def test_updates_applied(host, facts, evidence):
    """Where the var `updates` is set (`{}` for the defaults): pending security updates
    (apt: a `-security` suite or `apt.security_suite`; dnf/yum: `--security`) are high;
    a reboot due (`/var/run/reboot-required`; a running kernel older than the newest in
    /boot or needrestart's kernel status, where kernel.running does not judge it) and
    processes still running deleted (upgraded) libraries or executables (`needrestart
    -b` where installed, else a scan of /proc/*/maps; `check_deleted_libs: false` turns
    it off) are medium: the fix is on disk but the old code runs; more than
    `max_pending` other updates and package lists older than `max_list_age_days` are
    low. The record's severity is its worst finding's."""
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
    problems = []   # (severity, text)
    if security:
        problems.append(("high", f"{len(security)} pending security update(s): "
                         f"{', '.join(security[:10])}"))
    others = len(names) - len(security) + (kept_back or 0)
    if others > int(conf["max_pending"]):
        problems.append(("low", f"{others} pending update(s) (tolerated: "
                         f"{conf['max_pending']})"))
    restart = None
    if conf["check_deleted_libs"]:
        restart, found, more = deleted_libs(facts, host.vars, conf)
        evidence.add(**more)
    running = kernel.settings(host.vars, "running")
    judged = isinstance(running, dict) and bool(running.get("newest_installed", True))
    problems += [("medium", reason) for reason in reboot_reasons(state, restart, judged)]
    if conf["check_deleted_libs"]:
        problems += found
    if age is None:
        problems.append(("low", "no package lists found: never updated"))
    elif age > float(conf["max_list_age_days"]):
        problems.append(("low", f"package lists are {age:g} days old (max "
                         f"{conf['max_list_age_days']}); pending updates may be unknown"))
    evidence.judge(problems)
