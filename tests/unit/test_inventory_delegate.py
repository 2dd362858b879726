"""Delegation to ansible-inventory (fleetcheck/inventory/delegate.py): what fleetcheck
reads through ``ansible-inventory --list`` equals what ansible-inventory prints, and
every failure is one line.

The real ansible-inventory is the one of the venv running the tests (ansible-core is
a test dependency), run as a subprocess, never imported; the fakes (a hanging one,
one printing without end, one recording its argv and environment) are small shell
scripts written per test and chosen with $FLEETCHECK_ANSIBLE_INVENTORY.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetcheck.inventory import InventoryError, VaultedValue
from fleetcheck.inventory import delegate
from fleetcheck.inventory.build import InventoryBuilder
from fleetcheck.inventory.http import SourceOptions
from fleetcheck.inventory.loader import load as load_native

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "delegate"
BIN = Path(sys.executable).parent
ANSIBLE_INVENTORY = str(BIN / "ansible-inventory")
PASSWORD = "vault-password.txt"


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch):
    """Both fleetcheck and the oracle run from the fixture directory, with relative
    paths (messages name them as given), and with no ansible setting of the caller."""
    monkeypatch.chdir(FIXTURES)
    for name in list(os.environ):
        if name.startswith("ANSIBLE_") or name == delegate.EXECUTABLE_ENV:
            monkeypatch.delenv(name)


# -- the oracle ---------------------------------------------------------------------
def _decode(pairs: dict):
    """ansible's tagged values, decoded here independently of delegate.py."""
    if set(pairs) == {"__ansible_unsafe"}:
        return pairs["__ansible_unsafe"]
    if set(pairs) == {"__ansible_vault"}:
        return VaultedValue(pairs["__ansible_vault"])
    return pairs


def oracle(*args: str, env: dict | None = None) -> dict:
    """What ansible-inventory itself prints for ``--list`` with ``args``."""
    out = subprocess.run([ANSIBLE_INVENTORY, "--list", *args], capture_output=True,
                         text=True, check=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout, object_hook=_decode)


def ansible_order(*args: str, env: dict | None = None) -> list[str]:
    """The hosts of ``ansible all --list-hosts``, in its order."""
    out = subprocess.run([str(BIN / "ansible"), "all", "--list-hosts", *args],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]


def delegated(paths: list[str], **options):
    builder = InventoryBuilder()
    warnings = delegate.load_source(paths, SourceOptions(**options), builder)
    return builder.finish(), warnings


def inventory_args(paths: list[str]) -> list[str]:
    return [arg for path in paths for arg in ("-i", path)]


def assert_as_ansible(inventory, printed: dict, order: list[str]) -> None:
    """Hosts (in ``ansible --list-hosts`` order), groups with their hosts and
    children, and every host's vars equal ansible-inventory's."""
    hostvars = printed["_meta"]["hostvars"]
    groups = {name: group for name, group in printed.items() if name != "_meta"}
    assert list(inventory.hosts) == order
    for name, host in inventory.hosts.items():
        assert dict(host.vars) == hostvars.get(name, {}), name
    for name, group in groups.items():
        ours = inventory.groups[name]
        if name != "all":
            assert ours.hosts == group.get("hosts", []), name
        assert ours.children == group.get("children", []), name
    for name, group in inventory.groups.items():  # ansible leaves out empty groups
        if name not in groups:
            assert not group.hosts and not group.children, name


# -- reading through the real ansible-inventory --------------------------------------
def test_constructed_over_yaml_equals_ansible():
    paths = ["site.yml", "constructed.yml"]
    inventory, warnings = delegated(paths)
    assert_as_ansible(inventory, oracle(*inventory_args(paths)),
                      ansible_order(*inventory_args(paths)))
    assert warnings == []
    node3 = inventory.hosts["node3"]
    # keyed_groups and groups made by the plugin
    assert inventory.groups["distro_rocky"].hosts == ["node3"]
    assert inventory.groups["r2"].hosts == ["node2", "node3"]
    assert inventory.groups["port_not_22"].hosts == ["node3"]
    # compose: a templated result arrives as {"__ansible_unsafe": ...}, a plain str here
    assert node3.vars["node_label"] == "node-node3-r2" and type(node3.vars["node_label"]) is str
    assert node3.vars["label_list"] == ["rocky", "r2"]
    assert node3.vars["private_address"] == "10.10.0.13"
    # Ansible's merged vars (group vars of k8s_cluster and all), not templated
    assert node3.vars["labels"] == {"zone": "lab-a", "tier": "k8s"}
    assert node3.vars["motd"] == "{{ cluster_name }} node {{ inventory_hostname }}"
    assert (node3.address, node3.port) == ("192.0.2.13", 2222)
    assert inventory.sources == ["site.yml, constructed.yml"]


