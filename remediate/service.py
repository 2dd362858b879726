"""service.running: start the service and enable it at boot."""

from fleetcheck.remediation import Service, fix, refuse


@fix("service.running")
def plan_service(ctx):
    name = ctx.item
    state = ctx.facts.get("service", name=name)
    if state.init == "sysv" and not state.known:
        return refuse(ctx.check_id, ctx.host,
                      f"{name} has no init script on this host: start it by hand")
    actions = []
    if not state.running:
        actions.append(Service(f"start {name}", name=name, operation="start"))
    if not state.enabled:
        actions.append(Service(f"enable {name} at boot", name=name, operation="enable"))
    return ctx.plan(*actions, reason=f"{name} is running and enabled")
