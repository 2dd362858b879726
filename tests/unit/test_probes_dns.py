"""The controller's DNS queries: only to the inventory's nameservers, always with a
timeout; answers judged purely. The network is replaced by a function that builds
dnspython responses (these tests must not send packets; the lab tests do)."""

from types import SimpleNamespace

import dns.exception
import dns.message
import dns.rdata
import dns.rdatatype
import dns.rcode
import dns.rrset
import dns.xfr
import pytest

from fleetcheck.probes.dns import (
    Answer,
    DnsLayout,
    NotAllowed,
    Probe,
    address_of,
    forward_reverse_problems,
    fqdn,
    reverse_name,
)

FLEET = {"ns1": SimpleNamespace(name="ns1", vars={"ansible_host": "10.213.47.10"}),
         "ns2": SimpleNamespace(name="ns2", vars={"ansible_host": "10.213.47.11"}),
         "web1": SimpleNamespace(name="web1", vars={"ansible_host": "web1.example"})}
VARS = {"zone": "lab.test", "reverse_zone": "47.213.10.in-addr.arpa", "master": "ns1",
        "slaves": ["ns2"], "nameservers": ["10.213.47.10", "10.213.47.11"], "timeout": 1.5}


class FakeNet:
    """Records every query (where, timeout) and answers from a table."""

    def __init__(self, table):
        self.table, self.sent = table, []

    def udp(self, query, where, timeout=None):
        self.sent.append((where, timeout))
        q = query.question[0]
        response = dns.message.make_response(query)
        key = (where, q.name.to_text(), dns.rdatatype.to_text(q.rdtype))
        value = self.table.get(key)
        if value is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            response.answer.append(dns.rrset.from_text(q.name, 300, "IN", q.rdtype, *value))
        return response, False


def probe(table=None, **kw):
    net = FakeNet(table or {})
    return Probe(DnsLayout.from_vars(VARS, FLEET), udp=net.udp, **kw), net


def test_layout_from_inventory():
    layout = DnsLayout.from_vars(VARS, FLEET)
    assert layout.master_address == "10.213.47.10"
    assert layout.slaves == {"ns2": "10.213.47.11"}
    assert layout.servers == {"10.213.47.10", "10.213.47.11"}
    assert layout.zones == ["lab.test", "47.213.10.in-addr.arpa"]
    assert layout.reverse_zone_of("10.213.47.30") == "47.213.10.in-addr.arpa"
    assert layout.reverse_zone_of("192.0.2.1") is None
    assert address_of(FLEET["web1"]) is None
    assert fqdn("web1", "lab.test") == "web1.lab.test." and fqdn("a.b.", "x") == "a.b."
    assert reverse_name("10.213.47.30") == "30.47.213.10.in-addr.arpa."


def test_queries_only_go_to_inventory_nameservers_with_a_timeout():
    p, net = probe()
    with pytest.raises(NotAllowed):
        p.ask("8.8.8.8", "web1.lab.test.", "A")
    with pytest.raises(NotAllowed):
        p.axfr("127.0.0.1", "lab.test")
    p.ask("10.213.47.11", "web1.lab.test.", "A")
    assert net.sent == [("10.213.47.11", 1.5)]


def test_answers_and_failures():
    p, _ = probe({("10.213.47.10", "web1.lab.test.", "A"): ["10.213.47.30"]})
    assert p.ask("10.213.47.10", "web1.lab.test.", "A").values == ["10.213.47.30"]
    assert p.ask("10.213.47.11", "web1.lab.test.", "A").rcode == "NXDOMAIN"

    def timeout(*a, **k):
        raise dns.exception.Timeout

    t = Probe(DnsLayout.from_vars(VARS, FLEET), udp=timeout)
    assert t.ask("10.213.47.10", "web1.lab.test.", "A").rcode == "TIMEOUT"


def test_axfr_refused_or_open():
    def refused(where, zone, timeout=None, lifetime=None):
        assert timeout == 1.5 and lifetime
        raise dns.xfr.TransferError(dns.rcode.REFUSED)

    p = Probe(DnsLayout.from_vars(VARS, FLEET), xfr=refused)
    assert p.axfr("10.213.47.10", "lab.test").rcode == "REFUSED"

    def works(where, zone, timeout=None, lifetime=None):
        with zone.writer() as txn:
            txn.add("web1", 300, dns.rdata.from_text("IN", "A", "10.213.47.30"))

    p = Probe(DnsLayout.from_vars(VARS, FLEET), xfr=works)
    answer = p.axfr("10.213.47.10", "lab.test")
    assert answer.rcode == "NOERROR" and answer.values == ["web1"]


def test_wait_for_sync_is_bounded():
    now = [0.0]
    table = {("10.213.47.10", "lab.test.", "SOA"): ["ns1. h. 5 300 60 86400 60"],
             ("10.213.47.11", "lab.test.", "SOA"): ["ns1. h. 4 300 60 86400 60"]}
    p, _ = probe(table, sleep=lambda s: now.__setitem__(0, now[0] + s),
                 clock=lambda: now[0])
    seen = p.wait_for_sync(["10.213.47.11"], ["lab.test"])
    assert seen == {"lab.test": {"master": 5, "10.213.47.11": 4}}
    assert 10.0 <= now[0] <= 10.5       # dns.sync_wait default


def ok(*values):
    return Answer("s", "NOERROR", list(values))


def test_forward_reverse_judgement():
    name = "web1.lab.test."
    good_f = {"ns": {"A": ok("10.213.47.30"), "AAAA": ok()}}
    good_r = {"ns": {"10.213.47.30": ok(name)}}
    assert forward_reverse_problems(name, ["10.213.47.30"], good_f, good_r) == []
    missing = {"ns": {"10.213.47.30": Answer("ns", "NXDOMAIN")}}
    assert forward_reverse_problems(name, ["10.213.47.30"], good_f, missing) == [
        "ns: PTR 10.213.47.30 is NXDOMAIN, expected web1.lab.test."]
    other = {"ns": {"10.213.47.30": ok("web1-old.lab.test.")}}
    assert forward_reverse_problems(name, ["10.213.47.30"], good_f, other) == [
        "ns: PTR 10.213.47.30 is web1-old.lab.test., expected web1.lab.test."]
    wrong_a = {"ns": {"A": ok("10.213.47.99"), "AAAA": ok()}}
    assert forward_reverse_problems(name, ["10.213.47.30"], wrong_a, good_r) == [
        "ns: A web1.lab.test. is 10.213.47.99, expected 10.213.47.30"]
    refused = {"ns": {"A": Answer("ns", "REFUSED"), "AAAA": ok()}}
    assert forward_reverse_problems(name, ["10.213.47.30"], refused, good_r) == [
        "ns: A web1.lab.test.: REFUSED"]
    # an AAAA the name has must point back too
    with_v6 = {"ns": {"A": ok("10.213.47.30"), "AAAA": ok("2001:db8::30")}}
    rev_v6 = {"ns": {"10.213.47.30": ok(name), "2001:db8::30": Answer("ns", "NXDOMAIN")}}
    assert forward_reverse_problems(name, ["10.213.47.30"], with_v6, rev_v6) == [
        "ns: PTR 2001:db8::30 is NXDOMAIN, expected web1.lab.test."]
