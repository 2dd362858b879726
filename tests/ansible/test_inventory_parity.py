"""The Ansible parity suite: fleetcheck reads every case of tests/fixtures/ansible/ as
ansible-core 2.19 reads it.

Each case is a directory written for the suite in the shape a public project uses
(kubespray, ceph-ansible, openshift-ansible, kolla-ansible, trellis, ...; its case.yml
says which, and what it covers): inventory sources (INI, YAML, directories with
scripts, plugin configs, vault-encrypted files), group_vars/host_vars beside them or
beside a playbook directory, an ansible.cfg of its own, and the --limit patterns to
compare. For each case the oracle is ansible-core itself, from the venv, run as a
subprocess from the case's directory (never imported by the tests):

- ``ansible-inventory --list``: the hosts, the groups (their hosts and children) and
  every host's merged vars;
- ask_ansible.py, Ansible's own objects in a subprocess: the order of
  ``ansible all --list-hosts``, the hosts each --limit pattern selects (or Ansible's
  refusal), and the address, port, user and key the ssh connection plugin would use.

fleetcheck's answers come from ``fleetcheck.inventory.load`` with the same sources,
ansible.cfg, --playbook-dir and vault password, natively where it reads the format
and through ansible-inventory where it delegates. Known differences, each asserted:

- fleetcheck's own typed vars (capacity, dns, ...) deep-merge where Ansible's
  hash_behaviour=replace replaces (README, Inventory): fleetcheck's value holds
  every leaf of Ansible's;
- a relative private key path is resolved against the inventory file's directory,
  where Ansible takes the working directory: the same value must be chosen;
- a host whose connection or become method fleetcheck cannot use is listed with the
  others and refused on its own (HostEntry.refused);
- read through ansible-inventory, a host put directly in 'all' comes where its other
  groups put it, not first (--list never names them): a case says so with
  ``order: delegated_all_hosts`` and its order is compared as a set;
- below the first level of groups Ansible's order changes from run to run
  (fleetcheck/inventory/order.py): levels 0 and 1 are compared in order, deeper levels
  as sets.

Cost: two ansible processes per case (~1 s of CPU each), run once per session in a
thread pool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fleetcheck import varschema
from fleetcheck.inventory import Inventory, InventoryError, SourceOptions, ansiblecfg, load
from fleetcheck.inventory import hostvars as hv
from fleetcheck.inventory.order import levels

from ansible_answers import decoded, kept, selected

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE.parent / "fixtures" / "ansible"
EMPTY_CFG = HERE.parent / "fixtures" / "inventory" / "empty-ansible.cfg"
BIN = Path(sys.executable).parent
CASES = sorted(p.parent.name for p in CASES_DIR.glob("*/case.yml"))
# what ansible-inventory --list adds that is no inventory var
ANSIBLE_MAGIC = {"inventory_file", "inventory_dir", "inventory_hostname",
                 "inventory_hostname_short", "groups", "group_names", "omit", "playbook_dir"}
# the Ansible refusals of a --limit, and the words of fleetcheck's one line for each
REFUSALS = {"leaves us with no hosts": "selects no host",
            "Unable to find limit file": "cannot read limit file"}


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    sources: list[str]
    playbook_dir: str | None
    vault_password_file: str | None
    limits: list[str]
    # "delegated_all_hosts": a known difference of order (README): compared as sets
    order: str | None = None

    @classmethod
    def read(cls, name: str) -> Case:
        directory = CASES_DIR / name
        spec = yaml.safe_load((directory / "case.yml").read_text(encoding="utf-8"))
        return cls(name, directory, list(spec["sources"]), spec.get("playbook_dir"),
                   spec.get("vault_password_file"), [str(p) for p in spec.get("limits", [])],
                   spec.get("order"))

    @property
    def config(self) -> Path:
        own = self.directory / "ansible.cfg"
        return own if own.is_file() else EMPTY_CFG

    def env(self, home: Path) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(ANSIBLE_CONFIG=str(self.config), HOME=str(home), LC_ALL="C.UTF-8",
                   ANSIBLE_HOME=str(home / ".ansible"), ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
        return env


@dataclass(frozen=True)
class Answer:
    listed: dict        # ansible-inventory --list
    asked: dict         # ask_ansible.py: order, limits, connection


def _ask(case: Case, home: Path) -> Answer:
    env = case.env(home)
    argv = [str(BIN / "ansible-inventory"), "--list"]
    for source in case.sources:
        argv += ["-i", source]
    if case.playbook_dir:
        argv += ["--playbook-dir", case.playbook_dir]
    if case.vault_password_file:
        argv += ["--vault-password-file", case.vault_password_file]
    listed = subprocess.run(argv, cwd=case.directory, env=env, capture_output=True,
                            text=True, timeout=180, stdin=subprocess.DEVNULL, check=False)
    assert listed.returncode == 0, f"{case.name}: {listed.stderr[-2000:]}"
    question = json.dumps({"sources": case.sources, "playbook_dir": case.playbook_dir,
                           "vault_password_file": case.vault_password_file,
                           "limits": case.limits})
    asked = subprocess.run([sys.executable, str(HERE / "ask_ansible.py"), question],
                           cwd=case.directory, env=env, capture_output=True, text=True,
                           timeout=180, stdin=subprocess.DEVNULL, check=False)
    assert asked.returncode == 0, f"{case.name}: {asked.stderr[-2000:]}"
    return Answer(json.loads(listed.stdout, object_hook=decoded), json.loads(asked.stdout))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The HOME of both sides (ansible.cfg's ``~`` expands to it)."""
    home = tmp_path_factory.mktemp("ansible-home")
    (home / "tmp").mkdir()
    return home


