"""sysctl.value: every declared kernel parameter, one test (and one command) each."""

import pytest
from support import declared

from fleetcheck.facts.sysctl import normalize


@pytest.mark.parametrize("key", declared("sysctl"))
def test_sysctl_value(entry, facts, key):
    if key not in (entry.vars.get("sysctl") or {}):
        pytest.skip(f"{key} is not declared for this host")
    actual = facts.sysctl.values.get(key)
    assert actual is not None, f"{key} does not exist on this kernel"
    assert normalize(actual) == normalize(entry.vars["sysctl"][key])
