"""DNS: every host's records, the DNS servers' configuration and zones, slave sync and
zone transfers, against the inventory var `dns` (see README "DNS").

Which hosts a check applies to comes from the same var: `dns.master` and
`dns.slaves` name the DNS servers (inventory host names); zone_valid and
axfr_restricted run on those, serial_in_sync on the slaves, and are not-applicable
on every other host. forward_reverse applies to every host with an IP address.

The queries are the controller's own (fleetcheck.probes.dns): they go only to the
addresses the inventory names as nameservers, each with a timeout. Those checks read
no fact of their host (`facts=[]`), so they run while the hosts' facts are gathered.
"""

import pytest

from fleetcheck.probes.dns import (
    DnsLayout,
    Probe,
    address_of,
    forward_reverse_problems,
    fqdn,
    reverse_name,
)


def layout_of(host, fleet) -> DnsLayout:
    dnsvars = host.vars.get("dns") or {}
    if not dnsvars.get("zone") or not dnsvars.get("nameservers"):
        pytest.skip("no dns.zone / dns.nameservers in the inventory")
    return DnsLayout.from_vars(dnsvars, fleet)


def dns_role(host, layout: DnsLayout) -> str | None:
    if host.name == layout.master:
        return "master"
    if host.name in layout.slaves:
        return "slave"
    return None


def ask_records(probe: Probe, layout: DnsLayout, name: str, addresses: list[str]):
    forward, reverse = {}, {}
    for server in layout.nameservers:
        forward[server] = {t: probe.ask(server, name, t) for t in ("A", "AAAA")}
        # the inventoried addresses, and any other address the name has on this server
        extra = [v for t in ("A", "AAAA") for v in forward[server][t].values]
        reverse[server] = {a: probe.ask(server, reverse_name(a), "PTR")
                           for a in dict.fromkeys(addresses + extra)}
    return forward, reverse


@pytest.mark.check("dns.forward_reverse", severity="high", facts=[],
                   title="the host's name and address resolve to each other on every nameserver",
                   compare={"forward (A, AAAA)": ("addresses", "forward"),
                            "reverse (PTR)": ("name", "reverse"),
                            "problems": (None, "problems")})
def test_forward_reverse(host, fleet, evidence):
    """Every host with an IP address (`ansible_host`, or the var `dns_addresses`): its
    name (`<host>.<dns.zone>`) has exactly that A (AAAA) record and each address (and
    any other address the name has) a PTR back to the name, on every nameserver of
    `dns.nameservers`, asked from the controller.

    One record per host (not per nameserver): what is wrong with a host's DNS is
    one finding, fixed by one change on the master; the evidence says which
    nameserver answered what."""
    layout = layout_of(host, fleet)
    address = address_of(host.entry)
    addresses = [str(a) for a in host.vars.get("dns_addresses") or []] or \
        ([address] if address else [])
    if not addresses:
        pytest.skip("no IP address in the inventory (ansible_host)")
    name = fqdn(host.name, layout.zone)
    probe = Probe(layout)
    forward, reverse = ask_records(probe, layout, name, addresses)
    problems = forward_reverse_problems(name, addresses, forward, reverse)
    waited = None
    if problems:
        # Right after a change on the master, a slave answers from its old copy until
        # NOTIFY and the transfer are through: wait (at most dns.sync_wait seconds)
        # while a nameserver's serial is behind the master's, then ask again.
        others = [s for s in layout.nameservers if s != layout.master_address]
        waited = probe.wait_for_sync(others, layout.zones)
        forward, reverse = ask_records(probe, layout, name, addresses)
        problems = forward_reverse_problems(name, addresses, forward, reverse)
    evidence.add(name=name, addresses=addresses, nameservers=layout.nameservers,
                 forward={s: {t: a.shown() for t, a in d.items()} for s, d in forward.items()},
                 reverse={s: {ad: a.shown() for ad, a in d.items()} for s, d in reverse.items()},
                 problems=problems)
    if waited is not None:
        evidence["serials_after_wait"] = waited
    assert not problems, "; ".join(problems)


def _zone_reads(host, item):
    """The facts test_zone_valid reads on a DNS server, gathered ahead."""
    dnsvars = host.vars.get("dns") or {}
    if host.name != dnsvars.get("master") and host.name not in (dnsvars.get("slaves") or []):
        return
    yield "named_conf"
    for zone in host.facts.named_conf.zones:
        if zone.serves:
            yield "named_checkzone", {"zone": zone.name, "file": zone.file,
                                      "format": zone.format}


