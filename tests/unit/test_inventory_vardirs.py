"""group_vars/ and host_vars/ (fleetcheck/inventory/vardirs.py), inventory directories
(directory.py), the source router (sources.py) and Ansible's vars precedence and
hash_behaviour (build.py), compared with ``ansible-inventory --list``.

ansible-inventory is the one of the venv running the tests (ansible-core is a test
dependency), run as a subprocess, never imported. Every case runs with
ANSIBLE_CONFIG set to a fixture (cfg/empty.cfg unless the case is about a setting)
and from a known current directory, so that no ansible.cfg or group_vars/ of the
machine leaks in. The fixtures (tests/fixtures/inventory/vardirs/, see its README)
are written for this suite in the shapes of kubespray, ceph-ansible and trellis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fleetcheck.inventory import InventoryError, SourceOptions, VaultedValue, sources
from fleetcheck.inventory import vardirs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "vardirs"
BIN = Path(sys.executable).parent
EMPTY_CFG = FIXTURES / "cfg" / "empty.cfg"
KUBESPRAY = "kubespray/inventory/mycluster/hosts.yaml"
CEPH = "ceph/hosts"
MIXED = "mixed/inventory"
TRELLIS = FIXTURES / "trellis"


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """No ANSIBLE_* setting of the caller; the empty ansible.cfg; the fixtures as the
    current directory (it has no group_vars/ of its own)."""
    for name in list(os.environ):
        if name.startswith("ANSIBLE_") or name == "FLEETCHECK_ANSIBLE_INVENTORY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ANSIBLE_CONFIG", str(EMPTY_CFG))
    monkeypatch.chdir(FIXTURES)
    assert not (FIXTURES / "group_vars").exists()


# -- the oracle ------------------------------------------------------------------------
def _decode(pairs: dict):
    if set(pairs) == {"__ansible_unsafe"}:
        return pairs["__ansible_unsafe"]
    if set(pairs) == {"__ansible_vault"}:
        return VaultedValue(pairs["__ansible_vault"])
    return pairs


def ansible(*srcs: str, playbook_dir: str | None = None, cwd=None, env=None,
            check: bool = True) -> dict:
    """What ansible-inventory prints for --list (from ``cwd``, with ``env`` added)."""
    argv = [str(BIN / "ansible-inventory"), "--list", *(f"--inventory={s}" for s in srcs)]
    if playbook_dir:
        argv.append(f"--playbook-dir={playbook_dir}")
    out = subprocess.run(argv, capture_output=True, text=True, cwd=cwd,
                         env={**os.environ, **(env or {})})
    if not check:
        return {"returncode": out.returncode, "stderr": out.stderr}
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout, object_hook=_decode)


def ours(*srcs: str, **options):
    return sources.load(list(srcs), SourceOptions(**options))


def plain(values) -> dict:
    return json.loads(json.dumps(dict(values), default=repr))


def assert_as_ansible(inventory, printed: dict) -> None:
    """The same hosts, each with the same merged vars, and every group with the same
    hosts and children as ansible-inventory's."""
    hostvars = {name: plain(v) for name, v in printed["_meta"]["hostvars"].items()}
    groups = {name: group for name, group in printed.items() if name != "_meta"}
    everyone = {h for g in groups.values() for h in g.get("hosts", [])} | set(hostvars)
    assert set(inventory.hosts) == everyone
    for name, host in inventory.hosts.items():
        assert plain(host.vars) == hostvars.get(name, {}), name
    for name, group in groups.items():
        ours_group = inventory.groups[name]
        if name != "all":
            assert sorted(ours_group.hosts) == sorted(group.get("hosts", [])), name
        assert sorted(ours_group.children) == sorted(group.get("children", [])), name


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


