"""The dhcp area's lab faults (lab/faults/dhcp.py) on app1's real ISC dhcpd, each seen by
a probe on the host and gone once healed; the dhcp fact on the real outputs of app1
(dhcpd running) and ns1 (both packages installed, neither started). Nothing sends a
DHCP packet: dhcpd serves the lab's bridge (eth0) and no lab host asks it for a lease."""

from __future__ import annotations

import pytest

from fleetcheck.facts import dhcp

pytestmark = pytest.mark.integration

RUNNING = "labsvc status isc-dhcp-server >/dev/null && echo up || echo down"


def fact(ssh, host: str) -> dhcp.DhcpServers:
    return dhcp.parse(ssh.out(host, dhcp.command({}).render()))


def test_dhcpd_serves_the_lab_bridge_only(healthy, ssh):
    assert ssh.out("app1", RUNNING).strip() == "up"
    pid = ssh.out("app1", "cat /run/dhcpd.pid").strip()
    argv = ssh.out("app1", f"tr '\\000' ' ' < /proc/{pid}/cmdline").split()
    assert argv[0] == "/usr/sbin/dhcpd" and "-4" in argv and argv[-1] == "eth0", argv
    assert 'INTERFACESv4="eth0"' in ssh.out("app1", "cat /etc/default/isc-dhcp-server")
    sockets = ssh.out("app1", "ss -H -ulpn 'sport = :67'")
    assert "dhcpd" in sockets, sockets
    # the other hosts have the packages (one rootfs) and run neither
    assert ssh.out("ns1", "pidof dhcpd kea-dhcp4 || echo none").strip() == "none"


def test_the_dhcp_fact_on_real_outputs(healthy, ssh):
    app1 = fact(ssh, "app1")
    assert app1.isc.running and app1.isc.test_exit == 0 and not app1.kea.running
    assert [(s.subnet, s.ranges) for s in app1.isc.subnets] == [
        ("10.213.47.0/24", ["10.213.47.240 10.213.47.249"])]
    ns1 = fact(ssh, "ns1")
    assert ns1.isc.installed and ns1.kea.installed
    assert not ns1.isc.running and not ns1.kea.running
    assert ns1.isc.test_exit == 0 and ns1.isc.subnets == []
    assert ns1.kea.test_exit == 0 and [s.subnet for s in ns1.kea.subnets] == ["192.0.2.0/24"]


def test_dhcpd_config_error(healthy, ssh):
    ssh.toggles("app1", "dhcpd-config-error", "dhcpd -t -q -cf /etc/dhcp/dhcpd.conf "
                ">/dev/null 2>&1; echo $?", "0", "1")
    healthy.fault("app1", "dhcpd-config-error")
    try:
        assert ssh.out("app1", RUNNING).strip() == "up", "not restarted: it keeps running"
        assert fact(ssh, "app1").isc.error() == ("/etc/dhcp/dhcpd.conf line 3: semicolon "
                                                 "expected.")
    finally:
        healthy.heal("app1", "dhcpd-config-error")


def test_dhcp_range_removed(healthy, ssh):
    pid = ssh.out("app1", "cat /run/dhcpd.pid").strip()
    ssh.toggles("app1", "dhcp-range-removed", "grep -c '^ *range ' /etc/dhcp/dhcpd.conf "
                "|| true", "1", "0")
    assert ssh.out("app1", "cat /run/dhcpd.pid").strip() != pid, "restarted by the heal"
    assert ssh.out("app1", RUNNING).strip() == "up"


def test_dhcpd_stopped(healthy, ssh):
    ssh.toggles("app1", "dhcpd-stopped", RUNNING, "up", "down")
