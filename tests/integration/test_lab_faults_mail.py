"""The mail area's lab faults (lab/faults/mail.py) on app1's real Postfix, each seen by a
probe and gone once healed; the relay probe itself (fleetcheck.probes.smtp) against the
daemon from the controller, to app1's lab address only."""

from __future__ import annotations

import pytest

from fleetcheck.probes.smtp import relay_test

pytestmark = pytest.mark.integration

APP1 = "10.213.47.31"


def relay():
    return relay_test(APP1, 25, helo="fleetcheck.invalid",
                      sender="fleetcheck-probe@relay-test.invalid",
                      recipient="relay-test@relay-test.invalid", timeout=10, allowed=APP1)


def test_postfix_runs_and_refuses_to_relay(healthy, ssh):
    assert ssh.out("app1", "postfix status >/dev/null 2>&1 && echo up").strip() == "up"
    test = relay()
    assert test.connected and test.source == "10.213.47.1", test
    assert test.rcpt_code in (454, 554) and "Relay access denied" in test.rcpt_reply, test
    assert test.steps[-2].startswith("RSET -> 250") and test.steps[-1] == "QUIT"


def test_open_relay(healthy, ssh):
    ssh.toggles("app1", "open-relay", "postconf -h mynetworks", "127.0.0.0/8", "0.0.0.0/0")
    healthy.fault("app1", "open-relay")
    try:
        assert relay().rcpt_code == 250
    finally:
        healthy.heal("app1", "open-relay")
    assert relay().rcpt_code in (454, 554)


def test_mail_queue_stuck_is_idempotent(healthy, ssh):
    count = "postqueue -j | wc -l"
    healthy.fault("app1", "mail-queue-stuck")
    healthy.fault("app1", "mail-queue-stuck")
    assert ssh.out("app1", count).strip() == "10", "applied twice: ten messages"
    healthy.heal("app1", "mail-queue-stuck")
    ssh.toggles("app1", "mail-queue-stuck", count, "0", "10")


def test_postfix_config_error(healthy, ssh):
    ssh.toggles("app1", "postfix-config-error", "postconf -n 2>&1 | grep -c 'unused parameter'"
                " || true", "0", "1")