def test_generator_plugin_equals_ansible():
    inventory, _ = delegated(["generator.yml"])
    printed = oracle("-i", "generator.yml")
    # Ansible's own host order is not fixed here: the groups holding the hosts sit two
    # levels below 'all' and Ansible walks a level as a set (measured: 5 runs of
    # `ansible all --list-hosts`, 4 orders). The hosts and groups are compared.
    assert_as_ansible(inventory, printed, list(inventory.hosts))
    assert sorted(inventory.hosts) == sorted(ansible_order("-i", "generator.yml"))
    assert inventory.groups["prod"].children == ["web_prod", "api_prod"]
    assert inventory.group_hosts("prod") == ["web-prod-01", "web-prod-02", "api-prod-01",
                                             "api-prod-02"]


def test_every_source_in_one_call_ini_and_yaml_in_order():
    """--inventory-engine ansible: the router gives every source to one run."""
    paths = ["hosts.ini", "site.yml"]
    inventory, _ = delegated(paths)
    order = ansible_order(*inventory_args(paths))
    assert order[:3] == ["node1", "node2", "node3"]  # 'ceph' hangs under 'all' last
    assert_as_ansible(inventory, oracle(*inventory_args(paths)), order)
    osd4 = inventory.hosts["osd4"]
    assert (osd4.address, osd4.port) == ("osd4", 2201)
    assert osd4.vars["osd_objectstore"] == "filestore"
    assert inventory.hosts["mon1"].vars["cluster"] == "ceph"


def test_playbook_dir_vars_equal_ansible(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "kube_node.yml").write_text("node_role: worker\n")
    paths = ["site.yml"]
    inventory, _ = delegated(paths, playbook_dir=str(tmp_path))
    args = [*inventory_args(paths), "--playbook-dir", str(tmp_path)]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    assert inventory.hosts["node2"].vars["node_role"] == "worker"
    assert "node_role" not in inventory.hosts["node1"].vars


def test_ini_plugin_configuration_is_one_line():
    """`plugin: ansible.builtin.ini` is no configuration Ansible takes: the ini
    plugin reads INI files (ansible-core 2.19 refuses it; so does yaml)."""
    assert delegate.needs_delegation("ini-plugin.yml") == (
        "is an Ansible inventory plugin configuration (plugin: ansible.builtin.ini)")
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml", "ini-plugin.yml"])
    assert str(caught.value) == (
        "ini-plugin.yml: ansible-inventory could not parse it: auto plugin: Invalid host "
        "pattern 'plugin:' supplied, ending in ':' is not allowed, this character is "
        "reserved to provide a port. (also tried: yaml, ini)")