# -- real shapes ---------------------------------------------------------------------
def test_kubespray_layout_as_ansible():
    inventory = ours(KUBESPRAY)
    assert_as_ansible(inventory, ansible(KUBESPRAY))
    node1, node3 = inventory.hosts["node1"].vars, inventory.hosts["node3"].vars
    assert node1["bin_dir"] == "/usr/local/bin"                    # group_vars/all/all.yml
    assert node1["loadbalancer_apiserver_healthcheck_port"] == 8082  # etcd.yml sorts later
    assert node1["kube_proxy_mode"] == "ipvs"       # k8s-cluster.yml sorts after addons.yml
    assert node1["etcd_metrics"] == "basic"                        # group_vars/etcd.yml
    # k8s_cluster's proxy_env replaces all's whole (hash_behaviour=replace)
    assert node1["proxy_env"] == {"https_proxy": "http://proxy.example:3128"}
    assert node3["node_labels"] == {"role": "storage"}   # the host's own beats group_vars
    assert node1["node_labels"] == {"tier": "default"}
    assert node1["containerd_registries_mirrors"][0]["mirrors"][0]["capabilities"] == [
        "pull", "resolve"]


def test_ceph_ansible_layout_as_ansible():
    inventory = ours(CEPH)
    assert_as_ansible(inventory, ansible(CEPH))
    mon0, osd0, osd1 = (inventory.hosts[n].vars for n in ("mon0", "osd0", "osd1"))
    # group_vars/all.yml beats the inventory's [all:vars] (Ansible's order)
    assert osd0["ceph_origin"] == "repository"
    assert osd0["ceph_conf_overrides"] == {"global": {"osd_pool_default_size": 3,
                                                      "mon_allow_pool_delete": True}}
    assert mon0["ceph_conf_overrides"] == {
        "mon": {"mon_warn_on_insecure_global_id_reclaim_allowed": False}}   # replaced
    assert osd1["devices"] == ["/dev/nvme0n1"] and osd0["devices"] == ["/dev/sdb", "/dev/sdc"]
    assert "mgr_sample" not in mon0     # group_vars/mgrs.yml.sample is not a vars file
    assert inventory.hosts["mon0"].groups == ["all", "mgrs", "mons"]


def test_hash_behaviour_merge_from_ansible_cfg(monkeypatch):
    merge = str(FIXTURES / "cfg" / "merge.cfg")
    monkeypatch.setenv("ANSIBLE_CONFIG", merge)
    inventory = ours(CEPH)
    assert_as_ansible(inventory, ansible(CEPH))
    assert inventory.hosts["mon0"].vars["ceph_conf_overrides"] == {
        "global": {"osd_pool_default_size": 3, "mon_allow_pool_delete": True},
        "mon": {"mon_warn_on_insecure_global_id_reclaim_allowed": False}}
    monkeypatch.setenv("ANSIBLE_CONFIG", str(EMPTY_CFG))
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "merge")    # the environment's says so too
    assert_as_ansible(ours(CEPH), ansible(CEPH))


def test_inventory_directory_mixing_ini_yaml_and_a_script():
    inventory = ours(MIXED)
    assert_as_ansible(inventory, ansible(MIXED))
    base = str(Path(MIXED))
    # Ansible's order: sorted, a subdirectory where it sorts; ignored names skipped
    assert inventory.sources == [f"{base}/01-static.ini", f"{base}/02-cloud.yml",
                                 f"{base}/03-cmdb.sh", f"{base}/nested/10-more.yaml"]
    assert not {"hidden_host", "backup_host", "retry_host"} & set(inventory.hosts)
    assert inventory.groups["db"].hosts == ["db1", "db2", "db3"]
    for name in ("db1", "db2", "db3"):        # the directory's own group_vars/
        assert inventory.hosts[name].vars["db_engine"] == "postgres"
    assert inventory.hosts["app1"].vars["app_role"] == "frontend"
    # group_vars/all.yml (81) loses to the inline [web:vars] (80)? No: all's files
    # come after every group's inventory vars; web2's own http_port wins over both
    assert inventory.hosts["web1"].vars["http_port"] == 81
    assert inventory.hosts["web2"].vars["http_port"] == 8080


