"""Services the inventory lists (var `services: [name, ...]`) are running."""

import pytest


@pytest.mark.check("service.running", severity="high", items="services",
                   facts=[lambda host, item: [("service", {"name": item})]],
                   title="declared service is running")
def test_service_running(host, facts, item, evidence):
    """Each service of the var `services` runs (systemd, else SysV `service`)."""
    state = facts.get("service", name=item)
    evidence.add(service=item, init=state.init, running=state.running,
                 enabled=state.enabled)
    assert state.running, f"{item} is not running"