def test_a_source_ansible_cannot_parse_is_an_error_not_a_warning(tmp_path):
    """Ansible warns 'Unable to parse' and goes on with the other sources."""
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts: [a\n")
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml", str(bad)])
    assert str(caught.value) == (
        f"{bad}: ansible-inventory could not parse it: yaml plugin: YAML parsing failed: "
        "While parsing a flow sequence did not find expected ',' or ']'. "
        "(also tried: auto, ini)")


def test_an_unknown_plugin_says_what_to_install(tmp_path):
    config = tmp_path / "cloud.yml"
    config.write_text("plugin: example.cloud.machines\n")
    with pytest.raises(InventoryError) as caught:
        delegated([str(config)])
    assert str(caught.value) == (
        f"{config}: ansible-inventory could not parse it: auto plugin: inventory config "
        f"'{config}' specifies unknown plugin 'example.cloud.machines' (ansible-galaxy "
        "collection install example.cloud) (also tried: yaml, ini)")


# -- vault ----------------------------------------------------------------------------
def test_a_vault_encrypted_inventory_with_a_password_file():
    assert delegate.needs_delegation("vaulted.yml") == "is a vault-encrypted file"
    inventory, _ = delegated(["vaulted.yml"], vault_password_files=(PASSWORD,))
    args = ["-i", "vaulted.yml", "--vault-password-file", PASSWORD]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    assert inventory.hosts["vault2"].user == "ops"
    assert inventory.hosts["vault1"].vars["audit_level"] == "high"


def test_a_vault_id_with_a_label():
    assert Path("labelled.yml").read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    inventory, _ = delegated(["labelled.yml"], vault_ids=(f"prod@{PASSWORD}",))
    args = ["-i", "labelled.yml", "--vault-id", f"prod@{PASSWORD}"]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    assert list(inventory.hosts) == ["labelled1", "labelled2"]


def test_ansible_vault_password_file_from_the_environment(monkeypatch):
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", PASSWORD)
    inventory, _ = delegated(["vaulted.yml"])
    assert list(inventory.hosts) == ["vault1", "vault2"]


def test_a_wrong_password_is_one_line():
    with pytest.raises(InventoryError) as caught:
        delegated(["vaulted.yml"], vault_password_files=("wrong-password.txt",))
    assert str(caught.value) == (
        "vaulted.yml: ansible-inventory could not decrypt it: Decryption failed (no vault "
        "secrets were found that could decrypt); none of the vault passwords given opens it")


def test_no_password_is_one_line():
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml", "vaulted.yml"])
    assert str(caught.value) == (
        "vaulted.yml: ansible-inventory could not decrypt it: Attempting to decrypt but no "
        "vault secrets found; it needs a vault password: --vault-password-file FILE, "
        "--vault-id LABEL@FILE or $ANSIBLE_VAULT_PASSWORD_FILE")


def test_a_wrong_and_a_right_password_open_it():
    inventory, _ = delegated(["vaulted.yml"], vault_password_files=("wrong-password.txt",),
                             vault_ids=(PASSWORD,))
    assert list(inventory.hosts) == ["vault1", "vault2"]


def test_a_vault_encrypted_group_vars_file():
    path = "vault_vars/hosts.yml"
    assert delegate.needs_delegation(path) == (
        "has a vault-encrypted vars file: group_vars/web/vault.yml")
    inventory, _ = delegated([path], vault_password_files=(PASSWORD,))
    args = ["-i", path, "--vault-password-file", PASSWORD]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    www1 = inventory.hosts["www1"].vars
    assert (www1["vault_db_password"], www1["site_name"]) == ("s3cret-web", "example.test")
    assert www1["db_password"] == "{{ vault_db_password }}"  # printed, not resolved
    with pytest.raises(InventoryError) as caught:
        delegated([path])
    assert str(caught.value) == (
        f"{path}: ansible-inventory exited 4: Attempting to decrypt but no vault secrets "
        "found; it needs a vault password: --vault-password-file FILE, --vault-id "
        "LABEL@FILE or $ANSIBLE_VAULT_PASSWORD_FILE")


def test_an_inline_vault_value_stays_encrypted_as_ansible_prints_it():
    """ansible-inventory 2.19 prints an inline !vault value as its ciphertext even with
    the right password: it is the same VaultedValue the YAML loader makes."""
    assert delegate.needs_delegation("inline-vault.yml") is None  # the loader reads it
    inventory, _ = delegated(["inline-vault.yml"], vault_password_files=(PASSWORD,))
    args = ["-i", "inline-vault.yml", "--vault-password-file", PASSWORD]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    value = inventory.hosts["app1"].vars["db_password"]
    assert isinstance(value, VaultedValue)
    assert value == load_native(["inline-vault.yml"]).hosts["app1"].vars["db_password"]
    opened = subprocess.run([str(BIN / "ansible-vault"), "decrypt", "--vault-password-file",
                             PASSWORD, "--output", "-"], input=value.ciphertext,
                            capture_output=True, text=True, check=True)
    assert opened.stdout == "s3cret-db"  # the fixture is what its comment says


def test_a_prompting_vault_id_is_refused_before_running():
    with pytest.raises(InventoryError) as caught:
        delegated(["vaulted.yml"], vault_ids=("prod@prompt",))
    assert str(caught.value) == (
        "--vault-id prod@prompt asks for the password at a prompt; fleetcheck runs "
        "ansible-inventory without a terminal: give a password file (--vault-id "
        "LABEL@FILE or --vault-password-file FILE)")


# -- ansible missing ------------------------------------------------------------------
def write_plugin_config(tmp_path) -> str:
    path = tmp_path / "prod.aws_ec2.yml"
    path.write_text("plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n")
    return str(path)


def test_without_ansible_core_one_line_says_what_to_install(tmp_path, monkeypatch):
    nothing = "/nonexistent/ansible-inventory"  # short: the whole line fits MAX_REASON
    monkeypatch.setenv(delegate.EXECUTABLE_ENV, nothing)
    assert delegate.find_ansible_inventory() is None
    config = write_plugin_config(tmp_path)
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml", config])
    assert str(caught.value) == (
        f"{config}: is an Ansible inventory plugin configuration (plugin: "
        "amazon.aws.aws_ec2); reading it needs ansible-core and the collection amazon.aws: "
        "pip install ansible-core && ansible-galaxy collection install amazon.aws (or "
        f"--inventory-engine native to refuse it); ${delegate.EXECUTABLE_ENV}={nothing} is "
        "not an executable file")


def test_not_on_path_nor_beside_python(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(sys, "executable", str(empty / "python3"))
    assert delegate.find_ansible_inventory() is None
    with pytest.raises(InventoryError) as caught:
        delegated(["constructed.yml"])
    assert str(caught.value) == (
        "constructed.yml: is an Ansible inventory plugin configuration (plugin: "
        "ansible.builtin.constructed); reading it needs ansible-core: pip install "
        "ansible-core (or --inventory-engine native to refuse it)")
    with pytest.raises(InventoryError) as caught:
        delegated(["vaulted.yml"])
    assert str(caught.value).startswith("vaulted.yml: is a vault-encrypted file; reading "
                                        "it needs ansible-core: pip install ansible-core")
    with pytest.raises(InventoryError) as caught:  # --inventory-engine ansible, plain file
        delegated(["site.yml"])
    assert str(caught.value).startswith(
        "site.yml: --inventory-engine ansible reads every inventory through "
        "ansible-inventory; reading it needs ansible-core: pip install ansible-core")


def test_where_ansible_inventory_is_found(tmp_path, monkeypatch):
    on_path = fake(tmp_path / "path", "exit 0")
    beside = fake(tmp_path / "venv", "exit 0")
    chosen = fake(tmp_path / "chosen", "exit 0")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "elsewhere" / "python3"))
    assert delegate.find_ansible_inventory() == str(on_path)
    monkeypatch.setattr(sys, "executable", str(beside.parent / "python3"))
    assert delegate.find_ansible_inventory() == str(beside)
    monkeypatch.setenv(delegate.EXECUTABLE_ENV, str(chosen))
    assert delegate.find_ansible_inventory() == str(chosen)
    chosen.chmod(0o644)
    assert delegate.find_ansible_inventory() is None  # set: nothing else is used


