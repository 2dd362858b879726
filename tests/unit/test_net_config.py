"""The network area (net.interfaces, net.routes, net.resolvers, net.hostname): the
parsers' edge cases beyond the fixtures, the checks over given facts, the fixes' plans,
and the vars' kinds."""

from __future__ import annotations

import base64
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import FactError, ParseError
from fleetcheck.facts import dig, hostname, ip_addr, ip_route, resolv_conf
from fleetcheck.facts.file import FileState
from fleetcheck.remediation import PlanContext, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts"


def captured(fact, case):
    from fleetcheck import facts

    text = (FIXTURES / fact / f"{case}.txt").read_text()
    return facts.get(fact).parse(text)


def run_check(name, hostvars, host_name="web1", **facts):
    return checkrun.run_check("net", name, hostvars, host_name, **facts)


# -- parsers ----------------------------------------------------------------------------

def test_ip_addr_reads_states_and_addresses():
    links = captured("ip_addr", "routershell-router")
    eth2 = links.link("eth2")
    assert not eth2.admin_up and not eth2.carrier
    assert eth2.has_address("172.16.103.1/24") and not eth2.has_address("172.16.103.1/16")
    assert links.link("eth3").carrier and links.link("lo").mtu == 65536
    fc0 = captured("ip_addr", "netns-veth-no-carrier").link("fc0")
    assert fc0.admin_up and not fc0.carrier and fc0.mtu == 1400


def test_ip_addr_skips_empty_objects_and_refuses_huge_numbers():
    assert [lk.name for lk in ip_addr.parse('[{"ifname": "lo"}, {}, {}]').links] == ["lo"]
    with pytest.raises(ParseError, match="line 1"):
        ip_addr.parse('[{"ifname": "lo", "mtu": ' + "9" * 5000 + "}]")
    with pytest.raises(ParseError, match="line 1"):
        ip_addr.parse("")


def test_ip_route_families_types_and_matching():
    routes = captured("ip_route", "firecracker-vm")
    assert [(r.family, r.dst) for r in routes.defaults] == [("inet", "default"),
                                                           ("inet6", "default")]
    table = captured("ip_route", "netns-veth-blackhole").routes
    assert any(ip_route.matches(r, {"to": "10.213.99.0/24", "via": "10.213.98.2", "dev": "fc0"})
               for r in table)
    assert not any(ip_route.matches(r, {"to": "10.213.99.0/24", "via": "10.213.98.9"})
                   for r in table)
    assert any(ip_route.matches(r, {"to": "10.213.100.0/24", "type": "blackhole"}) for r in table)
    assert not any(ip_route.matches(r, {"to": "10.213.100.0/24"}) for r in table)
    host = ip_route.parse('[{"dst":"10.96.0.2","dev":"wg0","protocol":186}]').routes[0]
    assert host.dst == "10.96.0.2/32" and host.protocol == "186"
    multi = captured("ip_route", "multipath-hand").routes[0]
    assert ip_route.matches(multi, {"to": "default", "via": "10.0.1.1", "dev": "eth1"})


def test_resolv_conf_uses_the_first_three():
    conf = captured("resolv_conf", "glibc-edge-cases")
    assert conf.used == ["192.0.2.53", "fe80::1", "198.51.100.53"]
    assert conf.search == ["example.org", "corp.example.org"] and len(conf.invalid) == 1


def test_dig_replies_and_silence():
    assert captured("dig", "ubuntu20-noerror").addresses[0] == "64.233.177.113"
    assert captured("dig", "debian12-connection-refused").status == "REFUSED_CONNECTION"
    silent = dig.parse(";; communications error to 10.213.47.250#53: timed out\n"
                       ";; no servers could be reached\n")
    assert silent.status == "TIMEOUT" and not silent.replied
    with pytest.raises(FactError):
        dig.from_result(1, "", "dig: couldn't get address for 'x': not found")


def test_dig_command_never_takes_an_option():
    cmd = dig.command({}, server="10.213.47.10", name="web1.lab.test", timeout=2).render()
    assert cmd == "dig +time=2 +tries=1 @10.213.47.10 -q web1.lab.test A"
    for server, name in (("-x", "a.b"), ("10.0.0.1", "-x"), ("10.0.0.1", "a b")):
        with pytest.raises(FactError):
            dig.command({}, server=server, name=name)


