"""The healthy fleet: separate machines to every tool, with the roles the inventory
declares, and no way out of the lab's own network."""

from __future__ import annotations

import ipaddress

import pytest

import lab_probes as p
from lab.faults import net as lab_net
from lab.faults import vpn as lab_vpn

pytestmark = pytest.mark.integration


def test_every_host_has_forward_and_reverse_on_both_nameservers(healthy):
    lab = healthy
    for ns in lab.inv.dns["nameservers"]:
        for name, h in lab.hosts.items():
            assert p.a(ns, f"{name}.lab.test") == [h["address"]], (ns, name)
            assert p.ptr(ns, h["address"]) == [f"{name}.lab.test."], (ns, name)


def test_hosts_resolve_through_ns1_and_ns2(healthy, ssh):
    resolv = ssh.out("app1", "cat /etc/resolv.conf")
    for ns in healthy.inv.dns["nameservers"]:
        assert f"nameserver {ns}" in resolv
    # the host's own resolver answers from the lab DNS (getent goes through resolv.conf)
    assert ssh.out("app1", "getent hosts files1.lab.test").split()[0] == healthy.address("files1")


def test_dns_is_authoritative_only(healthy):
    master = healthy.address("ns1")
    rcode, answers = p.query(master, "example.com", "A")
    assert rcode == "REFUSED" and answers == []
    conf = healthy.read_file("ns1", "/etc/bind/named.conf.options")
    assert "recursion no;" in conf and "forwarders" not in conf


def test_zone_transfer_between_master_and_slave_uses_tsig(healthy):
    lab = healthy
    slave_conf = lab.read_file("ns2", "/etc/bind/named.conf.local")
    assert f'key "{lab.tsig_name}"' in slave_conf and "type secondary" in slave_conf
    for z in ("lab.test", lab.inv.dns["reverse_zone"]):
        assert p.serial(lab.address("ns1"), z) == p.serial(lab.address("ns2"), z)


def test_fileserver_serves_declared_shares_and_exports(healthy):
    h = healthy.inv.by_name("files1")
    addr = h.address
    assert sorted(p.smb_shares(addr)) == sorted(s["name"] for s in h.vars["samba"]["shares"])
    assert p.showmount(addr) == {e["path"]: e["clients"] for e in h.vars["nfs"]["exports"]}


def test_hosts_are_separate_machines(healthy, ssh):
    seen = {}
    for name in healthy.hosts:
        out = ssh.out(name, "hostname; cat /etc/hostname; ip -o -4 addr show dev eth0; "
                            "cat /proc/1/comm; readlink /proc/self/ns/pid")
        lines = out.splitlines()
        assert lines[0] == lines[1] == name
        assert healthy.address(name) + "/" in lines[2]
        assert lines[3] == "tini"
        seen[name] = lines[4]
    # the controller sees its own hostname, not the lab's
    with open("/proc/sys/kernel/hostname") as f:
        assert f.read().strip() not in healthy.hosts


def test_hosts_have_no_route_out(healthy, ssh):
    for name in healthy.hosts:
        routes = ssh.out(name, "ip -4 route; ip -6 route").strip().splitlines()
        assert not any(r.startswith("default") for r in routes), (name, routes)
        v4 = [r for r in routes if r and not r.startswith(("fe80", "::1", "ff00"))]
        # beside the lab subnet: the net area's second interface (a veth pair whose both
        # ends stay in the host) and its declared null route (lab/faults/net.py), and the
        # VPN's own subnet on files1's tun device (lab/faults/vpn.py)
        inside = (str(healthy.inv.subnet), f"blackhole {lab_net.ROUTE}",
                  f"{ipaddress.ip_interface(lab_net.IFACE_ADDRESS).network} dev {lab_net.IFACE} ",
                  f"{lab_vpn.SUBNET} dev tun0 ")
        assert all(r.startswith(inside) for r in v4), (name, routes)


def test_global_sysctls_are_read_only_net_is_per_host(healthy, ssh):
    res = ssh.run("web1", "sysctl -w vm.swappiness=1")
    assert res.returncode != 0
    res = ssh.run("web1", "sysctl -w kernel.domainname=x")
    assert res.returncode != 0
    assert ssh.run("web1", "touch /sys/x").returncode != 0, "/sys is read-only"
    assert ssh.out("web1", "sysctl -n net.ipv4.ip_forward").strip() == "0"


def test_local_apt_repository(healthy, ssh):
    src = ssh.out("web1", "cat /etc/apt/sources.list.d/*.list")
    assert "deb [trusted=yes] file:/srv/labrepo ./" in src
    assert "Suite: bookworm-security" in ssh.out("web1", "cat /srv/labrepo/Release")
    assert ssh.out("web1", "dpkg-query -W -f '${Version}' fleetcheck-labpkg") == "1.0-1"
    ssh.out("web1", "apt-get -qq update")
    assert "Inst " not in ssh.out("web1", "apt-get -s upgrade")


def test_declared_services_run(healthy, ssh):
    for name, h in healthy.hosts.items():
        for svc in h["services"]:
            assert ssh.run(name, f"labsvc status {svc}").returncode == 0, (name, svc)
