"""service.running: start the service and enable it at boot."""

from fleetcheck.remediation import Service, fix


@fix("service.running")
def plan_service(ctx):
    name = ctx.item
    state = ctx.facts.get("service", name=name)
    actions = []
    if not state.running:
        actions.append(Service(f"start {name}", name=name, operation="start"))
    if not state.enabled:
        actions.append(Service(f"enable {name} at boot", name=name, operation="enable"))
    return ctx.plan(*actions, reason=f"{name} is running and enabled")
