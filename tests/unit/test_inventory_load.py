"""Loading good inventories: groups, var precedence (all < parent < child < host),
Ansible's hash_behaviour (replace; fleetcheck's own vars merge), several files,
connection variables."""

import textwrap
from pathlib import Path

import pytest

from fleetcheck.inventory import HostEntry, InventoryError, load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
SITE = str(FIXTURES / "site.yml")
OVERRIDE = str(FIXTURES / "site_override.yml")
CONNECTION = str(FIXTURES / "connection.yml")


def write(tmp_path, text, name="inv.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


@pytest.fixture(scope="module")
def site():
    return load([SITE])


def test_hosts_in_ansibles_order_and_in_file_order(site):
    # `ansible all --list-hosts`: all's own, then level by level (web before paris,
    # a level deeper); test_inventory_order.py compares it with ansible-core's
    assert list(site.hosts) == ["bastion", "web01", "web02", "web03", "web04", "db1"]
    assert site.defined == ["bastion", "web01", "web02", "web03", "db1", "web04"]
    assert all(isinstance(h, HostEntry) for h in site.hosts.values())
    assert {h.source for h in site.hosts.values()} == {SITE}


def test_group_tree(site):
    assert list(site.groups) == ["all", "ungrouped", "europe", "paris", "web", "zeta", "alpha"]
    depth = {name: group.depth for name, group in site.groups.items()}
    assert depth == {"all": 0, "ungrouped": 1, "europe": 1, "paris": 2, "web": 1,
                     "zeta": 1, "alpha": 1}
    assert site.groups["paris"].parents == ["europe"]
    assert site.groups["europe"].children == ["paris"]
    assert site.groups["all"].hosts == ["bastion"]      # put in 'all' itself
    assert site.groups["ungrouped"].hosts == ["bastion"]
    assert site.groups["paris"].hosts == ["web01", "web02", "web03", "db1"]
    assert site.group_hosts("europe") == ["web01", "web02", "web03", "db1"]


def test_host_groups_include_ancestors_in_precedence_order(site):
    assert site.hosts["bastion"].groups == ["all", "ungrouped"]
    assert site.hosts["web01"].groups == ["all", "europe", "web", "paris"]
    assert site.hosts["web04"].groups == ["all", "web"]
    assert site.hosts["db1"].groups == ["all", "alpha", "europe", "zeta", "paris"]


def test_deeper_group_beats_shallower_whatever_the_name(site):
    # web01 is in 'web' (depth 1) and 'paris' (depth 2): paris wins although 'web'
    # sorts after it and is written after it.
    assert site.hosts["web01"].vars["tier"] == "paris"
    assert site.hosts["web04"].vars["tier"] == "web"
    assert site.hosts["bastion"].vars["tier"] == "all"


def test_siblings_merge_alphabetically(site):
    # db1 is in 'zeta' and 'alpha' (both depth 1); zeta is written first but
    # 'alpha' < 'zeta', so zeta's value wins.
    assert site.hosts["db1"].vars["role"] == "zeta"


def test_host_vars_win_over_every_group(site):
    assert site.hosts["db1"].vars["tier"] == "db1"


def test_dicts_are_replaced_as_ansible_does_but_fleetcheck_vars_merge(site):
    web01 = site.hosts["web01"].vars
    # Ansible's hash_behaviour=replace (ansible-inventory --list agrees): europe's ntp
    # replaces all's whole; sshd is fleetcheck's own var: it merges key by key.
    assert web01["ntp"] == {"servers": ["ntp.eu.example"]}
    assert web01["sshd"] == {"PermitRootLogin": "prohibit-password",
                             "PasswordAuthentication": "no"}
    assert web01["packages"] == ["chrony", "tzdata"]
    assert site.hosts["db1"].vars["sshd"] == {
        "PermitRootLogin": "prohibit-password", "PasswordAuthentication": "no",
        "MaxAuthTries": 3,
    }


def test_group_vars(site):
    assert site.group_vars("all") == {
        "tier": "all",
        "ntp": {"servers": ["pool.ntp.org"], "iburst": True},
        "sshd": {"PermitRootLogin": "no", "PasswordAuthentication": "no"},
        "packages": ["chrony"],
    }
    paris = site.group_vars("paris")
    assert paris["tier"] == "paris"
    assert paris["ntp"] == {"servers": ["ntp.eu.example"], "iburst": True}
    assert paris["sshd"] == {"PermitRootLogin": "prohibit-password",
                             "PasswordAuthentication": "no"}


def test_group_vars_of_unknown_group(site):
    with pytest.raises(InventoryError, match=r"^unknown group 'nope' \(groups: all, "):
        site.group_vars("nope")


def test_vars_are_independent_copies():
    inventory = load([SITE])
    inventory.hosts["web01"].vars["ntp"]["servers"].append("evil")
    inventory.hosts["web01"].vars["packages"].append("evil")
    assert inventory.hosts["web02"].vars["ntp"]["servers"] == ["ntp.eu.example"]
    assert inventory.hosts["web02"].vars["packages"] == ["chrony", "tzdata"]
    assert inventory.group_vars("europe")["packages"] == ["chrony", "tzdata"]
    inventory.group_vars("all")["packages"].append("evil")
    assert inventory.group_vars("all")["packages"] == ["chrony"]


# -- several files -----------------------------------------------------------------


def test_later_file_wins():
    inventory = load([SITE, OVERRIDE])
    # as `ansible all --list-hosts -i site.yml -i site_override.yml` prints them
    assert list(inventory.hosts) == ["bastion", "web01", "web02", "web03", "web04", "web05",
                                     "db1"]
    assert inventory.defined == ["bastion", "web01", "web02", "web03", "db1", "web04",
                                 "web05"]
    web01 = inventory.hosts["web01"]
    assert web01.vars["role"] == "backend"
    assert web01.vars["tier"] == "paris-2"
    assert web01.user == "deploy"
    # all's ntp is {iburst: false} (the later file's replaces the first's), and
    # europe's replaces it (hash_behaviour=replace)
    assert inventory.groups["all"].vars["ntp"] == {"iburst": False}
    assert web01.vars["ntp"] == {"servers": ["ntp.eu.example"]}
    assert web01.source == SITE  # the file that defined it first
    web05 = inventory.hosts["web05"]
    assert (web05.source, web05.groups, web05.vars["tier"]) == (OVERRIDE, ["all", "web"], "web")
    assert inventory.sources == [SITE, OVERRIDE]


def test_file_order_matters():
    inventory = load([OVERRIDE, SITE])
    assert list(inventory.hosts)[:3] == ["bastion", "web05", "web01"]   # as Ansible's
    assert inventory.defined[:3] == ["web05", "web01", "bastion"]
    web01 = inventory.hosts["web01"]
    assert web01.vars["role"] == "frontend"
    assert web01.vars["tier"] == "paris"
    assert inventory.groups["all"].vars["ntp"] == {"servers": ["pool.ntp.org"], "iburst": True}
    assert web01.vars["ntp"] == {"servers": ["ntp.eu.example"]}
    assert web01.source == OVERRIDE


def test_same_host_in_two_groups_combines_its_host_vars(tmp_path):
    path = write(tmp_path, """
        all:
          children:
            a:
              hosts:
                h1: {x: {p: 1, q: 1}, y: a}
            b:
              hosts:
                h1: {x: {q: 2}, y: b}
        """)
    # the later definition wins; its mapping replaces the earlier (hash_behaviour=replace)
    assert load([path]).hosts["h1"].vars == {"x": {"q": 2}, "y": "b"}


def test_group_priority(tmp_path):
    text = """
        all:
          children:
            a_group:
              vars: {testvar: a, ansible_group_priority: %s}
              hosts: {foohost: }
            b_group:
              vars: {testvar: b}
              hosts: {foohost: }
        """
    assert load([write(tmp_path, text % 10)]).hosts["foohost"].vars["testvar"] == "a"
    assert load([write(tmp_path, text % 1)]).hosts["foohost"].vars["testvar"] == "b"
    inventory = load([write(tmp_path, text % 10)])
    assert inventory.hosts["foohost"].groups == ["all", "b_group", "a_group"]


def test_other_top_level_keys_are_groups(tmp_path):
    path = write(tmp_path, """
        web:
          hosts: {w1: }
          children:
            api:
              hosts: {a1: }
        all:
          vars: {x: 1}
        """)
    inventory = load([path])
    assert inventory.groups["web"].parents == ["all"]
    assert inventory.hosts["a1"].groups == ["all", "web", "api"]
    assert inventory.hosts["w1"].vars == {"x": 1}


def test_explicit_ungrouped_as_ansible_inventory_writes_it(tmp_path):
    path = write(tmp_path, """
        all:
          children:
            ungrouped:
              hosts:
                lone:
                w2:
            web:
              hosts:
                w1:
                w2:
          hosts:
            top:
        """)
    inventory = load([path])
    assert inventory.hosts["lone"].groups == ["all", "ungrouped"]
    assert inventory.hosts["top"].groups == ["all", "ungrouped"]
    assert inventory.hosts["w2"].groups == ["all", "web"]  # a real group wins, as in Ansible
    assert inventory.groups["ungrouped"].hosts == ["lone", "top"]


def test_empty_groups_and_null_sections(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
          vars:
          children:
            empty:
            also_empty:
              hosts:
              children:
        """)
    inventory = load([path])
    assert inventory.hosts == {}
    assert {"empty", "also_empty"} <= set(inventory.groups)
    with pytest.raises(InventoryError, match=r"^the inventory has no host$"):
        inventory.select(None)


def test_yaml_anchors_and_merge_keys(tmp_path):
    path = write(tmp_path, """
        all:
          vars:
            defaults: &defaults {ansible_user: ops, ansible_port: 2200}
          hosts:
            h1:
              <<: *defaults
              ansible_port: 2201
            h2: *defaults
        """)
    inventory = load([path])
    assert (inventory.hosts["h1"].user, inventory.hosts["h1"].port) == ("ops", 2201)
    assert (inventory.hosts["h2"].user, inventory.hosts["h2"].port) == ("ops", 2200)


def test_load_accepts_one_path_and_pathlike():
    assert list(load(Path(SITE)).hosts) == list(load([SITE]).hosts)


def test_json_inventory(tmp_path):
    path = write(tmp_path, '{"all": {"hosts": {"j1": {"ansible_port": 2022}}}}', "inv.json")
    assert load([path]).hosts["j1"].port == 2022


# -- connection variables ----------------------------------------------------------


@pytest.mark.parametrize("name,address,port,user,become,become_user,connection", [
    ("plain", "plain", 22, "admin", True, None, "paramiko"),
    ("full", "198.51.100.7", 2222, "ops", False, "postgres", "ssh"),
    ("smart", "smart", 22, "admin", True, None, "paramiko"),
    ("here", "here", 22, "admin", False, None, "local"),
    ("keyport", "keyport", 2200, "admin", True, None, "paramiko"),
    ("old_names", "198.51.100.8", 2022, "legacy", True, None, "paramiko"),
])
def test_connection_properties(name, address, port, user, become, become_user, connection):
    host = load([CONNECTION]).hosts[name]
    assert (host.address, host.port, host.user, host.become, host.become_user,
            host.connection) == (address, port, user, become, become_user, connection)


def test_port_in_host_key_yields_to_explicit_ansible_port(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            web1:2222:
              ansible_port: 2200
            web2:2222:
        """)
    inventory = load([path])
    assert (inventory.hosts["web1"].port, inventory.hosts["web2"].port) == (2200, 2222)


def test_fully_qualified_connection_names(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            a: {ansible_connection: ansible.builtin.ssh}
            b: {ansible_connection: ansible.builtin.paramiko_ssh}
            c: {ansible_connection: ansible.builtin.local}
            d: {ansible_connection: paramiko}
        """)
    inventory = load([path])
    assert [h.connection for h in inventory.hosts.values()] == ["ssh", "paramiko", "local",
                                                                "paramiko"]


def test_ansible_vault_and_unsafe_tags(tmp_path):
    from fleetcheck.inventory import VaultedValue

    path = write(tmp_path, """
        all:
          vars:
            db_password: !vault |
              $ANSIBLE_VAULT;1.1;AES256
              6162636465
            motd: !unsafe "{{ not templated }}"
          hosts:
            h1:
        """)
    hostvars = load([path]).hosts["h1"].vars
    assert hostvars["db_password"] == VaultedValue("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    assert "6162" not in repr(hostvars["db_password"])
    assert hostvars["motd"] == "{{ not templated }}"