def test_playbook_dir_vars():
    inventory = ours(MIXED, playbook_dir="mixed/playbooks")
    assert_as_ansible(inventory, ansible(MIXED, playbook_dir="mixed/playbooks"))
    db1 = inventory.hosts["db1"].vars
    assert db1["ntp_server"] == "ntp.playbook.example"   # beats the inventory's all.yml
    assert (db1["db_engine"], db1["db_replica"]) == ("mysql", False)   # host_vars/db1.json


def test_the_current_directory_is_the_playbook_directory(monkeypatch):
    """Measured: ansible-inventory without --playbook-dir reads ./group_vars and
    ./host_vars of the current directory; with --playbook-dir, not them."""
    here = FIXTURES / "mixed" / "playbooks"
    inventory = str(FIXTURES / MIXED)
    monkeypatch.chdir(here)
    printed = ansible(inventory, cwd=here)
    assert printed["_meta"]["hostvars"]["db1"]["db_engine"] == "mysql"
    assert_as_ansible(ours(inventory), printed)
    monkeypatch.chdir(FIXTURES / "ceph")
    elsewhere = ansible(inventory, playbook_dir=str(here), cwd=FIXTURES / "ceph")
    assert_as_ansible(ours(inventory, playbook_dir=str(here)), elsewhere)
    assert "ceph_origin" not in elsewhere["_meta"]["hostvars"]["db1"]   # ./group_vars unread


# -- vault-encrypted vars files --------------------------------------------------------
def test_vault_file_without_a_secret_refuses_its_hosts_only(monkeypatch):
    monkeypatch.chdir(TRELLIS)
    monkeypatch.setenv("ANSIBLE_CONFIG", str(TRELLIS / "nopass.cfg"))
    failed = ansible("hosts", cwd=TRELLIS, check=False)
    assert failed["returncode"] != 0 and "vault" in failed["stderr"].lower()  # all refused
    inventory = ours("hosts")
    assert set(inventory.problems) == {"prod1.example.com"}
    reason = inventory.problems["prod1.example.com"][0]
    assert reason.startswith(f"{TRELLIS / 'group_vars' / 'production' / 'vault.yml'}: the "
                             "vars file of group 'production' is vault-encrypted")
    assert inventory.hosts["prod1.example.com"].problems == [reason]
    assert inventory.hosts["stage1.example.com"].problems == []
    prod = inventory.hosts["prod1.example.com"].vars
    assert prod["env"] == "production" and "vault_mysql_root_password" not in prod
    assert inventory.hosts["stage1.example.com"].vars["env"] == "staging"


def test_vault_file_with_the_password_of_ansible_cfg_reads_through_ansible(monkeypatch):
    # trellis's ansible.cfg: inventory = hosts, vault_password_file = .vault_pass
    monkeypatch.chdir(TRELLIS)
    monkeypatch.setenv("ANSIBLE_CONFIG", str(TRELLIS / "ansible.cfg"))
    from fleetcheck.inventory import ansiblecfg

    srcs = ansiblecfg.default_inventory_sources()
    assert srcs == [str(TRELLIS / "hosts")]
    inventory = sources.load(srcs)
    assert_as_ansible(inventory, ansible(*srcs, cwd=TRELLIS))
    prod = inventory.hosts["prod1.example.com"]
    assert prod.vars["vault_mysql_root_password"] == "not-a-real-secret"
    assert prod.problems == [] and inventory.problems == {}


def test_vault_password_file_option_and_native_engine(monkeypatch):
    monkeypatch.chdir(TRELLIS)
    monkeypatch.setenv("ANSIBLE_CONFIG", str(TRELLIS / "nopass.cfg"))
    inventory = ours("hosts", vault_password_files=(".vault_pass",))
    assert inventory.hosts["prod1.example.com"].vars["vault_users"][0]["name"] == "admin"
    native = ours("hosts", vault_password_files=(".vault_pass",), engine="native")
    assert set(native.problems) == {"prod1.example.com"}