def test_refusals_for_the_router():
    reason = "is an Ansible inventory plugin configuration (plugin: aws_ec2)"
    assert str(delegate.native_refusal("aws.aws_ec2.yml", reason)) == (
        "aws.aws_ec2.yml: is an Ansible inventory plugin configuration (plugin: aws_ec2): "
        "fleetcheck does not read it itself; --inventory-engine auto or ansible reads it "
        "through ansible-inventory (ansible-core and the collection amazon.aws: pip install "
        "ansible-core && ansible-galaxy collection install amazon.aws)")
    assert delegate.install_hint("is a vault-encrypted file") == (
        "ansible-core: pip install ansible-core")
    assert delegate.install_hint("(plugin: netbox.netbox.nb_inventory)").startswith(
        "ansible-core and the collection netbox.netbox:")


# -- bounded: fakes -------------------------------------------------------------------
def fake(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ansible-inventory"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def use_fake(monkeypatch, tmp_path, body: str) -> Path:
    path = fake(tmp_path / "fake", body)
    monkeypatch.setenv(delegate.EXECUTABLE_ENV, str(path))
    monkeypatch.setenv("FAKE_OUT", str(tmp_path))
    return path


EMPTY = """'{"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped"]}}'"""


def gone(pid: int, within: float = 5.0) -> bool:
    """No such process, or a zombie nobody has reaped yet (PID 1 of a container),
    within ``within`` seconds: SIGKILL reaches a grandchild at once, but it dies on its
    own time after the script itself has been reaped."""
    deadline = time.monotonic() + within
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def test_a_hanging_ansible_inventory_is_killed_with_its_children(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path,
             'sleep 300 &\necho "$$ $!" > "$FAKE_OUT/pids"\nwait')
    start = time.monotonic()
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"], timeout=0.25)
    assert time.monotonic() - start < 10
    assert str(caught.value) == ("site.yml: ansible-inventory did not finish within 1.5s "
                                 "(killed; 6 x --inventory-timeout)")
    pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 2 and all(gone(pid) for pid in pids)


def test_endless_output_is_cut_and_killed(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, 'echo $$ > "$FAKE_OUT/pids"\nexec cat /dev/zero')
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"])
    assert str(caught.value) == ("site.yml: ansible-inventory printed more than 256 MiB "
                                 "(killed; the limit of an inventory source)")
    assert gone(int((tmp_path / "pids").read_text()))


def test_the_default_timeout_is_six_inventory_timeouts():
    assert delegate.timeout_of(SourceOptions()) == 120.0
    assert delegate.timeout_of(SourceOptions(timeout=50)) == 300.0
    assert delegate.timeout_of(SourceOptions(timeout=0)) == 120.0


def test_arguments_environment_and_stdin(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, 'printf "%s\\n" "$@" > "$FAKE_OUT/argv"\n'
             'env > "$FAKE_OUT/env"\ncat > "$FAKE_OUT/stdin"\necho ' + EMPTY)
    keep = {"ANSIBLE_VAULT_PASSWORD_FILE": PASSWORD, "ANSIBLE_CONFIG": "shop.cfg",
            "ANSIBLE_HASH_BEHAVIOUR": "merge", "AWS_PROFILE": "audit"}
    drop = {"ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_CALLBACKS_ENABLED": "timer",
            "ANSIBLE_CALLBACK_PLUGINS": "/x", "ANSIBLE_FORCE_COLOR": "1",
            "ANSIBLE_INVENTORY": "other.yml", "ANSIBLE_PLAYBOOK_DIR": "/elsewhere"}
    forced = {"ANSIBLE_DEBUG": "1", "ANSIBLE_VERBOSITY": "4", "ANSIBLE_INVENTORY_EXPORT": "1",
              "ANSIBLE_INVENTORY_UNPARSED_FAILED": "0"}
    for name, value in {**keep, **drop, **forced}.items():
        monkeypatch.setenv(name, value)
    delegated(["site.yml", "constructed.yml"], playbook_dir="play",
              vault_password_files=("a.txt", "b.txt"), vault_ids=("prod@c.txt",))
    assert (tmp_path / "argv").read_text().splitlines() == [
        "--list", "--inventory=site.yml", "--inventory=constructed.yml",
        "--playbook-dir=play", "--vault-password-file=a.txt", "--vault-password-file=b.txt",
        "--vault-id=prod@c.txt"]
    env = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines()
               if "=" in line)
    assert {name: env.get(name) for name in keep} == keep
    assert not set(drop) & set(env)
    assert {name: env[name] for name in forced} == {
        "ANSIBLE_DEBUG": "False", "ANSIBLE_VERBOSITY": "0", "ANSIBLE_INVENTORY_EXPORT": "False",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"}
    assert env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] == "True"
    assert env["ANSIBLE_NOCOLOR"] == "True"
    assert (tmp_path / "stdin").read_text() == ""  # stdin is closed: read at once, empty


