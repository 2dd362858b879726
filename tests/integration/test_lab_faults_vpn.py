"""The vpn area's lab faults (lab/faults/vpn.py) on files1's real OpenVPN, each seen by
a probe on the host (the daemon's process and socket, the file, openvpn's own reading
of it) and gone once healed. Nothing is sent to the VPN's port."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

RUNS = "pgrep -x openvpn >/dev/null && echo runs || echo stopped"
LISTENS = "ss -H -ulpn 'sport = :1194' | grep -c openvpn || true"
# openvpn's own reading of the file (as the fact does: --test-crypto stops at --secret)
READS = ("cd /etc/openvpn && openvpn --suppress-timestamps --config lab.conf --verb 1 "
         "--test-crypto 2>&1 | grep '^Options error' || true")


def test_openvpn_runs_on_a_real_tun_device(healthy, ssh):
    assert ssh.out("files1", RUNS).strip() == "runs"
    assert ssh.out("files1", LISTENS).strip() == "1"
    assert "tun0" in ssh.out("files1", "ip -br link")
    assert ssh.out("files1", READS).strip() == "Options error: You must define key file (--secret)"


def test_openvpn_config_error(healthy, ssh):
    ssh.toggles("files1", "openvpn-config-error", RUNS, "runs", "stopped")
    healthy.fault("files1", "openvpn-config-error")
    try:
        assert "Unrecognized option or missing or extra parameter(s) in lab.conf:20: " \
               "data-cipher" in ssh.out("files1", READS)
    finally:
        healthy.heal("files1", "openvpn-config-error")
    assert ssh.out("files1", LISTENS).strip() == "1"


def test_openvpn_no_tls_crypt(healthy, ssh):
    ssh.toggles("files1", "openvpn-no-tls-crypt",
                "grep -c '^tls-crypt ' /etc/openvpn/lab.conf || true", "1", "0")
    assert ssh.out("files1", RUNS).strip() == "runs", "restarted with the healthy file"


def test_openvpn_stopped(healthy, ssh):
    ssh.toggles("files1", "openvpn-stopped", LISTENS, "1", "0")