def test_vault_encrypted_host_vars_file_refuses_that_host(tmp_path):
    write(tmp_path, {"inv.yml": "all:\n  hosts:\n    a:\n    b:\n"})
    vaulted = (TRELLIS / "group_vars" / "production" / "vault.yml").read_text()
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "b.yml").write_text(vaulted)
    inventory = ours(str(tmp_path / "inv.yml"), engine="native")
    assert list(inventory.problems) == ["b"]
    assert "the vars file of host 'b' is vault-encrypted" in inventory.problems["b"][0]


# -- Ansible's precedence, layer by layer -------------------------------------------------
LADDER = {
    "inv/hosts.yml": """
        all:
          vars: {layer: 2-all-inventory}
          children:
            web:
              vars: {layer: 3-group-inventory}
              hosts:
                h1: {layer: 8-host-inventory}
        """,
    "inv/group_vars/all.yml": "layer: 4-all-group_vars\n",
    "play/group_vars/all.yml": "layer: 5-all-playbook\n",
    "inv/group_vars/web.yml": "layer: 6-group-group_vars\n",
    "play/group_vars/web.yml": "layer: 7-group-playbook\n",
    "inv/host_vars/h1.yml": "layer: 9-host_vars\n",
    "play/host_vars/h1.yml": "layer: 10-host-playbook\n",
}


def test_every_layer_beats_the_ones_below_as_in_ansible(tmp_path):
    """Ansible's order (VARIABLE_PRECEDENCE default): all's inventory vars < the groups'
    < all's group_vars/ < all's playbook group_vars/ < the groups' group_vars/ < their
    playbook ones < the host's < host_vars/ < playbook host_vars/. Each layer is
    taken away from the top, and both must then agree on the next one."""
    write(tmp_path, LADDER)
    hosts = tmp_path / "inv" / "hosts.yml"

    def edit(old: str, new: str):
        return lambda: hosts.write_text(hosts.read_text().replace(old, new))

    steps = [
        (None, "10-host-playbook"),
        ("play/host_vars/h1.yml", "9-host_vars"),
        ("inv/host_vars/h1.yml", "8-host-inventory"),
        (edit("h1: {layer: 8-host-inventory}", "h1:"), "7-group-playbook"),
        ("play/group_vars/web.yml", "6-group-group_vars"),
        ("inv/group_vars/web.yml", "5-all-playbook"),
        ("play/group_vars/all.yml", "4-all-group_vars"),
        ("inv/group_vars/all.yml", "3-group-inventory"),
        (edit("vars: {layer: 3-group-inventory}", "vars: {}"), "2-all-inventory"),
    ]
    src, play = str(hosts), str(tmp_path / "play")
    for step, wanted in steps:
        if isinstance(step, str):
            (tmp_path / step).unlink()
        elif step is not None:
            step()
        printed = ansible(src, playbook_dir=play)
        assert printed["_meta"]["hostvars"]["h1"]["layer"] == wanted
        base = {"layer": "1-defaults"}
        assert sources.load([src], SourceOptions(playbook_dir=play), base_vars=base) \
            .hosts["h1"].vars["layer"] == wanted
    hosts.write_text("all:\n  hosts:\n    h1:\n")
    assert sources.load([src], base_vars={"layer": "1-defaults"}).hosts["h1"].vars == {
        "layer": "1-defaults"}


