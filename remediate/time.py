"""time.synced: start the installed time daemon when none runs.

Safe because it changes nothing but the state of a daemon the host already has, with
the configuration its package or its admin gave it, and rollback stops it again. It
refuses where the choice is not obvious: several time daemons installed (which one is
the admin's?), or one without an init script or unit on this host. It does not fix a
daemon that runs but is not synchronised (its servers or the network: the admin's to
look at) nor installs one (a package is the admin's choice). Starting chronyd or ntpd
may step the clock once: that is the correction the host was missing.
"""

import dataclasses

from fleetcheck.remediation import RunCommand, fix, refuse
from fleetcheck.facts.base import Command
from fleetcheck.remediate.service import plan_service

# chronyc waitsync MAX-TRIES MAX-CORRECTION MAX-SKEW INTERVAL: up to 30 s for the first
# synchronisation, so the re-check sees it; not synchronised yet is left to the re-check
WAITSYNC = Command("chronyc waitsync 30 0 0 1")


@fix("time.synced")
def plan_time(ctx):
    """Start the installed time daemon and enable it at boot when none runs (as
    service.running does); chrony: then wait up to 30 s for its first sync."""
    state = ctx.facts.get("timesync", daemons=True)
    if any(d.running for d in state.daemons):
        return ctx.plan(reason="a time daemon runs: nothing to start")
    installed = state.usable
    if not installed:
        return refuse(ctx.check_id, ctx.host, "no time daemon installed: install one "
                      "(chrony) by hand")
    if len(installed) > 1:
        return refuse(ctx.check_id, ctx.host, f"several time daemons installed "
                      f"({', '.join(d.name for d in installed)}): start the one you use")
    daemon = installed[0]
    if daemon.service is None:
        return refuse(ctx.check_id, ctx.host, f"{daemon.name} has no init script or unit "
                      "here: start it by hand")
    plan = plan_service(dataclasses.replace(ctx, item=daemon.service))
    if daemon.name == "chrony" and not plan.refused and not plan.empty:
        plan.actions.append(RunCommand("wait up to 30 s for chronyd's first sync",
                                       command=WAITSYNC, ok=(0, 1)))
    return plan