def test_resolv_conf_path_is_checked():
    assert resolv_conf.command({}).render() == "cat -- /etc/resolv.conf"
    with pytest.raises(FactError):
        resolv_conf.command({"net_resolvers": {"path": "relative"}})


@pytest.mark.parametrize("kind, bad", [(ip_addr.ifname, "-eth0"), (ip_addr.ifname, "a/b"),
                                       (ip_addr.ifname, "x" * 16), (ip_addr.cidr, "10.0.0.1"),
                                       (ip_addr.network, "10.0.0.1/8"), (ip_addr.ip, "-1")])
def test_kinds_refuse(kind, bad):
    with pytest.raises(values.UnsafeValue):
        kind(bad)


# -- checks -------------------------------------------------------------------------------

LINKS = captured("ip_addr", "netns-veth-no-carrier")


def test_interfaces_down_missing_and_mtu():
    hv = {"net_interfaces": {"fc0": {"addresses": ["10.213.98.1/24"], "mtu": 1500},
                             "lo": {"addresses": ["127.0.0.1/8"]}, "eth9": {}}}
    outcome, msg, ev = run_check("test_interfaces", hv, ip_addr=LINKS)
    assert outcome == "failed" and ev.severity == "high"
    assert "fc0 is up without a carrier" in msg and "eth9 does not exist" in msg
    assert "MTU 1400, declared 1500" in msg and "lo" not in msg.replace("LOWERLAYERDOWN", "")
    assert run_check("test_interfaces", {"net_interfaces": {}}, ip_addr=LINKS)[0] == "skipped"
    assert run_check("test_interfaces", {"net_interfaces": {"lo": {}}}, ip_addr=LINKS)[0] == \
        "passed"


def test_routes_default_and_declared():
    vm = captured("ip_route", "firecracker-vm")
    assert run_check("test_routes", {"net_routes": {"default": True}}, ip_route=vm)[0] == "passed"
    lab = captured("ip_route", "netns-veth-blackhole")
    outcome, msg, _ = run_check("test_routes", {"net_routes": {"default": True, "routes": [
        {"to": "10.213.99.0/24", "via": "10.213.98.7"}]}}, ip_route=lab)
    assert outcome == "failed" and "no default route" in msg
    assert "there: 10.213.99.0/24 via 10.213.98.2 dev fc0" in msg
    assert run_check("test_routes", {"net_routes": {"default": False, "routes": [
        {"to": "10.213.100.0/24", "type": "blackhole"}]}}, ip_route=lab)[0] == "passed"


def _reply(status, *addresses):
    return dig.Reply(status, answers=[dig.Record("web1.lab.test.", "A", a) for a in addresses])


LAB_DNS = {"dns": {"zone": "lab.test", "nameservers": ["10.213.47.10", "10.213.47.11"]}}


def test_resolvers_listed_and_answering():
    conf = captured("resolv_conf", "debian12-lab")
    hv = dict(LAB_DNS, net_resolvers={"answer": "each", "own_name": True})
    good = run_check("test_resolvers", hv, resolv_conf=conf,
                     dig=lambda server, name, timeout: _reply("NOERROR", "10.213.47.30"))
    assert good[0] == "passed" and good[2]["name"] == "web1.lab.test"
    dead = resolv_conf.parse("nameserver 10.213.47.250\nnameserver 10.213.47.11\n")
    outcome, msg, _ = run_check(
        "test_resolvers", hv, resolv_conf=dead,
        dig=lambda server, name, timeout: _reply("TIMEOUT") if server.endswith(".250")
        else _reply("NOERROR", "10.213.47.30"))
    assert outcome == "failed" and "10.213.47.10" in msg and "no answer from 10.213.47.250" in msg
    one = dict(LAB_DNS, net_resolvers={"answer": "one"})
    assert run_check("test_resolvers", one, resolv_conf=dead,
                     dig=lambda server, name, timeout: _reply("TIMEOUT") if server.endswith(
                         ".250") else _reply("NXDOMAIN"))[1].startswith("not among")
    # the embedded default asks nobody: only the count
    empty = run_check("test_resolvers", {"net_resolvers": {"minimum": 1}},
                      resolv_conf=resolv_conf.parse("# nothing\n"))
    assert empty[0] == "failed" and "lists 0 nameserver" in empty[1]