@pytest.mark.check("dns.zone_valid", severity="high", facts=[_zone_reads],
                   title="named's configuration and every zone it serves load",
                   compare={"named-checkconf": (None, "named_checkconf"),
                            "zones": (None, "zones"),
                            "problems": (None, "problems")})
def test_zone_valid(host, facts, fleet, evidence):
    """On `dns.master` and `dns.slaves`: `named-checkconf` is clean, the declared zones
    are configured, and `named-checkzone` loads every zone the server serves (a
    secondary's copy in raw format)."""
    layout = layout_of(host, fleet)
    if dns_role(host, layout) is None:
        pytest.skip("not a DNS server of the inventory (dns.master / dns.slaves)")
    conf = facts.named_conf
    evidence.add(named_checkconf="OK" if conf.valid else conf.errors)
    assert conf.valid, "named-checkconf: " + "; ".join(conf.errors[:5])
    results, problems = {}, []
    for zone in layout.zones:
        if conf.zone(zone) is None:
            problems.append(f"zone {zone} is not configured")
    for zone in conf.zones:
        if not zone.serves:
            continue
        res = facts.get("named_checkzone", zone=zone.name, file=zone.file, format=zone.format)
        results[zone.name] = {"file": zone.file, "format": zone.format, "loaded": res.loaded,
                              "serial": res.serial, "messages": res.messages}
        if not res.loaded:
            problems.append(f"{zone.name} ({zone.file}) does not load: "
                            + "; ".join(res.messages[-2:]))
    evidence.add(zones=results, problems=problems)
    assert not problems, "; ".join(problems)


@pytest.mark.check("dns.serial_in_sync", severity="high", facts=[],
                   title="the slave serves the master's SOA serial of every zone",
                   compare={"serials": (None, "serials"),
                            "waited at most (s)": (None, "waited_at_most")})
def test_serial_in_sync(host, fleet, evidence):
    """On each of `dns.slaves`: its SOA serial of every declared zone equals the
    master's (after at most `dns.sync_wait` seconds)."""
    layout = layout_of(host, fleet)
    if dns_role(host, layout) != "slave":
        pytest.skip("not a DNS slave of the inventory (dns.slaves)")
    if not layout.master_address or not layout.slaves.get(host.name):
        pytest.fail("dns.master and this slave need an IP address (ansible_host) in the "
                    "inventory", pytrace=False)
    probe = Probe(layout)
    slave = layout.slaves[host.name]
    # A slave follows within seconds of a change (NOTIFY): give it dns.sync_wait.
    seen = probe.wait_for_sync([slave], layout.zones)
    serials = {z: {"master": s["master"], host.name: s[slave]} for z, s in seen.items()}
    evidence.add(serials=serials, waited_at_most=layout.sync_wait)
    behind = [f"{z}: {v[host.name]} on {host.name}, {v['master']} on the master"
              for z, v in serials.items() if v["master"] is None or v[host.name] != v["master"]]
    if behind:
        evidence.advice = ("the slave does not follow its master: look at its log for "
                           "transfer errors (TSIG key, allow-transfer, reachability); "
                           "`rndc retransfer ZONE` on the slave forces a transfer")
    assert not behind, "; ".join(behind)


@pytest.mark.check("dns.axfr_restricted", severity="high", facts=[],
                   title="a zone transfer without the TSIG key is refused",
                   compare={"zone transfers": (None, "transfers"),
                            "server": (None, "server")})
def test_axfr_restricted(host, fleet, evidence):
    """On `dns.master` and `dns.slaves`: a zone transfer without the TSIG key, asked
    from the controller, is refused."""
    layout = layout_of(host, fleet)
    if dns_role(host, layout) is None:
        pytest.skip("not a DNS server of the inventory (dns.master / dns.slaves)")
    server = address_of(host.entry)
    if server is None:
        pytest.fail("a DNS server needs an IP address (ansible_host) in the inventory",
                    pytrace=False)
    probe = Probe(layout)
    results = {zone: probe.axfr(server, zone) for zone in layout.zones}
    evidence.add(server=server, transfers={
        z: (f"transferred {len(a.values)} names" if a.rcode == "NOERROR" else a.rcode)
        for z, a in results.items()})
    open_zones = [z for z, a in results.items() if a.rcode == "NOERROR"]
    assert not open_zones, (f"{server} hands out {', '.join(open_zones)} to anyone "
                            "(AXFR without the TSIG key)")