def test_group_layers_follow_sources_then_groups(tmp_path):
    """Within a layer of group_vars/: per source (later wins), and within a source per
    group (shallow to deep, priority, name); all's files are a layer below."""
    write(tmp_path, {
        "a/hosts.yml": """
            all:
              children:
                web:
                  vars: {ansible_group_priority: 5}
                  hosts: {h1: }
                zz:
                  hosts: {h1: }
                  children:
                    deep:
                      hosts: {h1: }
            """,
        "a/group_vars/web.yml": "x: a-web\ny: a-web\nz: a-web\nansible_group_priority: 99\n",
        "a/group_vars/zz.yml": "y: a-zz\n",
        "a/group_vars/deep.yml": "w: a-deep\n",
        "b/hosts.yml": "all:\n  hosts:\n    h2:\n",
        "b/group_vars/web.yml": "x: b-web\n",
        "b/group_vars/zz.yml": "w: b-zz\n",
        "b/group_vars/all.yml": "z: b-all\n",
    })
    srcs = [str(tmp_path / "a" / "hosts.yml"), str(tmp_path / "b" / "hosts.yml")]
    inventory = ours(*srcs)
    assert_as_ansible(inventory, ansible(*srcs))
    h1 = inventory.hosts["h1"].vars
    # b's files beat a's; web (priority 5) beats zz; deep beats both (depth 2)...
    assert (h1["x"], h1["y"], h1["z"]) == ("b-web", "a-web", "a-web")
    assert h1["w"] == "b-zz"     # ...but a later source's file beats an earlier one's
    # an ansible_group_priority in a group_vars/ file is a var, and orders nothing;
    # the inventory's is the group's priority, not a var of its hosts
    assert h1["ansible_group_priority"] == 99
    assert inventory.groups["web"].priority == 5


def test_same_directory_twice_is_read_twice_in_source_order(tmp_path):
    write(tmp_path, {
        "one/a.yml": "all:\n  hosts:\n    h1:\n",
        "one/group_vars/all.yml": "x: one\n",
        "two/b.yml": "all:\n  hosts:\n    h2:\n",
        "two/group_vars/all.yml": "x: two\n",
    })
    srcs = [str(tmp_path / "one" / "a.yml"), str(tmp_path / "two" / "b.yml"),
            str(tmp_path / "one" / "a.yml")]
    inventory = ours(*srcs)
    assert_as_ansible(inventory, ansible(*srcs))
    assert inventory.hosts["h2"].vars["x"] == "one"


# -- how files are found --------------------------------------------------------------
def test_which_files_are_read_as_in_ansible(tmp_path):
    write(tmp_path, {
        "hosts.yml": """
            all:
              children:
                web: {hosts: {w1: }}
                db: {hosts: {d1: }}
                app: {hosts: {a1: }}
                cache: {hosts: {c1: }}
            """,
        "group_vars/web.yml": "shadowed: true\n",           # web/ exists: not read
        "group_vars/web/10-main.yml": "order: [main]\nf: main\n",
        "group_vars/web/20-extra": "f: noext\n",            # no extension: read
        "group_vars/web/30-sub/inner.yaml": "inner: 1\n",     # a subdirectory
        "group_vars/web/40-skip.d/x.yml": "skipped_dir: 1\n",  # a directory with '.'
        "group_vars/web/50-notes.txt": "skipped_ext: 1\n",
        "group_vars/web/60-old.yml~": "skipped_backup: 1\n",
        "group_vars/web/.hidden.yml": "skipped_hidden: 1\n",
        "group_vars/web/70-empty.yml": "",
        "group_vars/db.yaml": "db: yaml\n",
        "group_vars/db.json": '{"db": "json"}\n',            # .yaml comes first
        "group_vars/app.json": '{"app": {"port": 8080}, "list": [1, 2]}\n',
        "group_vars/cache": "cache: noext\n",
        "host_vars/c1.yml": "c1: host\n",
    })
    src = str(tmp_path / "hosts.yml")
    inventory = ours(src)
    assert_as_ansible(inventory, ansible(src))
    w1 = inventory.hosts["w1"].vars
    assert (w1["f"], w1["inner"], w1["order"]) == ("noext", 1, ["main"])
    assert not {"shadowed", "skipped_dir", "skipped_ext", "skipped_backup",
                "skipped_hidden"} & set(w1)
    assert inventory.hosts["d1"].vars["db"] == "yaml"
    assert inventory.hosts["a1"].vars["app"] == {"port": 8080}
    assert inventory.hosts["c1"].vars == {"cache": "noext", "c1": "host"}


