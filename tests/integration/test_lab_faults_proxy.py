"""The proxy area's lab faults (lab/faults/proxy.py) on app1's real Squid, each seen by a
probe and gone once healed; the probe itself (fleetcheck.probes.proxy) from the
controller's two lab addresses, to app1's lab address only."""

from __future__ import annotations

import pytest

from fleetcheck.probes.proxy import through

pytestmark = pytest.mark.integration

APP1 = "10.213.47.31"
URL = "http://www.lab.test:8080/"
INSIDE, OUTSIDE = "10.213.47.1", "10.213.47.2"


def ask(source, role):
    return through(APP1, 3128, URL, source=source, role=role, timeout=10, allowed=APP1)


def test_squid_serves_the_inside_client_and_refuses_the_outside_one(healthy, ssh):
    assert ssh.out("app1", "service squid status >/dev/null 2>&1 && echo up").strip() == "up"
    inside, outside = ask(INSIDE, "inside"), ask(OUTSIDE, "outside")
    assert inside.served and inside.status == 200, inside
    assert outside.status == 403 and outside.squid_error == "ERR_ACCESS_DENIED", outside
    log = ssh.out("app1", "tail -n 2 /var/log/squid/access.log")
    assert f"{INSIDE} " in log and f"{OUTSIDE} " in log and "TCP_DENIED/403" in log, log


def test_proxy_open(healthy):
    healthy.fault("app1", "proxy-open")
    try:
        assert ask(OUTSIDE, "outside").served
    finally:
        healthy.heal("app1", "proxy-open")
    assert ask(OUTSIDE, "outside").refused


def test_proxy_denies_inside(healthy):
    healthy.fault("app1", "proxy-denies-inside")
    try:
        assert ask(INSIDE, "inside").refused
    finally:
        healthy.heal("app1", "proxy-denies-inside")
    assert ask(INSIDE, "inside").served


def test_squid_config_error_is_seen_by_squid_k_parse(healthy, ssh):
    healthy.fault("app1", "squid-config-error")
    try:
        out = ssh.out("app1", "squid -k parse 2>&1; echo rc=$?")
        assert "unrecognized: 'http_acess'" in out and "rc=1" in out, out
        assert ask(INSIDE, "inside").served      # not reconfigured: still serving
    finally:
        healthy.heal("app1", "squid-config-error")
    assert "rc=0" in ssh.out("app1", "squid -k parse >/dev/null 2>&1; echo rc=$?")