def test_a_path_starting_with_a_dash_is_not_an_option(tmp_path, monkeypatch):
    odd = tmp_path / "-i.yml"
    odd.write_text("all: {}\n")
    monkeypatch.chdir(tmp_path)
    inventory, _ = delegated(["-i.yml"])  # the real ansible-inventory
    assert list(inventory.hosts) == []


def test_an_old_ansible_that_only_warns_and_prints_nothing(tmp_path, monkeypatch):
    """ansible-core before 2.19 (or settings that win over the environment): a parse
    failure is a warning, the exit code 0 and the inventory empty."""
    absolute = FIXTURES / "site.yml"
    use_fake(monkeypatch, tmp_path, f"""cat >&2 <<'EOF'
[WARNING]:  * Failed to parse {absolute} with yaml plugin: We were unable to read
either as JSON nor YAML
[WARNING]:  * Failed to parse {absolute} with ini plugin: Invalid host pattern
[WARNING]: Unable to parse {absolute} as an inventory source
[WARNING]: No inventory was parsed, only implicit localhost is available
EOF
echo {EMPTY}""")
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"])
    assert str(caught.value) == ("site.yml: ansible-inventory could not parse it: yaml "
                                 "plugin: We were unable to read (also tried: ini)")


def test_nothing_parsed_without_naming_a_source(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, "echo '[WARNING]: No inventory was parsed, only "
             "implicit localhost is available' >&2\necho " + EMPTY)
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"])
    assert str(caught.value) == "site.yml: ansible-inventory parsed no inventory source"