def test_entity_files_order_and_limits(tmp_path):
    (tmp_path / "web" / "b").mkdir(parents=True)
    for name in ("c.yml", "a.json", "b/z.yml", "b/a.yml"):
        (tmp_path / "web" / name).write_text("x: 1\n")
    assert [os.path.relpath(p, tmp_path) for p in vardirs.entity_files(str(tmp_path), "web")] \
        == ["web/a.json", "web/b/a.yml", "web/b/z.yml", "web/c.yml"]
    assert vardirs.entity_files(str(tmp_path), "/abs") == []   # Ansible skips such names
    (tmp_path / "web" / "b" / "z.yml").write_text("x: 1\n")
    for name in ("web/b", "..", ".", "../web"):    # fleetcheck skips these too, on purpose
        assert vardirs.entity_files(str(tmp_path / "web"), name) == [], name
    assert vardirs.entity_files(str(tmp_path), "nothing") == []
    (tmp_path / "web" / "b" / "loop").symlink_to(tmp_path / "web")
    with pytest.raises(InventoryError) as caught:
        vardirs.entity_files(str(tmp_path), "web")
    assert str(caught.value) == f"{tmp_path}/web/b/loop: a vars directory contains itself " \
        "(a symlink loop)"


def test_no_vars_files_beside_a_url_or_a_host_list(tmp_path):
    assert vardirs.base_dir("https://cmdb.example.com/x") is None
    assert vardirs.base_dir("a,b") is None
    assert vardirs.base_dir(str(tmp_path)) == str(tmp_path)
    assert vardirs.base_dir("inv/hosts.yml") == os.path.abspath("inv")


def test_without_vars_dirs(tmp_path):
    write(tmp_path, {"hosts.yml": "all:\n  hosts:\n    h1:\n",
                     "group_vars/all.yml": "x: 1\n"})
    path = str(tmp_path / "hosts.yml")
    assert sources.load([path]).hosts["h1"].vars == {"x": 1}
    assert sources.load([path], vars_dirs=False).hosts["h1"].vars == {}


# -- hash_behaviour and fleetcheck's own vars ------------------------------------------------
FLEET = {
    "hosts.yml": """
        all:
          vars:
            capacity: {disk: {usage_pct: {warn: 70, crit: 90}}}
            shop: {a: 1, b: 1}
          children:
            web:
              vars:
                capacity: {disk: {inodes_pct: {warn: 60, crit: 80}}}
                shop: {b: 2}
              hosts:
                w1: {fleetcheck_columns: {mine: [name]}}
        """,
    "group_vars/web.yml": "fleetcheck_columns: {web: [name, groups]}\n",
}


def test_fleetcheck_vars_always_merge_the_shops_replace(tmp_path):
    write(tmp_path, FLEET)
    src = str(tmp_path / "hosts.yml")
    base = {"capacity": {"load": {"load5_per_cpu": {"warn": 2.0, "crit": 4.0}},
                         "disk": {"usage_pct": {"warn": 85, "crit": 95}}}}
    inventory = sources.load([src], base_vars=base)
    w1 = inventory.hosts["w1"].vars
    assert w1["shop"] == {"b": 2}                       # Ansible's replace
    assert ansible(src)["_meta"]["hostvars"]["w1"]["shop"] == {"b": 2}
    assert w1["capacity"] == {                          # all's, the group's, the defaults'
        "load": {"load5_per_cpu": {"warn": 2.0, "crit": 4.0}},
        "disk": {"usage_pct": {"warn": 70, "crit": 90}, "inodes_pct": {"warn": 60, "crit": 80}}}
    assert w1["fleetcheck_columns"] == {"web": ["name", "groups"], "mine": ["name"]}


def test_hash_behaviour_merge_merges_the_shops_too(tmp_path, monkeypatch):
    write(tmp_path, FLEET)
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "merge")
    src = str(tmp_path / "hosts.yml")
    assert ours(src).hosts["w1"].vars["shop"] == {"a": 1, "b": 2}
    assert ansible(src)["_meta"]["hostvars"]["w1"]["shop"] == {"a": 1, "b": 2}


