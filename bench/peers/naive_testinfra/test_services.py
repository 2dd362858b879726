"""service.running: every declared service, one test (and one command) each."""

import pytest
from support import declared


@pytest.mark.parametrize("name", declared("services"))
def test_service_running(entry, facts, name):
    if name not in (entry.vars.get("services") or []):
        pytest.skip(f"{name} is not declared for this host")
    assert facts.get("service", name=name).running, f"{name} is not running"