def test_hostname_rules():
    lab = {"dns": {"zone": "lab.test"}, "net_hostname": {"fqdn": True}}
    good = hostname.parse("name=web1\nfqdn=web1.lab.test\nfile=web1\nfleetcheck-hostname: end\n")
    assert run_check("test_hostname", lab, hostname=good)[0] == "passed"
    outcome, msg, ev = run_check("test_hostname", lab,
                                 hostname=captured("hostname", "renamed"))
    assert outcome == "failed" and ev.severity == "medium" and "web1-old" in msg
    vm = captured("hostname", "firecracker-vm")
    outcome, msg, ev = run_check("test_hostname", {"net_hostname": {"fqdn": True}}, "localhost",
                                 hostname=vm)
    assert outcome == "failed" and ev.severity == "low" and "not fully qualified" in msg
    assert run_check("test_hostname", {"net_hostname": {"fqdn": False}}, "localhost",
                     hostname=vm)[0] == "passed"


# -- fixes --------------------------------------------------------------------------------

def plan(check_id, hostvars, host="web1", **facts):
    return lookup(check_id)(PlanContext(check_id, host, hostvars, checkrun.Facts(**facts)))


def test_route_plan_adds_and_rolls_back():
    lab = captured("ip_route", "netns-veth-blackhole")
    p = plan("net.routes", {"net_routes": {"routes": [
        {"to": "10.213.99.0/24", "via": "10.213.98.7", "dev": "fc0"},
        {"to": "10.213.102.0/24", "type": "blackhole"}]}}, ip_route=lab)
    assert [a.command.render() for a in p.actions] == [
        "ip route replace to 10.213.99.0/24 via 10.213.98.7 dev fc0",
        "ip route replace blackhole 10.213.102.0/24"]
    assert [a.command.render() for a in p.on_rollback] == [
        "ip route replace to 10.213.99.0/24 via 10.213.98.2 dev fc0",
        "ip route del blackhole 10.213.102.0/24"]
    assert plan("net.routes", {"net_routes": {"routes": [{"to": "10.1.0.0/16"}]}},
                ip_route=lab).refused
    assert plan("net.routes", {"net_routes": {"routes": [{"to": "10.1.0.0/16",
                                                          "dev": "-x"}]}}, ip_route=lab).refused


def test_interface_plan_sets_a_down_link_up_only():
    down = ip_addr.parse('[{"ifname":"fc0","flags":["BROADCAST"],"mtu":1400,'
                         '"operstate":"DOWN","addr_info":[]}]')
    p = plan("net.interfaces", {"net_interfaces": {"fc0": {}}}, ip_addr=down)
    assert [a.command.render() for a in p.actions] == ["ip link set dev fc0 up"]
    assert [a.command.render() for a in p.on_rollback] == ["ip link set dev fc0 down"]
    assert plan("net.interfaces", {"net_interfaces": {"fc0": {}}}, ip_addr=LINKS).refused


def _file(text):
    if text is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(text.encode()).decode())


def test_hostname_plan():
    renamed = captured("hostname", "renamed")
    p = plan("net.hostname", {"dns": {"zone": "lab.test"}}, hostname=renamed,
             file=_file("web1-old\n"))
    assert [getattr(a, "command", None) and a.command.render() for a in p.actions][0] == \
        "hostname -- web1"
    assert p.actions[1].content == b"web1\n"
    assert [a.command.render() for a in p.on_rollback] == ["hostname -- web1-old"]
    fq = plan("net.hostname", {"dns": {"zone": "lab.test"}}, hostname=renamed,
              file=_file("web1-old.lab.test\n"))
    assert fq.actions[1].content == b"web1.lab.test\n"
    assert plan("net.hostname", {}, "localhost", hostname=renamed, file=_file("x\n")).refused
    same = hostname.parse("name=web1\nfqdn=web1.other\nfile=web1\nfleetcheck-hostname: end\n")
    assert plan("net.hostname", {"dns": {"zone": "lab.test"}}, hostname=same,
                file=_file("web1\n")).refused
