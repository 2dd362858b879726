"""The audit against the lab: real hosts with their own sshd and host keys.

Connections: strict host keys (unknown rejected, --ssh-accept-new records them, a
changed key refused), authentication failure, the OpenSSH backend, TCP_NODELAY; and
the whole audit over the fleet under -n 2.
"""

from __future__ import annotations

import socket
import subprocess

import pytest
from fleet import audit, variant

pytestmark = pytest.mark.integration


def test_audit_whole_lab_in_parallel(healthy, tmp_path):
    rc, records, out = audit(tmp_path, "-n", "2")
    hosts = set(healthy.hosts)
    assert {r["host"] for r in records} == hosts, out
    by_check = {(r["host"], r["check_id"]): r for r in records}
    for host in hosts:
        vm = by_check[(host, "capacity.vmstat")]
        assert vm["outcome"] in ("passed", "failed"), vm  # measured, not an error
        assert vm["evidence"]["cpus"] >= 1 and vm["evidence"]["thresholds"], vm
        md = by_check[(host, "raid.md_healthy")]
        assert (md["outcome"], md["message"]) == ("not-applicable",
                                                   "no md driver: /proc/mdstat is absent")


def test_unknown_host_key_is_rejected(healthy, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inv = variant(tmp_path, healthy, fleetcheck_known_hosts=str(empty))
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1", inventory=inv)
    assert rc == 1
    (rec,) = records
    assert rec["outcome"] == "unreachable"
    assert "host key unknown" in rec["message"] and "--ssh-accept-new" in rec["message"]
    assert empty.read_text() == ""  # nothing trusted behind the user's back


def test_accept_new_records_the_key(healthy, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    inv = variant(tmp_path, healthy, fleetcheck_known_hosts=str(known))
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1:app1",
                             "--ssh-accept-new", inventory=inv)
    assert {r["outcome"] for r in records} == {"not-applicable"}, out
    text = known.read_text()
    assert healthy.address("web1") in text and healthy.address("app1") in text
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1", inventory=inv)
    assert [r["outcome"] for r in records] == ["not-applicable"], out  # now known


def test_changed_host_key_is_refused(healthy, tmp_path):
    lab_known = (healthy.state_dir / "known_hosts").read_text().splitlines()
    ns1_key = next(line for line in lab_known if line.startswith("ns1"))
    forged = tmp_path / "known_hosts"
    forged.write_text(f"{healthy.address('web1')} {ns1_key.split(' ', 1)[1]}\n")
    inv = variant(tmp_path, healthy, fleetcheck_known_hosts=str(forged))
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1", inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "unreachable" and "host key CHANGED" in rec["message"], rec


def test_authentication_failure_is_reported(healthy, tmp_path):
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    inv = variant(tmp_path, healthy, ansible_ssh_private_key_file=str(key))
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1", inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "unreachable" and "authentication failed" in rec["message"], rec


def test_openssh_backend(healthy, tmp_path):
    inv = variant(tmp_path, healthy, ansible_connection="ssh")
    rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1:ns1", inventory=inv)
    assert [r["outcome"] for r in records] == ["not-applicable"] * 2, out


def test_paramiko_socket_has_tcp_nodelay(healthy, tmp_path):
    from fleetcheck import inventory
    from fleetcheck.facts.base import Command
    from fleetcheck.connect.hosts import ConnectOptions, FleetHost

    entry = inventory.load([variant(tmp_path, healthy)]).select("web1")[0]
    host = FleetHost(entry, ConnectOptions())
    try:
        assert host.run(Command("hostname")).stdout.strip() == "web1"
        sock = host.testinfra.backend.client.get_transport().sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        host.close()


@pytest.mark.parametrize("capture, declared, outcome, severity", [
    ("raid6_bitmap", [{"name": "md0", "level": "raid6", "devices": 7}], "passed", "critical"),
    ("raid5_failed_disk_centos7", [], "failed", "critical"),
    ("raid6_bitmap", [{"name": "md0", "level": "raid10"}], "failed", "high"),
])
def test_md_healthy_on_a_lab_host(healthy, tmp_path, capture, declared, outcome, severity):
    """Lab hosts have no md driver (md is a kernel module of the whole machine): a REAL
    captured /proc/mdstat is placed on web1 and the check pointed at it (raid.mdstat_path)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "mdstat"
            / f"{capture}.txt").read_text()
    healthy.put_file("web1", "/srv/mdstat", text)
    try:
        inv = variant(tmp_path, healthy, raid={"mdstat_path": "/srv/mdstat", "arrays": declared})
        rc, records, out = audit(tmp_path, "-k", "raid", "--limit", "web1", inventory=inv)
    finally:
        healthy.exec("web1", ["rm", "-f", "/srv/mdstat"])
    (rec,) = records
    assert (rec["outcome"], rec["severity"]) == (outcome, severity), rec
