"""service.running: start the service and enable it at boot.

The service name reaches `systemctl`/`service` as an argument: it is checked again
with its kind (values.unit: no '/', never an option) and refused otherwise.
"""

from fleetcheck import values
from fleetcheck.facts.failed_units import findings
from fleetcheck.remediation import Service, fix, refuse
from fleetcheck.remediation.edit import unsafe


@fix("service.running")
def plan_service(ctx):
    """Start the service and enable it at boot (systemd, else SysV `service` and update-
    rc.d)."""
    name = ctx.item
    why = unsafe([(values.unit, name, "the service")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    state = ctx.facts.get("service", name=name)
    if state.init == "sysv" and not state.known:
        return refuse(ctx.check_id, ctx.host,
                      f"{name} has no init script on this host: start it by hand")
    actions, undo = [], []
    if not state.running:
        actions.append(Service(f"start {name}", name=name, operation="start"))
        undo.append(Service(f"stop {name} (it was stopped before the fix)", name=name,
                            operation="stop"))
    if not state.enabled:
        actions.append(Service(f"enable {name} at boot", name=name, operation="enable"))
        undo.append(Service(f"disable {name} at boot (as before the fix)", name=name,
                            operation="disable"))
    return ctx.plan(*actions, reason=f"{name} is running and enabled").after_restore(*undo)



@fix("service.failed")
def plan_failed(ctx):
    """Restart each failed service that the var `service_failed.restart` names (systemd
    `systemctl restart`, else SysV `service NAME restart`); any other failed one is
    left for an admin (why it died comes first: restarting a daemon that crashes again
    hides it)."""
    failed = findings(ctx.facts.get("failed_units"), ctx.vars)
    allowed = {str(n) for n in (ctx.vars.get("service_failed") or {}).get("restart") or ()}
    chosen = [f.name for f in failed if f.name in allowed
              or f.name.removesuffix(".service") in allowed]
    why = unsafe([(values.unit, name, "the service") for name in chosen])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    if failed and not chosen:
        return refuse(ctx.check_id, ctx.host, "none of the failed services is in "
                      "service_failed.restart: " + ", ".join(f.name for f in failed[:10]))
    return ctx.plan(*[Service(f"restart {name} (it failed)", name=name, operation="restart")
                      for name in chosen], reason="no service has failed")