def test_a_group_defined_twice_combines_as_ansible(tmp_path, monkeypatch):
    write(tmp_path, {
        "a.yml": "all:\n  children:\n    web:\n      vars: {d: {x: 1}, l: [1]}\n"
                 "      hosts: {h1: {hd: {p: 1}}}\n",
        "b.yml": "all:\n  children:\n    web:\n      vars: {d: {y: 2}}\n"
                 "      hosts: {h1: {hd: {q: 2}}}\n",
        "group_vars/all/1.yml": "f: {x: 1}\n",
        "group_vars/all/2.yml": "f: {y: 2}\n",
    })
    srcs = [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]
    for behaviour in ("replace", "merge"):
        monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", behaviour)
        inventory = ours(*srcs)
        assert_as_ansible(inventory, ansible(*srcs))
        h1 = inventory.hosts["h1"].vars
        if behaviour == "replace":
            assert (h1["d"], h1["hd"], h1["f"]) == ({"y": 2}, {"q": 2}, {"y": 2})
        else:
            assert (h1["d"], h1["hd"], h1["f"]) == ({"x": 1, "y": 2}, {"p": 1, "q": 2},
                                                    {"x": 1, "y": 2})


# -- one-line errors ----------------------------------------------------------------------
@pytest.mark.parametrize("name,text,line,reason", [
    ("web.yml", "a: [1\n", 2, "YAML syntax error"),
    ("web.yml", "- a\n- b\n", 1, "a vars file of group 'web' must be a mapping of var names "
     "to values, got a list"),
    ("web.yml", "x: 1\nansible_port: nope\n", 2, "group 'web': ansible_port: expected a port "
     "number 1-65535, got 'nope'"),
    ("web.yml", "x: 1\nx: 2\n", 2, "duplicate key 'x' (first at line 1)"),
    ("web/main.yml", "ok: 1\n\nbad: !!int x\n", 3, "YAML value error"),
])
def test_errors_name_the_file_and_line(tmp_path, name, text, line, reason):
    write(tmp_path, {"hosts.yml": "web:\n  hosts:\n    w1:\n"})
    path = tmp_path / "group_vars" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        ours(str(tmp_path / "hosts.yml"))
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {reason}"), message
    assert "\n" not in message


def test_a_typo_of_a_fleetcheck_var_is_a_warning_with_file_and_line(tmp_path):
    write(tmp_path, {"hosts.yml": "web:\n  hosts:\n    w1:\n",
                     "host_vars/w1.yml": "x: 1\ncapacty: {}\n"})
    inventory = ours(str(tmp_path / "hosts.yml"))
    assert inventory.var_warnings == [
        f"{tmp_path}/host_vars/w1.yml:2: host 'w1': capacty: not a var fleetcheck reads; "
        "did you mean capacity?"]


def test_playbook_dir_that_does_not_exist(tmp_path):
    write(tmp_path, {"hosts.yml": "web:\n  hosts:\n    w1:\n"})
    with pytest.raises(InventoryError) as caught:
        ours(str(tmp_path / "hosts.yml"), playbook_dir=str(tmp_path / "nope"))
    assert str(caught.value) == f"{tmp_path}/nope: --playbook-dir: no such directory"


# -- the router ---------------------------------------------------------------------------
def test_host_list_as_ansible(tmp_path):
    src = "web1,web2:2222,[2001:db8::1]:2200,fe80::1,,"
    inventory = ours(src)
    assert_as_ansible(inventory, ansible(src))
    assert list(inventory.hosts) == ["web1", "web2", "2001:db8::1", "fe80::1"]
    assert inventory.hosts["web2"].port == 2222 and inventory.hosts["2001:db8::1"].port == 2200
    assert inventory.hosts["web1"].groups == ["all", "ungrouped"]
    # a comma in the name of an existing file: a file
    path = tmp_path / "a,b.yml"
    path.write_text("all:\n  hosts:\n    filed:\n")
    assert list(ours(str(path)).hosts) == ["filed"]
    assert sources.kind(str(path)) == "yaml" and sources.kind("a,b") == "hostlist"