def test_a_crash_is_its_error_line_without_the_traceback(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, """cat >&2 <<'EOF'
ERROR! Unexpected Exception, this is probably a bug: boom
the full traceback was:

Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/ansible/cli/__init__.py", line 1, in cli_executor
KeyError: 'boom'
EOF
exit 250""")
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"])
    assert str(caught.value) == ("site.yml: ansible-inventory exited 250: Unexpected "
                                 "Exception, this is probably a bug: boom")


def test_output_that_is_not_json(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, "echo 'Using /etc/ansible/ansible.cfg as config file'")
    with pytest.raises(InventoryError) as caught:
        delegated(["site.yml"])
    assert str(caught.value) == ("site.yml: ansible-inventory printed output that is not "
                                 "JSON (line 1 column 1: Expecting value)")


def test_other_warnings_are_passed_on_one_line_each(tmp_path, monkeypatch):
    use_fake(monkeypatch, tmp_path, """cat >&2 <<'EOF'
[WARNING]: Found both group and host with same name: web
[DEPRECATION WARNING]: The x option is deprecated.
This feature will be removed in version 2.23.
[WARNING]: Found both group and host with same name: web
EOF
echo """ + EMPTY)
    _, warnings = delegated(["site.yml"])
    assert warnings == ["ansible-inventory: Found both group and host with same name: web",
                        "ansible-inventory: The x option is deprecated."]


def test_paths_ansible_cannot_take(tmp_path):
    with pytest.raises(InventoryError, match=r"^missing.yml: no such file or directory$"):
        delegated(["missing.yml"])
    comma = tmp_path / "a,b.yml"
    comma.write_text("all: {}\n")
    with pytest.raises(InventoryError, match="reads it as a list of host names"):
        delegated([str(comma)])
    with pytest.raises(InventoryError, match="read by fleetcheck itself"):
        delegated(["https://cmdb.example.com/fleet"])


# -- deciding what needs ansible ------------------------------------------------------
@pytest.mark.parametrize("path, text, plugin", [
    ("c.yml", "plugin: constructed\n", "constructed"),
    ("c.yaml", "---\n# cloud\nplugin: 'amazon.aws.aws_ec2'  # cloud\nregions: [x]\n",
     "amazon.aws.aws_ec2"),
    ("c.yml", '{"plugin": "ansible.builtin.constructed", "strict": true}',
     "ansible.builtin.constructed"),
    ("c.yml", "regions: [x]\nplugin: ansible.builtin.generator\n", "ansible.builtin.generator"),
    ("inv.yml", "plugin:\n  hosts:\n    a:\n", None),          # a group named plugin
    ("inv.yml", "all:\n  vars:\n    plugin: x\n", None),         # a var named plugin
    ("inv.yml", "plugin: ~\n", None),
    ("inv.yml", "plugin: |\n  x\n", None),
    ("hosts", "plugin: constructed\n", None),                    # not .yml/.yaml: ini
    ("c.json", '{"plugin": "constructed"}', None),               # auto takes .yml/.yaml
    ("prod.aws_ec2.yml", "regions: [eu-west-1]\n", "aws_ec2"),   # named for its plugin
    ("aws_ec2.yaml", "", "aws_ec2"),
    ("inventory/x.gcp_compute.yml", "projects: [p]\n", "gcp_compute"),
    ("inventory/gcp.yml", "projects: [p]\n", None),             # too common a name
    ("k8s.yml", "all:\n  hosts: {}\n", None),
    ("prod.aws_ec2.yml", "all:\n  hosts: {}\n", None),          # a YAML inventory
    ("notaws_ec2.yml", "regions: []\n", None),
])
def test_is_plugin_config(path, text, plugin):
    assert delegate.is_plugin_config(path, text) == plugin