@pytest.fixture(scope="module")
def ansible(home) -> dict[str, Answer]:
    if not (BIN / "ansible-inventory").is_file():
        pytest.fail(f"{BIN / 'ansible-inventory'} is missing: ansible-core is a test "
                    "dependency (tests/requirements.txt)", pytrace=False)
    cases = [Case.read(name) for name in CASES]
    with ThreadPoolExecutor(max(2, (os.cpu_count() or 2) + 1)) as pool:
        return dict(zip(CASES, pool.map(lambda case: _ask(case, home), cases)))


@pytest.fixture(scope="module")
def fleetcheck(ansible, home) -> dict[str, Inventory | InventoryError]:
    """Each case as fleetcheck loads it (after the oracle: the same machine state)."""
    return {name: _load(Case.read(name), home) for name in CASES}


def _load(case: Case, home: Path) -> Inventory | InventoryError:
    before = os.getcwd()
    os.chdir(case.directory)
    try:
        environ = {"ANSIBLE_CONFIG": str(case.config), "HOME": str(home)}
        options = SourceOptions(
            playbook_dir=case.playbook_dir,
            vault_password_files=(case.vault_password_file,) if case.vault_password_file
            else ())
        config = ansiblecfg.load(environ, str(case.directory))
        # no source given: ansible.cfg's inventory, as fleetcheck.selection reads it
        return load(case.sources or list(config.inventory), options, config=config)
    except InventoryError as exc:
        return exc
    finally:
        os.chdir(before)


def _inventory(fleetcheck, name) -> Inventory:
    inventory = fleetcheck[name]
    assert not isinstance(inventory, InventoryError), f"{name}: {inventory}"
    return inventory


def test_the_suite_covers_enough_inventories():
    assert len(CASES) >= 20, CASES


# -- hosts, groups, vars ---------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_hosts_and_groups(ansible, fleetcheck, name):
    listed, inventory = ansible[name].listed, _inventory(fleetcheck, name)
    theirs = {group: (set(body.get("hosts", [])), set(body.get("children", [])))
              for group, body in listed.items() if group != "_meta"}
    # --list's _meta.hostvars holds only the hosts that have vars
    everyone = set(listed["_meta"]["hostvars"]).union(*(hosts for hosts, _ in theirs.values()))
    assert set(inventory.hosts) == everyone
    ours = {group: (set(body.hosts), set(body.children))
            for group, body in inventory.groups.items()}
    for group, (hosts, children) in theirs.items():
        assert group in ours, f"group {group} missing"
        own, below = ours[group]
        assert children <= below, group
        if group != "all":            # --list shows no host of 'all' itself
            assert hosts == own, group
    # a group fleetcheck has that Ansible does not show is an empty one
    for group in set(ours) - set(theirs):
        assert not inventory.group_hosts(group), group
    for host, entry in inventory.hosts.items():
        member = {g for g, (hosts, _) in theirs.items() if host in hosts}
        assert member <= set(entry.groups), host


OWN_VARS = set(varschema.schemas()) - {name for name in varschema.schemas()
                                       if name.startswith("ansible_")}


def _plain(value):
    return json.loads(json.dumps(value, default=str))


