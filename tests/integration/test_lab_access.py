"""Controller access: ssh with strict host key checking through the generated
ssh_config and known_hosts, paramiko too; the inventory points at them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import paramiko
import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories" / "lab.yml"


def test_ssh_by_name_with_strict_host_keys(lab, ssh):
    cfg = lab.ssh_config.read_text()
    assert "StrictHostKeyChecking yes" in cfg
    for name in lab.hosts:
        assert ssh.out(name, "hostname").strip() == name


def test_ssh_by_address_is_known_too(lab):
    addr = lab.address("ns1")
    res = subprocess.run(["ssh", "-F", str(lab.ssh_config), addr, "hostname"], capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ns1"


def test_known_hosts_has_name_and_address(lab):
    lines = lab.known_hosts.read_text().splitlines()
    assert len(lines) == len(lab.hosts)
    for name, h in lab.hosts.items():
        entry = next(line for line in lines if line.split()[0].split(",")[0] == name)
        names = entry.split()[0].split(",")
        assert name in names and h["address"] in names
        assert entry.split()[1] == "ssh-ed25519"
    # every host has its own key
    assert len({line.split()[2] for line in lines}) == len(lines)


def test_wrong_host_key_is_refused(lab, tmp_path):
    """Strict checking is really on: a known_hosts with another host's key fails."""
    lines = lab.known_hosts.read_text().splitlines()
    web1 = next(line for line in lines if line.startswith("web1,"))
    app1 = next(line for line in lines if line.startswith("app1,"))
    bad = tmp_path / "known_hosts"
    bad.write_text(web1.split()[0] + " " + " ".join(app1.split()[1:]) + "\n")
    res = subprocess.run(["ssh", "-F", str(lab.ssh_config), "-o", f"UserKnownHostsFile={bad}", "web1",
                          "true"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 255
    assert "HOST IDENTIFICATION HAS CHANGED" in res.stderr or "verification failed" in res.stderr


def test_paramiko_with_known_hosts_and_reject_policy(lab):
    for name in ("web1", "files1"):
        addr = lab.address(name)
        c = paramiko.SSHClient()
        c.load_host_keys(str(lab.known_hosts))
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        c.connect(addr, username="root", key_filename=str(lab.identity), look_for_keys=False,
                  allow_agent=False, timeout=10)
        try:
            _, out, _ = c.exec_command("hostname", timeout=10)
            assert out.read().decode().strip() == name
        finally:
            c.close()


def test_paramiko_rejects_unknown_host(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    c = paramiko.SSHClient()
    c.load_host_keys(str(empty))
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException):
        c.connect(lab.address("web1"), username="root", key_filename=str(lab.identity),
                  look_for_keys=False, allow_agent=False, timeout=10)
    c.close()


def test_inventory_points_at_the_lab(lab):
    inv = yaml.safe_load(INVENTORY.read_text())
    v = inv["all"]["vars"]
    base = INVENTORY.parent
    assert (base / v["ansible_ssh_private_key_file"]).resolve() == lab.identity
    assert (base / v["fleetcheck_known_hosts"]).resolve() == lab.known_hosts
    assert (base / v["fleetcheck_ssh_config"]).resolve() == lab.ssh_config
    assert v["ansible_user"] == "root"
    declared = {}
    for group in inv["all"]["children"].values():
        for name, hv in (group.get("hosts") or {}).items():
            # a host in a second group (app1 in hypervisors) has its vars in its first
            if hv and "ansible_host" in hv:
                declared[name] = hv["ansible_host"]
    assert declared == {n: h["address"] for n, h in lab.hosts.items()}


def test_generated_inventory_lists_every_running_host(lab):
    gen = yaml.safe_load(lab.generated_inventory.read_text())
    v = gen["all"]["vars"]
    assert (lab.generated_inventory.parent / v["fleetcheck_known_hosts"]).resolve() == lab.known_hosts
    names = set()
    for group in gen["all"]["children"].values():
        names |= set(group.get("hosts") or {})
    assert names == set(lab.hosts)
