"""The network area's lab faults (lab/faults/net.py), each seen by a probe on the host
and gone once healed: every lab host has its own network and UTS namespace, so the
interface, the route, the resolvers and the name are the host's own."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_interface_down(healthy, ssh):
    ssh.toggles("web1", "interface-down",
                "ip -o link show dev fc0 | grep -q 'state UP' && echo up || echo down",
                "up", "down")


def test_route_missing(healthy, ssh):
    ssh.toggles("web1", "route-missing", "ip route show 10.213.99.0/24 | wc -l", "1", "0")


def test_resolver_dead(healthy, ssh):
    probe = ("dig +time=1 +tries=1 +short @$(awk '/^nameserver/ {print $2; exit}' "
             "/etc/resolv.conf) -q web1.lab.test A | tail -n 1 || true")
    ssh.toggles("web1", "resolver-dead", probe, "10.213.47.30",
                ";; no servers could be reached")


def test_hostname_changed_is_idempotent(healthy, ssh):
    healthy.fault("web1", "hostname-changed")
    healthy.fault("web1", "hostname-changed")
    assert ssh.out("web1", "hostname").strip() == "web1-old", "applied twice: one rename"
    healthy.heal("web1", "hostname-changed")
    ssh.toggles("web1", "hostname-changed", "echo $(hostname) $(cat /etc/hostname)",
                "web1 web1", "web1-old web1-old")