def _holds(ours, theirs) -> bool:
    """Every leaf of ``theirs`` is in ``ours`` with the same value (a deep merge's
    result holds what the replacing layer set)."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return all(key in ours and _holds(ours[key], value) for key, value in theirs.items())
    return ours == theirs


@pytest.mark.parametrize("name", CASES)
def test_merged_vars(ansible, fleetcheck, name):
    hostvars, inventory = ansible[name].listed["_meta"]["hostvars"], _inventory(fleetcheck, name)
    for host, entry in inventory.hosts.items():
        theirs = {k: v for k, v in hostvars.get(host, {}).items() if k not in ANSIBLE_MAGIC}
        ours = _plain(dict(entry.vars))
        assert set(ours) == set(theirs), host
        for var, value in theirs.items():
            if var in OWN_VARS and isinstance(value, dict):
                assert _holds(ours[var], value), (host, var)   # deep-merged on purpose
            else:
                assert ours[var] == value, (host, var)


# -- connection settings ---------------------------------------------------------------

SUPPORTED = {"ssh", "paramiko", "paramiko_ssh", "smart", "local"}
THROUGH_TESTINFRA = set(hv.TESTINFRA_CONNECTIONS)


@pytest.mark.parametrize("name", CASES)
def test_connection_settings(ansible, fleetcheck, name):
    connection, inventory = ansible[name].asked["connection"], _inventory(fleetcheck, name)
    for host, entry in inventory.hosts.items():
        theirs = connection[host]
        if theirs.get("connection") in THROUGH_TESTINFRA:
            # testinfra's backend of that name, unless a var points Ansible elsewhere
            assert entry.connection == hv.TESTINFRA_CONNECTIONS[theirs["connection"]]
            pointed = hv.backend_problem(entry.connection, entry.vars)
            assert entry.refused == pointed, host
            continue
        if theirs.get("connection") not in SUPPORTED or theirs.get("become_method") not in (
                "sudo", "su") and entry.become:
            assert entry.refused, (host, theirs)
            assert "is not supported" in entry.refused
            continue
        assert "error" not in theirs, (host, theirs)
        assert entry.refused is None, (host, entry.refused)
        assert entry.address == theirs["host"], host
        assert entry.port == (theirs["port"] or 22), host
        assert entry.user == theirs["remote_user"], host
        if theirs["private_key_file"] is None:
            assert entry.key_file is None, host
        else:
            # the same value chosen; a relative one Ansible hands ssh as written (the
            # working directory's), fleetcheck takes from the inventory file's directory
            # (the README says so); ansible.cfg's is absolute for both
            def resolved(path: str) -> str:
                return os.path.normpath(CASES_DIR / name / os.path.expanduser(path))
            assert resolved(entry.key_file) == resolved(theirs["private_key_file"]), host


def test_a_host_fleetcheck_cannot_reach_is_refused_alone(fleetcheck):
    inventory = _inventory(fleetcheck, "refusals")
    refused = {name: entry.refused for name, entry in inventory.hosts.items() if entry.refused}
    assert sorted(refused) == ["ctr1", "openbsd1"]
    assert refused["openbsd1"].startswith("become method 'doas' is not supported")
    # ctr1's container lives behind another docker daemon (ansible_docker_extra_args -H)
    assert refused["ctr1"].startswith("ansible_docker_extra_args is set")
    assert inventory.hosts["ctr2"].connection == "docker"


# -- order and --limit -----------------------------------------------------------------

def _compare(inventory: Inventory, theirs: dict, mine, case: Case) -> None:
    if "error" in theirs:
        expected = [why for said, why in REFUSALS.items() if said in theirs["error"]]
        assert expected, f"unexpected refusal by Ansible: {theirs['error']}"
        assert isinstance(mine, InventoryError), (mine, theirs["error"])
        assert expected[0] in str(mine), (str(mine), theirs["error"])
        return
    assert not isinstance(mine, InventoryError), (str(mine), theirs)
    if case.order == "delegated_all_hosts":
        assert sorted(mine) == sorted(theirs["hosts"])
        return
    level_of = {host: depth for depth, names in enumerate(levels(inventory)) for host in names}
    assert kept(mine, level_of) == kept(theirs["hosts"], level_of)


@pytest.mark.parametrize("name", CASES)
def test_host_order(ansible, fleetcheck, name):
    inventory = _inventory(fleetcheck, name)
    _compare(inventory, ansible[name].asked["order"], selected(inventory, None, CASES_DIR / name),
             Case.read(name))


@pytest.mark.parametrize("name,pattern", [
    (name, pattern) for name in CASES for pattern in Case.read(name).limits])
def test_limit(ansible, fleetcheck, name, pattern):
    inventory = _inventory(fleetcheck, name)
    _compare(inventory, ansible[name].asked["limits"][pattern],
             selected(inventory, pattern, CASES_DIR / name), Case.read(name))
