"""Kernel parameters: the values the inventory declares (var `sysctl: {key: value}`,
sysctl.value) and the hardening baseline every host inherits from the embedded
inventory (var `sysctl_baseline`, sysctl.baseline)."""

import pytest

# the declared value as the kernel prints it (true/false: 1/0), as the fix writes it
from fleetcheck.facts.sysctl import BASELINE, DECLARED, kernel_value
from fleetcheck.facts.sysctl import canonical_key, normalize


def compare(host, facts, evidence, var: str, item: str):
    """(expected, actual) of one key of `var`, in the kernel's words, with evidence;
    actual is None when this kernel has no such key."""
    expected = normalize(kernel_value(host.vars[var][item]))
    actual = facts.sysctl.values.get(canonical_key(item))  # every key in one command
    evidence.add(key=item, expected=expected, actual=actual)
    return expected, actual


@pytest.mark.check("sysctl.value", severity="medium", items=DECLARED, facts=["sysctl"],
                   title="kernel parameter has its declared value",
                   compare={"value": ("expected", "actual")})
def test_sysctl_value(host, facts, item, evidence):
    """Each key of the var `sysctl` (`{net.ipv4.ip_forward: 0}`) has its value as the
    kernel prints it (`sysctl -e`; YAML booleans are 1/0, `net/ipv4/x` is `net.ipv4.x`)."""
    expected, actual = compare(host, facts, evidence, DECLARED, item)
    if actual is None:
        pytest.fail(f"{item} does not exist on this kernel", pytrace=False)
    assert normalize(actual) == expected, f"{item} is {actual}, expected {expected}"


@pytest.mark.check("sysctl.baseline", severity="medium", items=BASELINE,
                   items_except=DECLARED, facts=["sysctl"],
                   title="kernel hardening parameter has its baseline value",
                   compare={"value": ("expected", "actual")})
def test_sysctl_baseline(host, facts, item, evidence):
    """Each key of the var `sysctl_baseline` has its baseline value: the embedded
    inventory sets the network and kernel keys that the CIS benchmarks (Debian 12,
    RHEL 9: 1.5 and 3.3) and dev-sec's linux-baseline agree on: no routing
    (ip_forward; a router's group declares `sysctl: {net.ipv4.ip_forward: 1}`, and a
    key declared in `sysctl` is judged by sysctl.value alone), no ICMP redirects
    accepted or sent, no source-routed packets, strict reverse-path filtering,
    martians logged, SYN cookies, broadcast pings and bogus ICMP errors ignored,
    full ASLR, dmesg and kernel pointers hidden, protected links, no setuid core
    dumps. A key this kernel lacks (IPv6 disabled, an older kernel) is not
    applicable; null turns a key off."""
    expected, actual = compare(host, facts, evidence, BASELINE, item)
    if actual is None:
        pytest.skip(f"this kernel has no {item}")
    assert normalize(actual) == expected, f"{item} is {actual}, baseline {expected}"