def test_needs_delegation_of_files():
    assert delegate.needs_delegation("site.yml") is None
    assert delegate.needs_delegation("hosts.ini") is None
    assert delegate.needs_delegation("constructed.yml") == (
        "is an Ansible inventory plugin configuration (plugin: ansible.builtin.constructed)")
    assert delegate.needs_delegation("vaulted.yml") == "is a vault-encrypted file"
    assert delegate.needs_delegation("missing.yml") is None       # the loader says so
    assert delegate.needs_delegation("https://cmdb.example.com/x") is None


def test_needs_delegation_of_a_directory(tmp_path):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "10-hosts.yml").write_text((FIXTURES / "site.yml").read_text())
    (inv / ".hidden.yml").write_text("plugin: constructed\n")      # skipped by Ansible
    (inv / "README.md").write_text("plugin: constructed\n")        # an ignored extension
    (inv / "group_vars" / "all.yml").write_text("plugin: constructed\n")  # vars, not inventory
    assert delegate.needs_delegation(str(inv)) is None
    (inv / "cloud").mkdir()
    (inv / "cloud" / "20-aws.aws_ec2.yml").write_text("plugin: amazon.aws.aws_ec2\n")
    assert delegate.needs_delegation(str(inv)) == (
        "holds cloud/20-aws.aws_ec2.yml, which is an Ansible inventory plugin configuration "
        "(plugin: amazon.aws.aws_ec2)")


def test_needs_delegation_for_vaulted_vars_beside_it_or_the_playbook(tmp_path):
    vaulted = (FIXTURES / "vaulted.yml").read_bytes()
    inv = tmp_path / "inventory"
    (inv / "host_vars" / "node1").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all: {}\n")
    (inv / "host_vars" / "node1" / "plain.yml").write_text("x: 1\n")
    assert delegate.needs_delegation(str(inv / "hosts.yml")) is None
    (inv / "host_vars" / "node1" / "secret.yml").write_bytes(vaulted)
    assert delegate.needs_delegation(str(inv / "hosts.yml")) == (
        "has a vault-encrypted vars file: host_vars/node1/secret.yml")
    assert delegate.needs_delegation(str(inv)) == (
        "has a vault-encrypted vars file: host_vars/node1/secret.yml")
    play = tmp_path / "play"
    (play / "group_vars").mkdir(parents=True)
    (play / "group_vars" / "all.yml").write_bytes(vaulted)
    assert delegate.needs_delegation("site.yml", playbook_dir=str(play)) == (
        "has a vault-encrypted vars file (beside the playbook directory): group_vars/all.yml")


def test_a_directory_walk_is_bounded_and_survives_loops(tmp_path, monkeypatch):
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "loop").symlink_to(inv)
    for index in range(30):
        (inv / f"h{index:02}.yml").write_text("all: {}\n")
    (inv / "zz.yml").write_text("plugin: constructed\n")
    assert delegate.needs_delegation(str(inv)).startswith("holds zz.yml")
    monkeypatch.setattr(delegate, "MAX_SCANNED_ENTRIES", 10)
    assert delegate.needs_delegation(str(inv)) is None  # beyond the bound: not scanned


# -- ansible's JSON -------------------------------------------------------------------
def test_tagged_values_are_unwrapped_at_any_depth():
    vault = "$ANSIBLE_VAULT;1.1;AES256\n6162\n"
    data = {
        "_meta": {"hostvars": {"h": {
            "a": {"__ansible_unsafe": "x"},
            "b": [{"__ansible_unsafe": "y"}, {"k": {"__ansible_vault": vault}}],
            "c": {"__ansible_unsafe": "z", "other": 1},   # not a tagged value
            "d": {"__ansible_vault": 5},                  # not a tagged value
        }}},
        "g": {"hosts": ["h"], "vars": {"v": {"__ansible_unsafe": "w"}}},
    }
    out = delegate.from_ansible(data)
    values = out["_meta"]["hostvars"]["h"]
    assert values["a"] == "x" and values["b"][0] == "y"
    assert values["b"][1]["k"] == VaultedValue(vault)
    assert values["c"] == {"__ansible_unsafe": "z", "other": 1}
    assert values["d"] == {"__ansible_vault": 5}
    assert out["g"]["vars"] == {"v": "w"}