def test_kinds(tmp_path):
    assert sources.kind("https://cmdb.example.com/fleet") == "http"
    assert sources.kind(str(tmp_path)) == "directory"
    assert sources.kind(str(tmp_path / "hosts.ini")) == "ini"
    assert sources.kind(str(tmp_path / "hosts")) == "yaml"


@pytest.mark.parametrize("name,text,reason", [
    ("aws.yml", "plugin: amazon.aws.aws_ec2\n", "is an Ansible inventory plugin configuration "
     "(plugin: amazon.aws.aws_ec2)"),
    ("hosts.toml", "[web]\n", "is a TOML inventory (Ansible's toml plugin)"),
    ("secret.yml", "$ANSIBLE_VAULT;1.1;AES256\n6162\n", "is a vault-encrypted file"),
])
def test_what_only_ansible_reads_is_refused_natively(tmp_path, name, text, reason):
    inv = tmp_path / "inventory"
    write(inv, {"01-hosts.yml": "all:\n  hosts:\n    a:\n", name: text})
    with pytest.raises(InventoryError) as caught:
        ours(str(inv), engine="native")
    assert str(caught.value).startswith(f"{inv / name}: {reason}: fleetcheck does not read "
                                        "it itself")


def test_a_plugin_configuration_goes_through_ansible_inventory(tmp_path):
    write(tmp_path, {
        "01-hosts.ini": "[web]\nw1 role=front\nw2 role=back\n",
        "02-constructed.yml": "plugin: ansible.builtin.constructed\nstrict: true\n"
                              "groups:\n  fronts: role == 'front'\n",
    })
    srcs = [str(tmp_path / "01-hosts.ini"), str(tmp_path / "02-constructed.yml")]
    inventory = ours(*srcs)
    assert inventory.groups["fronts"].hosts == ["w1"]
    assert_as_ansible(inventory, ansible(*srcs))


def test_ini_yaml_and_unusual_names(tmp_path):
    write(tmp_path, {
        "hosts": "[web]\nw1\n",                       # no extension, INI: YAML first, then INI
        "inventory.cfg": "[db]\nd1\n",                # not a YAML extension: INI
        "plain.inv": "all:\n  hosts:\n    y1:\n",     # YAML in a file named otherwise
    })
    srcs = [str(tmp_path / n) for n in ("hosts", "inventory.cfg", "plain.inv")]
    inventory = ours(*srcs)
    assert inventory.group_hosts("web") == ["w1"] and inventory.group_hosts("db") == ["d1"]
    assert "y1" in inventory.hosts


def test_ansible_cfg_connection_defaults(tmp_path, monkeypatch):
    write(tmp_path, {
        "ansible.cfg": "[defaults]\nremote_user = deploy\nprivate_key_file = keys/id_fleet\n",
        "hosts.yml": "all:\n  hosts:\n    a:\n    b: {ansible_user: ops}\n",
    })
    monkeypatch.setenv("ANSIBLE_CONFIG", str(tmp_path / "ansible.cfg"))
    inventory = ours(str(tmp_path / "hosts.yml"))
    assert inventory.defaults == {"remote_user": "deploy",
                                  "private_key_file": str(tmp_path / "keys" / "id_fleet")}
    assert inventory.hosts["a"].user == "deploy" and inventory.hosts["b"].user == "ops"
    assert inventory.hosts["a"].key_file == str(tmp_path / "keys" / "id_fleet")
    assert "ansible_user" not in inventory.hosts["a"].vars


def test_inline_vault_and_unsafe_values_in_a_vars_file():
    src = "inline_vault/hosts.yml"
    inventory = ours(src)
    assert_as_ansible(inventory, ansible(src))
    printed = ansible(src)["_meta"]["hostvars"]["h1"]
    h1 = inventory.hosts["h1"].vars
    assert isinstance(h1["db_password"], VaultedValue)
    assert h1["db_password"] == printed["db_password"]          # the same ciphertext
    assert h1["motd"] == "{{ not templated }}" == printed["motd"]
    assert inventory.problems == {}      # an inline vault value refuses no host
