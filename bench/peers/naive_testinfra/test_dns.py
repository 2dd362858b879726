"""dns.*: the controller's own queries (fleetcheck.probes.dns, only to the inventory's
nameservers) and, on the DNS servers, named-checkconf and named-checkzone."""

import pytest

from checks.test_dns import ask_records, dns_role, layout_of
from fleetcheck.probes.dns import Probe, address_of, forward_reverse_problems, fqdn


def test_forward_reverse(entry, fleet):
    layout = layout_of(entry, fleet)
    address = address_of(entry)
    addresses = ([str(a) for a in entry.vars.get("dns_addresses") or []]
                 or ([address] if address else []))
    if not addresses:
        pytest.skip("no IP address in the inventory")
    name = fqdn(entry.name, layout.zone)
    probe = Probe(layout)
    problems = forward_reverse_problems(name, addresses,
                                        *ask_records(probe, layout, name, addresses))
    if problems:  # a slave may be catching up with a change: wait for it, ask again
        probe.wait_for_sync([s for s in layout.nameservers if s != layout.master_address],
                            layout.zones)
        problems = forward_reverse_problems(name, addresses,
                                            *ask_records(probe, layout, name, addresses))
    assert not problems, "; ".join(problems)


def test_zone_valid(entry, facts, fleet):
    layout = layout_of(entry, fleet)
    if dns_role(entry, layout) is None:
        pytest.skip("not a DNS server")
    conf = facts.named_conf
    assert conf.valid, "named-checkconf: " + "; ".join(conf.errors[:5])
    problems = [f"zone {z} is not configured" for z in layout.zones if conf.zone(z) is None]
    for zone in conf.zones:
        if zone.serves and not facts.get("named_checkzone", zone=zone.name, file=zone.file,
                                         format=zone.format).loaded:
            problems.append(f"{zone.name} ({zone.file}) does not load")
    assert not problems, "; ".join(problems)


def test_serial_in_sync(entry, fleet):
    layout = layout_of(entry, fleet)
    if dns_role(entry, layout) != "slave":
        pytest.skip("not a DNS slave")
    slave = layout.slaves[entry.name]
    assert layout.master_address and slave, "the master and this slave need an address"
    seen = Probe(layout).wait_for_sync([slave], layout.zones)
    behind = [zone for zone, s in seen.items() if s["master"] is None or s[slave] != s["master"]]
    assert not behind, f"{', '.join(behind)} behind the master"


def test_axfr_restricted(entry, fleet):
    layout = layout_of(entry, fleet)
    if dns_role(entry, layout) is None:
        pytest.skip("not a DNS server")
    server = address_of(entry)
    assert server, "a DNS server needs an IP address in the inventory"
    probe = Probe(layout)
    open_zones = [zone for zone in layout.zones if probe.axfr(server, zone).rcode == "NOERROR"]
    assert not open_zones, f"{server} hands out {', '.join(open_zones)} without the TSIG key"
