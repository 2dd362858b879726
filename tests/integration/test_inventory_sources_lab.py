"""Inventory sources end to end on the lab: the audit reads the fleet from an HTTPS
source of truth (a loopback server with a test CA) behind a token endpoint, keeps
`--where role=dns`, and the report shows those hosts only, with no secret in any
report file or in the terminal output. Then per-host connection options for real:
a host reached only through a jump host, with become su; an offline host; and the
host table's SSH reachability probe."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import REPO, audit, variant

sys.path.insert(0, str(REPO / "tests" / "sources"))
from inventory_server import InventoryServer, make_ca, server_cert  # noqa: E402

pytestmark = pytest.mark.integration

TOKEN = "lab-token-7f3a91-SECRET"
PASSWORD = "lab-password-c0ffee-SECRET"
ROLES = {"dns_master": "dns", "dns_slave": "dns", "fileservers": "files", "web": "web",
         "app": "app"}


def dynamic_inventory(tmp_path: Path, lab, **host_overrides) -> dict:
    """The lab's inventory as Ansible dynamic-inventory JSON, with a role var."""
    from fleetcheck.inventory import load

    inv = load([variant(tmp_path, lab)])
    data: dict = {"_meta": {"hostvars": {}}}
    for name, entry in inv.hosts.items():
        group = next(g for g in entry.groups if g in ROLES)
        data.setdefault(group, {"hosts": []})["hosts"].append(name)
        hostvars = {**entry.vars, "role": ROLES[group], **host_overrides.get(name, {})}
        data["_meta"]["hostvars"][name] = {k: v for k, v in hostvars.items() if v is not None}
    return data


@pytest.fixture
def source(tmp_path, healthy, monkeypatch):
    """An HTTPS inventory server for the lab, and the audit's extra arguments."""
    ca_path, ca_cert, ca_key = make_ca(tmp_path)
    cert, key = server_cert(tmp_path, ca_cert, ca_key)
    auth = tmp_path / "inventory-auth.yml"
    monkeypatch.setenv("LAB_INV_USER", "auditor")
    monkeypatch.setenv("LAB_INV_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def serve(inventory: dict) -> tuple[InventoryServer, list[str]]:
        srv = InventoryServer(inventory, token=TOKEN, credentials=("auditor", PASSWORD),
                              tls=(cert, key))
        srv.__enter__()
        servers.append(srv)
        auth.write_text("username_env: LAB_INV_USER\npassword_env: LAB_INV_PASSWORD\n"
                        f"token_url: {srv.url('/token')}\n")
        return srv, ["--inventory-auth", str(auth), "--inventory-ca", str(ca_path)]

    servers: list[InventoryServer] = []
    yield serve
    for srv in servers:
        srv.__exit__(None, None, None)


def assert_no_secret(tmp_path: Path, out: str) -> None:
    assert TOKEN not in out and PASSWORD not in out
    checked = 0
    for root, _, files in os.walk(tmp_path / "reports"):
        for name in files:
            data = Path(root, name).read_bytes()
            assert TOKEN.encode() not in data and PASSWORD.encode() not in data, name
            checked += 1
    assert checked >= 3  # report.html, results.json, junit.xml at least


def test_audit_from_https_inventory_with_token_and_where(healthy, tmp_path, source):
    srv, args = source(dynamic_inventory(tmp_path, healthy))
    rc, records, out = audit(tmp_path, *args, "--where", "role=dns", "-k", "raid or sysctl",
                             inventory=srv.url())
    assert rc == 0, out
    assert srv.count("/token") == 1 and srv.count("/inv") == 1
    assert {r["host"] for r in records} == {"ns1", "ns2"}, out
    assert {r["outcome"] for r in records} == {"passed", "not-applicable"}, records
    latest = tmp_path / "reports" / "last"
    run = json.loads((latest / "results.json").read_text())["run"]
    assert run["hosts"] == ["ns1", "ns2"] and run["where"] == ["role=dns"]
    assert run["inventory"] == [srv.url()]
    assert set(run["connections"]) == {"ns1", "ns2"}
    junit = (latest / "junit.xml").read_text()
    html = (latest / "report.html").read_text()
    for other in ("web1", "app1", "files1"):
        assert f'"{other}"' not in html and other not in junit
    assert '"ns1"' in html and '"ns2"' in html
    assert_no_secret(tmp_path, out)


def test_jump_host_become_su_and_offline(healthy, tmp_path, source):
    # app1 is known by a name only the lab's DNS resolves: the controller cannot reach
    # it directly, ns1 (the jump host) can. No ssh_config (its HostName would map the
    # name to the address).
    try:
        socket.getaddrinfo("app1.lab.test", 22)
        direct = True
    except socket.gaierror:
        direct = False
    inventory = dynamic_inventory(tmp_path, healthy, **{
        "app1": {"ansible_host": "app1.lab.test", "fleetcheck_ssh_config": None,
                 "ansible_ssh_common_args": f"-o ProxyJump=root@{healthy.address('ns1')}",
                 "ansible_become": True, "ansible_become_method": "su",
                 "fleetcheck_command_timeout": 20},
        "web1": {"online": False},
    })
    srv, args = source(inventory)
    rc, records, out = audit(tmp_path, *args, "--limit", "app1:web1", "-k", "sysctl",
                             inventory=srv.url())
    by_host = {r["host"]: r for r in records}
    assert by_host["app1"]["outcome"] == "passed", out
    assert (by_host["web1"]["outcome"], by_host["web1"]["message"]) == \
        ("not-applicable", "offline")
    assert rc == 0, out
    run = json.loads((tmp_path / "reports" / "last" / "results.json").read_text())["run"]
    conn = run["connections"]["app1"]
    assert conn["proxy_jump"] == f"root@{healthy.address('ns1')}"
    assert (conn["become_method"], conn["become_user"], conn["command_timeout"]) == \
        ("su", "root", 20.0)
    assert run["offline"] == ["web1"]
    if not direct:
        # the proof that the jump host carried the connection: without it, no route
        inventory["_meta"]["hostvars"]["app1"].pop("ansible_ssh_common_args")
        srv.inventory = inventory
        rc, records, out = audit(tmp_path, *args, "--limit", "app1", "-k", "sysctl",
                                 inventory=srv.url())
        assert {r["outcome"] for r in records} == {"unreachable"}, out
    assert_no_secret(tmp_path, out)


def test_host_table_probes_the_lab(healthy, tmp_path, source):
    srv, args = source(dynamic_inventory(tmp_path, healthy, web1={"online": False}))
    proc = subprocess.run(
        [sys.executable, "-m", "fleetcheck", "hosts", "--inventory", srv.url(), *args,
         "--where", "role!=files", "--columns", "name,address,role,offline",
         "--check-reachable", "--format", "json"],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == {"ns1", "ns2", "web1", "app1"}
    assert all(r["reachable"] == "yes" and r["latency_ms"] is not None for r in rows.values())
    assert rows["web1"]["offline"] is True and rows["ns1"]["role"] == "dns"
    assert TOKEN not in proc.stdout + proc.stderr and PASSWORD not in proc.stdout + proc.stderr
