"""The socket, interface and addr modules."""

import pytest


def wildcard(listening):
    """The sockets bound to every IPv4 address: daemons (sshd, ...), not the short-lived
    loopback servers of other test runs on the same machine."""
    return [spec for spec in listening if spec.startswith("tcp://0.0.0.0:")]


def test_daemon_sockets_are_listening(host, listening):
    if not wildcard(listening):
        pytest.skip("no daemon listens on 0.0.0.0")
    for spec in wildcard(listening):
        assert host.socket(spec).is_listening, spec


def test_a_closed_port_is_not_listening(host):
    assert not host.socket("tcp://127.0.0.1:1").is_listening


def test_loopback_interface(host, ip_command):
    lo = host.interface("lo")
    assert lo.exists
    assert "127.0.0.1" in lo.addresses
    assert "lo" in host.interface.names()


def test_an_absent_interface(host, ip_command):
    assert not host.interface("parity0").exists


def test_localhost_resolves(host):
    localhost = host.addr("localhost")
    assert localhost.is_resolvable
    assert "127.0.0.1" in localhost.ipv4_addresses


def test_a_daemon_port_is_reachable(host, listening):
    if not wildcard(listening):
        pytest.skip("no daemon listens on 0.0.0.0")
    port = wildcard(listening)[0].rsplit(":", 1)[1]
    assert host.addr("127.0.0.1").port(port).is_reachable


def test_port_1_is_not_reachable(host):
    assert not host.addr("127.0.0.1").port(1).is_reachable


def test_loopback_answers_ping(host):
    if not host.exists("ping"):
        pytest.skip("no ping here")
    assert host.addr("127.0.0.1").is_reachable
