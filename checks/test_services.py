"""Services: the ones the inventory lists (var `services: [name, ...]`) are running,
and none has failed."""

import pytest

from fleetcheck.facts.failed_units import findings


@pytest.mark.check("service.running", severity="high", items="services",
                   facts=[lambda host, item: [("service", {"name": item})]],
                   title="declared service is running",
                   compare={"running": (None, "running"),
                            "enabled": (None, "enabled"),
                            "init": (None, "init")})
def test_service_running(host, facts, item, evidence):
    """Each service of the var `services` runs (systemd, else SysV `service`)."""
    state = facts.get("service", name=item)
    evidence.add(service=item, init=state.init, running=state.running,
                 enabled=state.enabled)
    assert state.running, f"{item} is not running"


@pytest.mark.check("service.failed", severity="high", facts=["failed_units"],
                   title="no service has failed",
                   compare={"failed units": (None, "failed"),
                            "left out": (None, "ignored")})
def test_service_failed(host, facts, evidence):
    """No unit is in systemd's `failed` state; without systemd, no service that boot
    starts (a start link in /etc/rc2.d..rc5.d) died: its init script's `status` says
    dead with its pid or lock file left (LSB 1 or 2), not stopped (3). A daemon that
    crashed stops doing its work silently: an admin wants it named on every host, not
    only for the services the inventory lists (a listed one is judged by
    service.running, so one dead daemon is one finding). Var `service_failed`:
    `ignore` (names or globs), `restart` (what --remediate may restart); null: off."""
    conf = host.vars.get("service_failed")
    if not isinstance(conf, dict):
        pytest.skip("not judged (var service_failed is null)")
    state = facts.failed_units
    failed = findings(state, host.vars)
    evidence.add(init=state.init, failed=[f"{f.name} ({f.state})" for f in failed],
                 checked=state.checked if state.init == "sysv" else None,
                 ignored=conf.get("ignore") or [], truncated=state.truncated)
    assert not failed, "failed: " + ", ".join(f"{f.name} ({f.state})" for f in failed[:10])

