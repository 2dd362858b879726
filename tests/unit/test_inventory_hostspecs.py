"""from_hostspecs: testinfra --hosts values as inventory hosts."""

import pytest

from fleetcheck.inventory import InventoryError, from_hostspecs

BASE = {"fleetcheck_command_timeout": 60, "capacity": {"vmstat": {"samples": 5}},
        "ansible_user": "admin"}


def one(spec, base=BASE):
    inventory = from_hostspecs([spec], base)
    assert len(inventory.hosts) == 1
    return next(iter(inventory.hosts.values()))


def test_local():
    host = one("local://")
    assert host.name == "local"  # testinfra's own id for the local backend
    assert (host.connection, host.address, host.groups) == ("local", "local",
                                                            ["all", "ungrouped"])
    assert host.vars["capacity"] == {"vmstat": {"samples": 5}}


def test_ssh_with_user_and_port():
    host = one("ssh://deploy@web1.example.com:2222")
    assert (host.name, host.address, host.port, host.user, host.connection) == (
        "web1.example.com", "web1.example.com", 2222, "deploy", "ssh")
    assert host.vars == {**BASE, "ansible_connection": "ssh",
                         "ansible_host": "web1.example.com", "ansible_port": 2222,
                         "ansible_user": "deploy"}


def test_paramiko_and_defaults():
    host = one("paramiko://web2")
    assert (host.name, host.port, host.user, host.connection) == ("web2", 22, "admin",
                                                                  "paramiko")


@pytest.mark.parametrize("spec,name,user", [("web3", "web3", "admin"),
                                            ("ops@web4", "web4", "ops")])
def test_without_scheme_is_paramiko(spec, name, user):
    host = one(spec)
    assert (host.name, host.user, host.connection) == (name, user, "paramiko")


def test_ipv6_literal():
    host = one("ssh://[fe80::1]:2200")
    assert (host.name, host.address, host.port) == ("fe80::1", "fe80::1", 2200)


def test_query_options():
    host = one("ssh://web5?sudo=true&sudo_user=postgres&ssh_identity_file=keys/id&timeout=7")
    assert (host.become, host.become_user) == (True, "postgres")
    assert host.vars["ansible_ssh_private_key_file"] == "keys/id"
    assert host.vars["testinfra_options"] == {"timeout": "7"}


def test_password_in_spec():
    host = one("ssh://ops:s3cret@web6")
    assert (host.user, host.vars["ansible_password"]) == ("ops", "s3cret")


def test_several_specs_keep_their_order_and_split_commas():
    inventory = from_hostspecs(["ssh://b", "a,local://", "ssh://b"], {})
    assert list(inventory.hosts) == ["b", "a", "local"]
    assert [h.name for h in inventory.select("!local")] == ["b", "a"]


def test_base_vars_are_deep_copied():
    base = {"nested": {"x": [1]}}
    inventory = from_hostspecs(["a", "b"], base)
    inventory.hosts["a"].vars["nested"]["x"].append(2)
    assert inventory.hosts["b"].vars["nested"] == {"x": [1]}
    assert base == {"nested": {"x": [1]}}
    assert inventory.group_vars("all") == base


def test_groups_exist_like_any_inventory():
    inventory = from_hostspecs(["a"], {})
    assert {"all", "ungrouped"} <= set(inventory.groups)
    assert inventory.hosts["a"].source == "--hosts"


@pytest.mark.parametrize("specs,message", [
    (["docker://c1"], "--hosts 'docker://c1': connection 'docker' is not supported "
                      "(allowed: local, paramiko, ssh)"),
    (["ssh://web:ssh"], "--hosts 'ssh://web:ssh': ansible_port: expected a port number "
                        "1-65535, got 'ssh'"),
    (["ssh://web:0"], "--hosts 'ssh://web:0': ansible_port: expected a port number 1-65535, "
                      "got 0"),
    ([""], "--hosts '': empty host spec"),
    (["a,"], "--hosts '': empty host spec"),
    (["ssh://"], "--hosts 'ssh://': no host name"),
    (["ssh://web", "ssh://web:2222"], "--hosts 'ssh://web:2222': host 'web' is also given as "
                                      "'ssh://web'"),
])
def test_bad_specs(specs, message):
    with pytest.raises(InventoryError) as info:
        from_hostspecs(specs, {})
    assert str(info.value) == message


def test_bad_base_vars():
    with pytest.raises(InventoryError) as info:
        from_hostspecs(["a"], {"ansible_port": "ssh"})
    assert str(info.value) == (
        "--hosts: default vars: ansible_port: expected a port number 1-65535, got 'ssh'"
    )


def test_empty_spec_list_selects_nothing():
    inventory = from_hostspecs([], {})
    with pytest.raises(InventoryError, match="^the inventory has no host$"):
        inventory.select(None)
