"""ansible.cfg (fleetcheck/inventory/ansiblecfg.py): found and read as ansible-core does,
compared with ``ansible-config dump -f json`` (run as a subprocess, from the same
directory and environment), and every problem one line with the file and line.

Each case runs in a temporary directory with HOME pointed at another one and
ANSIBLE_* cleared, so no ansible.cfg of the machine is read (only
/etc/ansible/ansible.cfg is out of reach: ansiblecfg.SYSTEM_CONFIG is pointed at a
test file for fleetcheck, and the machine has none for Ansible: checked).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetcheck.inventory import InventoryError, ansiblecfg, sources

BIN = Path(sys.executable).parent
SETTINGS = {   # Ansible's name -> ours
    "DEFAULT_HOST_LIST": "inventory",
    "DEFAULT_REMOTE_USER": "remote_user",
    "DEFAULT_PRIVATE_KEY_FILE": "private_key_file",
    "DEFAULT_HASH_BEHAVIOUR": "hash_behaviour",
    "DEFAULT_VAULT_PASSWORD_FILE": "vault_password_file",
    "DEFAULT_VAULT_IDENTITY_LIST": "vault_identity_list",
    "INVENTORY_IGNORE_EXTS": "inventory_ignore_extensions",
    "INVENTORY_IGNORE_PATTERNS": "inventory_ignore_patterns",
}


@pytest.fixture
def place(tmp_path, monkeypatch):
    """(a project directory, the current one; a home directory)."""
    for name in list(os.environ):
        if name.startswith("ANSIBLE_"):
            monkeypatch.delenv(name)
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir(mode=0o755)
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    monkeypatch.setattr(ansiblecfg, "SYSTEM_CONFIG", str(tmp_path / "etc" / "ansible.cfg"))
    assert not os.path.exists("/etc/ansible/ansible.cfg")
    return project, home


def dump(cwd) -> dict:
    """ansible-config's view: {setting: value}, CONFIG_FILE included."""
    out = subprocess.run([str(BIN / "ansible-config"), "dump", "-f", "json"], cwd=cwd,
                         capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    return {entry["name"]: entry["value"] for entry in json.loads(out.stdout) if "name" in entry}


def assert_as_ansible(cwd) -> ansiblecfg.AnsibleConfig:
    theirs = dump(cwd)
    config = ansiblecfg.load()
    assert config.file == theirs["CONFIG_FILE"]
    for name, ours_name in SETTINGS.items():
        value = getattr(config, ours_name)
        if name == "DEFAULT_HOST_LIST" and not value:
            assert theirs[name] == ["/etc/ansible/hosts"]   # Ansible's default; ours: none
            continue
        if isinstance(value, tuple):
            value = list(value)
        assert value == theirs[name], name
    return config


FULL = """\
# a comment
; another comment
[defaults]
inventory = ./hosts, inventories/prod.yml ,$CFG_TEST_DIR/x.yml
remote_user = deploy ; an inline comment
private_key_file = ~/keys/fleet
hash_behaviour = merge
vault_password_file = secrets/.vault_pass
vault_identity_list = prod@secrets/prod, dev@secrets/dev
inventory_ignore_extensions = ~, .orig, .bak, .ini, .cfg, .retry, .pyc, .pyo, .creds, .gpg
roles_path = 100%%(raw)s

[inventory]
ignore_patterns = artifacts, credentials
"""


def test_every_setting_as_ansible(place, monkeypatch):
    project, home = place
    monkeypatch.setenv("CFG_TEST_DIR", "/srv/inv")
    (project / "ansible.cfg").write_text(FULL)
    config = assert_as_ansible(project)
    assert config.inventory == (str(project / "hosts"), str(project / "inventories/prod.yml"),
                                "/srv/inv/x.yml")
    assert config.remote_user == "deploy"
    assert config.private_key_file == str(home / "keys" / "fleet")
    assert config.inventory_ignore_patterns == ("artifacts", "credentials")
    assert config.defaults == {"remote_user": "deploy",
                               "private_key_file": str(home / "keys" / "fleet")}
    assert config.has_vault_secret
    assert config.origins["remote_user"] == f"{project / 'ansible.cfg'}:5"


def test_defaults_when_nothing_is_set(place):
    project, _ = place
    config = assert_as_ansible(project)
    assert config.file is None and config.hash_behaviour == "replace"
    assert config.inventory_ignore_extensions == ansiblecfg.DEFAULT_IGNORE_EXTENSIONS
    assert config.defaults == {} and not config.has_vault_secret
    assert ansiblecfg.default_inventory_sources() == []


def test_the_environment_beats_the_file(place, monkeypatch):
    project, _ = place
    (project / "ansible.cfg").write_text(FULL)
    (project / "sub").mkdir()
    monkeypatch.setenv("ANSIBLE_INVENTORY", "a.yml,b.ini")
    monkeypatch.setenv("ANSIBLE_REMOTE_USER", "ops")
    monkeypatch.setenv("ANSIBLE_PRIVATE_KEY_FILE", "k/id")
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "replace")
    monkeypatch.setenv("ANSIBLE_INVENTORY_IGNORE", ".x,.y")
    monkeypatch.setenv("ANSIBLE_INVENTORY_IGNORE_REGEX", "^tmp")
    monkeypatch.setenv("ANSIBLE_VAULT_IDENTITY_LIST", "only@one")
    config = assert_as_ansible(project)
    # relative to the current directory, not the file's
    assert config.inventory == (str(project / "a.yml"), str(project / "b.ini"))
    assert config.private_key_file == str(project / "k" / "id")
    assert config.origins["remote_user"] == "env ANSIBLE_REMOTE_USER"
    monkeypatch.chdir(project / "sub")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(project / "ansible.cfg"))
    assert ansiblecfg.default_inventory_sources() == [str(project / "sub" / "a.yml"),
                                                      str(project / "sub" / "b.ini")]