def test_groups_are_put_in_ansible_walk_order():
    data = {"_meta": {}, "a": {"hosts": ["a1"]}, "all": {"children": ["ungrouped", "z", "b"]},
            "b": {"children": ["a"]}, "orphan": {"hosts": ["o"]}, "z": {"hosts": ["z1"]}}
    assert list(delegate.from_ansible(data)) == ["all", "z", "b", "a", "orphan", "_meta"]
    assert delegate.from_ansible(["not", "a", "mapping"]) == ["not", "a", "mapping"]


def test_a_misspelt_group_var_is_one_warning_not_one_per_host(tmp_path):
    path = tmp_path / "typo.yml"
    path.write_text("all:\n  vars:\n    capacty: 1\n  hosts:\n    h[1:7]:\n"
                    "    solo: {sysctls: {}}\n")
    inventory, _ = delegated([str(path)])
    assert inventory.var_warnings == [
        f"{path}: 8 hosts (h1, h2, h3, h4, h5, ... (+3 more)): capacty: not a var fleetcheck "
        "reads; did you mean capacity?",
        f"{path}: host 'solo': sysctls: not a var fleetcheck reads; did you mean sysctl?"]


def test_vault_secret_given():
    assert not delegate.vault_secret_given(SourceOptions(), {})
    assert delegate.vault_secret_given(SourceOptions(vault_ids=("x@f",)), {})
    assert delegate.vault_secret_given(SourceOptions(vault_password_files=("f",)), {})
    assert delegate.vault_secret_given(SourceOptions(), {"ANSIBLE_VAULT_PASSWORD_FILE": "f"})
    assert delegate.vault_secret_given(SourceOptions(), {"ANSIBLE_VAULT_IDENTITY_LIST": "a@f"})


def test_a_missing_password_file_is_named_as_given():
    with pytest.raises(InventoryError) as caught:
        delegated(["vaulted.yml"], vault_ids=("prod@no-such-password.txt",))
    assert str(caught.value) == ("vaulted.yml: ansible-inventory exited 1: The vault password "
                                 "file no-such-password.txt was not found")


def test_install_hints():
    assert delegate.install_hint("(plugin: proxmox)") == (
        "ansible-core and the collection that provides the proxmox plugin: pip install "
        "ansible-core, then ansible-galaxy collection install that collection")
    assert delegate.install_hint("(plugin: ansible.builtin.generator)") == (
        "ansible-core: pip install ansible-core")
    assert delegate.install_hint("(plugin: constructed)") == (
        "ansible-core: pip install ansible-core")


def test_a_directory_is_scanned_in_ansible_order(tmp_path):
    inv = tmp_path / "inventory"
    (inv / "a").mkdir(parents=True)
    (inv / "a" / "x.yml").write_text("plugin: constructed\n")
    (inv / "b.yml").write_text("plugin: ansible.builtin.generator\n")
    assert delegate.needs_delegation(str(inv)).startswith("holds a/x.yml, which")


def test_an_inventory_directory_equals_ansible(tmp_path):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "01-site.yml").write_text((FIXTURES / "site.yml").read_text())
    (inv / "02-constructed.yml").write_text((FIXTURES / "constructed.yml").read_text())
    (inv / "group_vars" / "etcd.yml").write_text("etcd_data_dir: /var/lib/etcd\n")
    assert delegate.needs_delegation(str(inv)).startswith("holds 02-constructed.yml, which")
    inventory, _ = delegated([str(inv)])
    args = ["-i", str(inv)]
    assert_as_ansible(inventory, oracle(*args), ansible_order(*args))
    assert inventory.hosts["node2"].vars["etcd_data_dir"] == "/var/lib/etcd"
    (inv / "03-broken.yml").write_text("all:\n  hosts: [a\n")
    with pytest.raises(InventoryError) as caught:
        delegated([str(inv)])
    assert str(caught.value).startswith(
        f"{inv / '03-broken.yml'}: ansible-inventory could not parse it: yaml plugin: ")
