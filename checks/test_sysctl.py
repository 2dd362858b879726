"""Kernel parameters as the inventory declares them (var `sysctl: {key: value}`)."""

import pytest

# the declared value as the kernel prints it (true/false: 1/0), as the fix writes it
from fleetcheck.facts.sysctl import kernel_value
from fleetcheck.facts.sysctl import canonical_key, normalize


@pytest.mark.check("sysctl.value", severity="medium", items="sysctl", facts=["sysctl"],
                   title="kernel parameter has its declared value")
def test_sysctl_value(host, facts, item, evidence):
    """Each key of the var `sysctl` (`{net.ipv4.ip_forward: 0}`) has its value as the
    kernel prints it (`sysctl -e`; YAML booleans are 1/0, `net/ipv4/x` is `net.ipv4.x`)."""
    expected = normalize(kernel_value(host.vars["sysctl"][item]))
    actual = facts.sysctl.values.get(canonical_key(item))  # every declared key in one command
    evidence.add(key=item, expected=expected, actual=actual)
    if actual is None:
        pytest.fail(f"{item} does not exist on this kernel", pytrace=False)
    assert normalize(actual) == expected, f"{item} is {actual}, expected {expected}"