def test_which_file_is_found(place, monkeypatch, tmp_path):
    project, home = place
    assert_as_ansible(project)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ansible.cfg").write_text("[defaults]\nremote_user = system\n")
    assert ansiblecfg.load().remote_user == "system"      # (fleetcheck only: see above)
    (home / ".ansible.cfg").write_text("[defaults]\nremote_user = home\n")
    assert assert_as_ansible(project).remote_user == "home"
    (project / "ansible.cfg").write_text("[defaults]\nremote_user = here\n")
    assert assert_as_ansible(project).remote_user == "here"
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    (chosen / "ansible.cfg").write_text("[defaults]\nremote_user = chosen\n")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(chosen))      # a directory: its ansible.cfg
    assert assert_as_ansible(project).remote_user == "chosen"
    monkeypatch.setenv("ANSIBLE_CONFIG", str(chosen / "other.cfg"))   # missing: next one
    assert assert_as_ansible(project).remote_user == "here"
    monkeypatch.setenv("ANSIBLE_CONFIG", "../chosen/ansible.cfg")     # relative to here
    assert assert_as_ansible(project).file == str(chosen / "ansible.cfg")


def test_a_world_writable_current_directory_is_skipped(place, monkeypatch):
    project, home = place
    (project / "ansible.cfg").write_text("[defaults]\nremote_user = planted\n")
    (home / ".ansible.cfg").write_text("[defaults]\nremote_user = home\n")
    project.chmod(0o777)
    try:
        config = assert_as_ansible(project)
    finally:
        project.chmod(0o755)
    assert config.remote_user == "home"
    assert config.warnings == (f"{project / 'ansible.cfg'}: ignored, as Ansible ignores it: "
                               "the directory is world-writable",)


def test_reading_as_configparser_does(place):
    project, _ = place
    (project / "ansible.cfg").write_text(
        "[DEFAULT]\nremote_user = 'from-default'\n"      # [DEFAULT] applies to [defaults]
        "[defaults]\n"
        "private_key_file = \"keys/id\"\n"
        "inventory =\n  hosts,\n  more\n"                 # continuation lines
        "hash_behaviour = replace\n"
        "vault_identity_list = 'a@x', \"b@y\"\n")
    config = ansiblecfg.load()
    assert config.remote_user == "from-default"          # quotes removed, as Ansible does
    assert config.inventory == (str(project / "hosts"), str(project / "more"))
    assert config.vault_identity_list == ("a@x", "b@y")
    assert config.private_key_file == str(project / "keys" / "id")   # unquoted first
    assert dump(project)["DEFAULT_REMOTE_USER"] == "from-default"


