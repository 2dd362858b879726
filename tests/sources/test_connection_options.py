"""Per-host connection options from vars: become method (sudo, su) and user, jump
host, command timeout; and how they are described in the run's metadata (no secret).

become runs for real on this machine over local:// (root can su/sudo to any user
without a password); the jump host over SSH is proven on the lab
(tests/integration/test_inventory_sources_lab.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from fleetcheck.connect.backends import open_host
from fleetcheck.connect.common import parse_jump
from fleetcheck.connect.paramiko_backend import FleetParamikoBackend
from fleetcheck.facts.base import Command, FactError
from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.inventory import HostEntry
from fleetcheck.inventory.hostvars import check_var, proxy_jump

needs_root = pytest.mark.root("su/sudo without a password")


def local(**values) -> FleetHost:
    entry = HostEntry(name="h", vars={"ansible_connection": "local", **values},
                      groups=["all"], source="inv.yml")
    return FleetHost(entry, ConnectOptions())


@needs_root
@pytest.mark.parametrize("method", ["su", "sudo"])
def test_become_method_and_user(method):
    if not shutil.which(method):
        pytest.skip(f"no {method} here")
    host = local(ansible_become=True, ansible_become_method=method, ansible_become_user="nobody")
    try:
        assert host.run(Command("id -un")).stdout.strip() == "nobody"
        tricky = "a'b \"c\" $(id) `id`; x"
        assert host.run(Command("printf %s", tricky)).stdout == tricky  # quoted once, right
    finally:
        host.close()


@needs_root
def test_su_to_root_by_default():
    host = local(ansible_become=True, ansible_become_method="su")
    try:
        assert host.run(Command("id -u")).stdout.strip() == "0"
    finally:
        host.close()


def test_su_wrapping_uses_the_one_quote():
    host = local(ansible_become=True, ansible_become_method="su", ansible_become_user="app")
    backend = open_host(host.entry, connect_timeout=1, command_timeout=1, known_hosts=None,
                        ssh_config=None, key_filename=None).backend
    assert backend.get_command("echo %s", "x y") == \
        "su -s /bin/sh -c 'echo '\"'\"'x y'\"'\"'' -- app"


def test_per_host_command_timeout():
    host = local(fleetcheck_command_timeout=0.5)
    try:
        with pytest.raises(FactError, match=r"command timed out after 0.5s: sleep 5"):
            host.run(Command("sleep 5"))
    finally:
        host.close()


@pytest.mark.parametrize("values,expected", [
    ({"fleetcheck_proxy_jump": "ops@bastion:2222"}, "ops@bastion:2222"),
    ({"ansible_ssh_common_args": "-o ProxyJump=jump.example.com"}, "jump.example.com"),
    ({"ansible_ssh_common_args": "-o StrictHostKeyChecking=yes -J 'root@10.0.0.1'"},
     "root@10.0.0.1"),
    ({"ansible_ssh_extra_args": "-oProxyJump=j1"}, "j1"),
    ({"ansible_ssh_common_args": "-o ProxyCommand=none"}, None),
    ({}, None),
])
def test_proxy_jump_from_vars(values, expected):
    assert proxy_jump(values) == expected


def test_bad_connection_option_values():
    # doas is refused per host (HostEntry.refused), not at load
    assert check_var("ansible_become_method", "doas") is None
    assert check_var("ansible_become_method", "sudo -s") == (
        "ansible_become_method: become method 'sudo -s' is not an Ansible plugin name "
        "(fleetcheck runs: sudo, su)")
    assert "expected [user@]host[:port]" in check_var("fleetcheck_proxy_jump", "a b")


def test_parse_jump():
    assert parse_jump("ops@10.0.0.1:2222") == ("ops", "10.0.0.1", 2222)
    assert parse_jump("bastion") == (None, "bastion", 22)
    assert parse_jump("ssh://[2001:db8::1]:22,second") == (None, "2001:db8::1", 22)


def test_ssh_and_paramiko_backends_get_the_jump_host():
    entry = HostEntry(name="t", vars={"ansible_host": "192.0.2.7", "ansible_connection": "ssh",
                                      "fleetcheck_proxy_jump": "ops@192.0.2.1"},
                      groups=["all"], source="inv.yml")
    ssh = open_host(entry, connect_timeout=1, command_timeout=1, known_hosts=None,
                    ssh_config=None, key_filename=None, proxy_jump=entry.proxy_jump).backend
    proxy = next(w for w in ssh.ssh_argv("true") if w.startswith("ProxyCommand="))
    assert proxy.endswith("-W '[%h]:%p' -- 192.0.2.1") and " -l ops " in proxy
    entry.vars["ansible_connection"] = "paramiko"
    para = open_host(entry, connect_timeout=1, command_timeout=1, known_hosts=None,
                     ssh_config=None, key_filename=None, proxy_jump=entry.proxy_jump).backend
    assert isinstance(para, FleetParamikoBackend) and para.proxy_jump == "ops@192.0.2.1"


def test_describe_never_holds_a_secret(tmp_path):
    entry = HostEntry(name="w", source=str(tmp_path / "inv.yml"), groups=["all"], vars={
        "ansible_host": "192.0.2.9", "ansible_port": 2200, "ansible_user": "ops",
        "ansible_password": "hunter2-SECRET", "ansible_become_password": "s3-SECRET",
        "ansible_ssh_private_key_file": "keys/id", "ansible_become": True,
        "ansible_become_method": "su", "fleetcheck_command_timeout": 15,
        "ansible_ssh_common_args": "-o ProxyJump=ops@192.0.2.1"})
    view = FleetHost(entry, ConnectOptions()).describe()
    assert view == {"connection": "paramiko", "address": "192.0.2.9", "port": 2200,
                    "user": "ops", "key_file": str(tmp_path / "keys" / "id"),
                    "proxy_jump": "ops@192.0.2.1", "become": True, "become_method": "su",
                    "become_user": "root", "command_timeout": 15.0, "connect_timeout": 10.0}
    assert "SECRET" not in repr(view)