@pytest.mark.parametrize("text,line,reason", [
    ("remote_user = x\n", 1, "the Ansible config does not parse: a setting before the first "
     "[section] header"),
    ("[defaults]\nremote_user = a\nremote_user = b\n", 3, "the Ansible config does not parse: "
     "remote_user is written twice in section [defaults]"),
    ("[defaults]\n[defaults]\n", 2, "the Ansible config does not parse: section [defaults] is "
     "written twice"),
    ("[defaults]\njust words\n", 2, "the Ansible config does not parse: a line that is "
     "neither a [section], a 'key = value' nor a comment: 'just words'"),
    ("[defaults]\n\nhash_behaviour = deep\n", 3, "hash_behaviour: expected replace or merge, "
     "got 'deep'"),
    ("[defaults]\nremote_user = -oProxyCommand=x\n", 2, "remote_user: the remote user must "
     "not start with '-'"),
    ("[inventory]\nignore_patterns = ok, (unclosed\n", 2, "inventory_ignore_patterns: "
     "'(unclosed' is not a regular expression"),
])
def test_errors_are_one_line_with_file_and_line(place, text, line, reason):
    project, _ = place
    (project / "ansible.cfg").write_text(text)
    with pytest.raises(InventoryError) as caught:
        ansiblecfg.load()
    assert str(caught.value).startswith(f"{project / 'ansible.cfg'}:{line}: {reason}")
    assert "\n" not in str(caught.value)


def test_other_errors(place, monkeypatch):
    project, _ = place
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "deep")
    with pytest.raises(InventoryError) as caught:
        ansiblecfg.load()
    assert str(caught.value) == "ANSIBLE_HASH_BEHAVIOUR: expected replace or merge, got 'deep'"
    monkeypatch.delenv("ANSIBLE_HASH_BEHAVIOUR")
    (project / "settings.yml").write_text("x: 1\n")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(project / "settings.yml"))
    with pytest.raises(InventoryError) as caught:
        ansiblecfg.load()
    assert str(caught.value) == (f"{project / 'settings.yml'}: unsupported configuration file "
                                 "extension '.yml' (Ansible reads ansible.cfg files: .cfg or "
                                 ".ini)")
    (project / "latin1.cfg").write_bytes(b"[defaults]\nremote_user = caf\xe9\n")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(project / "latin1.cfg"))
    with pytest.raises(InventoryError) as caught:
        ansiblecfg.load()
    assert str(caught.value) == f"{project / 'latin1.cfg'}:2: the Ansible config is not UTF-8 " \
        "text (byte 28)"


def test_ignore_settings_shape_inventory_directories(place, monkeypatch):
    project, _ = place
    inventory = project / "inventory"
    inventory.mkdir()
    for name, host in (("10-hosts.yml", "a"), ("20-hosts.ini", "b"), ("30-artifacts.yml", "c"),
                       ("40-hosts.creds", "d"), ("50-hosts.txt", "e")):
        # (Ansible reads a .txt file as INI only: it is one)
        text = f"[g]\n{host}\n" if name.endswith((".ini", ".txt")) else \
            f"all:\n  hosts:\n    {host}:\n"
        (inventory / name).write_text(text)
    (project / "ansible.cfg").write_text(
        "[defaults]\ninventory_ignore_extensions = ~, .orig, .bak, .ini, .cfg, .retry, .creds\n"
        "[inventory]\nignore_patterns = artifacts\n")
    loaded = sources.load([str(inventory)])
    out = subprocess.run([str(BIN / "ansible-inventory"), "--list", "-i", str(inventory)],
                         cwd=project, capture_output=True, text=True, env=dict(os.environ))
    printed = json.loads(out.stdout)
    theirs = {h for name, g in printed.items() if name != "_meta" for h in g.get("hosts", [])}
    assert set(loaded.hosts) == theirs == {"a", "e"}   # .txt is no longer ignored
