"""Host order and --limit selections, compared with ansible-core's own answers.

For each inventory of INVENTORIES and each pattern of its row in PATTERNS,
``ansible all -i INV --list-hosts --limit PATTERN`` (ansible-core from the venv, as a
subprocess, in a thread pool: ~0.5 s of CPU each) must print the hosts, in the same
order, that ``load([INV]).select(PATTERN)`` returns; where Ansible refuses the pattern
or selects no host, fleetcheck raises its one-line InventoryError. DEPARTURES are the
patterns where fleetcheck refuses on purpose what Ansible accepts.

Ansible's order below the first level of groups varies from run to run (order.py);
each inventory says whether its order is fully determined. The listing of every
inventory is asked twice, under two PYTHONHASHSEED values, and must be the same
both times for a determined one; for the others (deep.yml) only what Ansible keeps is
compared: the first two levels in order, the hosts of each deeper level as a set.

INI inventories are read by another module (being written): add them to INVENTORIES
and PATTERNS when it lands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.inventory import Group, HostEntry, Inventory, InventoryError, load
from fleetcheck.inventory.order import ansible_order, group_order, levels

from ansible_answers import kept, selected

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
LIMITS = FIXTURES / "limits"
ANSIBLE = Path(sys.executable).parent / "ansible"
SEEDS = ("0", "1")
WORKERS = (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class Source:
    path: Path
    determined: bool   # Ansible's order is the same on every run


INVENTORIES = {
    "site": Source(FIXTURES / "site.yml", True),
    "ambiguous": Source(LIMITS / "ambiguous.yml", True),
    "kubespray": Source(LIMITS / "kubespray.yml", True),
    "outside_all": Source(LIMITS / "outside_all.yml", True),
    "deep": Source(LIMITS / "deep.yml", False),
}

PATTERNS = {
    "site": [
        "all", "*", "db1", "db1:bastion", " db1 , bastion ", "db1 bastion", "paris",
        "ungrouped", "web", "zeta", "alpha:zeta",
        # globs and regexes
        "web0?", "*1", "eur*", "WEB*", "~web0[13]", "~(bastion|db)", "~.*4$", "~par",
        "~web[", "~web(",
        # subscripts and slices, and what is no subscript
        "web[1]", "web[-1]", "web[1:2]", "web[2:]", "web[:2]", "web[1-2]", "web[2:0]",
        "web[3:1]", "web[0:100]", "web[-5]", "web[9]", "web0[12]", "web0[1][0]",
        "paris[1:]", "e*[2:4]", "*[3]", "*[12]", "*[100]", "web*[5]", "all[0]",
        "all[-1]", "ungrouped[0]", "nosuch[0]", "~web.*[1]",
        "web[99999999999999999999999]",
        # & and !, in any order of writing, subscripted too
        "europe:&web", "&web:europe", "europe,&web", "!web02:web", "web,!paris",
        "web:&paris:!web03", "!web", "&paris", "!web:!zeta", "!ungrouped", "!web[0]",
        "&web[1:]:paris",
        # separators: a comma turns ':' off; blanks, stray brackets
        "nosuch:db1", "db1:&nosuch*:bastion", "web:&paris,db1", "web:22", "web[",
        "web[1:db1", "web,,", " , : ",
        # limit files
        "@limits/site.retry", "@limits/site.retry:bastion", "@missing.retry",
        # the unparsable: Ansible fails with a traceback, fleetcheck says why
        "&", "web:!",
    ],
    "ambiguous": [
        "web[1]", "web[0]", "web[-1]", "web[1:2]", "web[2:]", "web1", "web[12]",
        "web[!1]", "web[1]*", "web?", "~web[12]", "db[1:2]", "db[-1]", "db[0]",
        "db*[0]", "db?[0]", "app[0:3]", "app[4:]", "app[-1]", "app", "app:!web",
        "app:&db[0:1]", "all[0]", "all[-1]", "*[0]", "*[7]", "*[8]", "ungrouped",
        "!app", "!web:!db", "2001:db8::10", "2001:db8::10,web1", "[2001:db8::10]:22",
        "2001:db8::1*", "web[0],db[0]", "web[1:]:&db", "web1,web1", "v6[0]",
        "@site.retry", "@site.retry,&db",
    ],
    "kubespray": [
        "all", "all[0]", "k8s_cluster",
        "k8s_cluster[0]", "kube_node[-1]", "etcd[0]", "etcd:&kube_node", "!etcd",
        "node*[0]", "node*[4]", "ungrouped", "calico_rr",
    ],
    "outside_all": [
        "all", "pg*[0]", "pg*[-1]", "p*[1:2]", "p*", "*[8]", "*[0:3]", "dbs", "dbs[0]",
        "dbs[2]", "primary[1]", "replica:monitoring", "monitoring[1]", "ungrouped",
        "ungrouped[0]", "!dbs", "apps[0]", "apps:&monitoring", "all[2:4]", "&dbs:!pg3",
    ],
    "deep": [
        "all", "*", "eu", "us", "eu_b", "eu*", "!us", "us:&eu*", "~.*rack.*",
        "eu_b[1]", "us[0]", "us[-1]", "all[0]", "edge:ap", "!edge",
    ],
}

# fleetcheck refuses what Ansible accepts: (inventory, pattern, what Ansible does,
# fleetcheck's error)
DEPARTURES = [
    ("site", ",", "every host", "--limit ',': empty pattern"),
    ("site", "!&web", "every host", "--limit '!&web': '!' must be followed by a pattern"),
    ("site", "web:!!web01", "group web",
     "--limit 'web:!!web01': '!' must be followed by a pattern"),
]

# Ansible's refusal (stderr) -> what fleetcheck's error says
REFUSALS = {
    "leaves us with no hosts to target": "selects no host",
    "No hosts matched the subscripted pattern": "is out of range",
    "Invalid host list pattern": "invalid regular expression",
    "Unable to find limit file": "cannot read limit file",
    "Unexpected Exception": "must be followed by a pattern",
}


def _values(param) -> str:
    return param.values[0] if hasattr(param, "values") else param


CASES = [(name, pattern) for name, patterns in PATTERNS.items() for pattern in patterns]


@dataclass(frozen=True)
class Answer:
    hosts: list[str] | None   # None: Ansible refused
    error: str = ""


def _run(source: Source, pattern: str | None, seed: str, home: Path) -> Answer:
    argv = [str(ANSIBLE), "all", "-i", str(source.path), "--list-hosts"]
    if pattern is not None:
        argv += ["--limit", pattern]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8",
           "PYTHONHASHSEED": seed, "ANSIBLE_CONFIG": str(home / "empty.cfg"),
           "ANSIBLE_HOME": str(home / ".ansible"), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"}
    done = subprocess.run(argv, cwd=source.path.parent, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        return Answer(None, done.stderr)
    lines = done.stdout.splitlines()
    assert lines and lines[0].strip().startswith("hosts ("), done.stdout
    return Answer([line.strip() for line in lines[1:]])


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """(inventory, pattern, seed) -> Answer; pattern None: the listing of every host.
    Every pattern under the first seed, the listings under both, the patterns of an
    inventory whose order is not determined under both."""
    if not ANSIBLE.is_file():
        pytest.fail(f"{ANSIBLE} is missing: ansible-core is a test dependency "
                    "(tests/requirements.txt)", pytrace=False)
    home = tmp_path_factory.mktemp("ansible-home")
    (home / "empty.cfg").write_text("", encoding="utf-8")
    (home / "tmp").mkdir()
    jobs = [(name, None, seed) for name in INVENTORIES for seed in SEEDS]
    for name, param in CASES:
        seeds = SEEDS if not INVENTORIES[name].determined else SEEDS[:1]
        jobs += [(name, _values(param), seed) for seed in seeds]
    jobs += [(name, pattern, SEEDS[0]) for name, pattern, _, _ in DEPARTURES]
    with ThreadPoolExecutor(WORKERS) as pool:
        answers = pool.map(lambda job: _run(INVENTORIES[job[0]], job[1], job[2], home), jobs)
        return dict(zip(jobs, answers))


@pytest.fixture(scope="module")
def inventories():
    return {name: load([str(source.path)]) for name, source in INVENTORIES.items()}


def fleetcheck_answer(inventory: Inventory, pattern: str | None,
                      directory: Path) -> list[str] | InventoryError:
    return selected(inventory, pattern, directory)


def _level_of(inventory: Inventory) -> dict[str, int]:
    """Each host's level in the walk from 'all'."""
    return {name: depth for depth, names in enumerate(levels(inventory)) for name in names}


@pytest.mark.parametrize("name,pattern", [
    pytest.param(name, _values(pattern), id=f"{name}:{_values(pattern)}",
                 marks=getattr(pattern, "marks", ()))
    for name, pattern in CASES])
def test_limit_as_ansible(oracle, inventories, name, pattern):
    source, inventory = INVENTORIES[name], inventories[name]
    mine = fleetcheck_answer(inventory, pattern, source.path.parent)
    seeds = SEEDS if not source.determined else SEEDS[:1]
    for seed in seeds:
        answer = oracle[(name, pattern, seed)]
        if answer.hosts is None:
            assert "limit file" not in answer.error or "missing" in pattern, answer.error
            expected = [why for said, why in REFUSALS.items() if said in answer.error]
            assert expected, f"unexpected refusal by Ansible: {answer.error[-500:]}"
            assert isinstance(mine, InventoryError), (mine, answer.error[-300:])
            assert expected[0] in str(mine), (str(mine), answer.error[-300:])
        elif source.determined:
            assert mine == answer.hosts
        else:
            assert not isinstance(mine, InventoryError), mine
            level_of = _level_of(inventory)
            assert kept(mine, level_of) == kept(answer.hosts, level_of)


@pytest.mark.parametrize("name", list(INVENTORIES))
def test_every_host_in_ansible_order(oracle, inventories, name):
    source, inventory = INVENTORIES[name], inventories[name]
    first, second = (oracle[(name, None, seed)].hosts for seed in SEEDS)
    mine = fleetcheck_answer(inventory, None, source.path.parent)
    if source.determined:
        assert first == second == mine
    else:
        level_of = _level_of(inventory)
        assert kept(first, level_of) == kept(second, level_of) == kept(mine, level_of)


@pytest.mark.parametrize("name,pattern,ansible_does,error", DEPARTURES)
def test_departures(oracle, inventories, name, pattern, ansible_does, error):
    source, inventory = INVENTORIES[name], inventories[name]
    answer = oracle[(name, pattern, SEEDS[0])]
    everyone = oracle[(name, None, SEEDS[0])].hosts
    expected = everyone if ansible_does == "every host" else \
        [host for host in everyone if host in group_order(inventory, "web")]
    assert answer.hosts == expected
    mine = fleetcheck_answer(inventory, pattern, source.path.parent)
    assert isinstance(mine, InventoryError) and str(mine) == error


# -- order.py on inventories built by hand (all's own hosts as Ansible keeps them) ----

def _inventory(groups: dict[str, tuple[list[str], list[str]]]) -> Inventory:
    """Groups name -> (own hosts, children); hosts get their groups from the tree."""
    made = {name: Group(name, hosts=list(hosts), children=list(children))
            for name, (hosts, children) in groups.items()}
    for name, group in made.items():
        for child in group.children:
            made[child].parents.append(name)
    member_of: dict[str, set[str]] = {}
    for name in made:
        todo, seen = [name], set()
        while todo:
            current = todo.pop()
            seen.add(current)
            for host in made[current].hosts:
                member_of.setdefault(host, set()).add(name)
            todo += [c for c in made[current].children if c not in seen]
    hosts = {host: HostEntry(host, {}, sorted(groups_of), "test")
             for host, groups_of in sorted(member_of.items())}
    return Inventory(hosts=hosts, groups=made)


def test_all_own_hosts_come_first():
    """kubespray's hosts.yaml: every host listed under 'all', then grouped."""
    inventory = _inventory({
        "all": (["node1", "node2", "node3"], ["kube_node", "etcd"]),
        "ungrouped": ([], []),
        "kube_node": (["node3", "node1"], []),
        "etcd": (["node2"], []),
    })
    assert ansible_order(inventory) == ["node1", "node2", "node3"]
    assert levels(inventory) == [["node1", "node2", "node3"]]


def test_ungrouped_is_the_first_child_of_all():
    inventory = _inventory({
        "all": ([], ["web", "ungrouped"]),
        "ungrouped": (["lone"], []),
        "web": (["web1"], []),
    })
    assert ansible_order(inventory) == ["lone", "web1"]


def test_levels_breadth_first_children_in_order_first_meeting_wins():
    inventory = _inventory({
        "all": ([], ["ungrouped", "a", "b"]),
        "ungrouped": ([], []),
        "a": (["x"], ["a1", "a2"]),
        "a1": (["y", "x"], ["a1x"]),
        "a2": (["z"], []),
        "a1x": (["w", "b1"], []),
        "b": (["v"], ["a1"]),
    })
    assert levels(inventory) == [[], ["x", "v"], ["y", "z"], ["w", "b1"]]
    assert group_order(inventory, "a") == ["x", "y", "z", "w", "b1"]
    assert group_order(inventory, "a1") == ["y", "x", "w", "b1"]


def test_hosts_the_groups_do_not_list_come_last():
    """An Inventory made from HostEntry.groups only (report/waivers.py makes one)."""
    hosts = {name: HostEntry(name, {}, ["all", "web"], "test") for name in ("b", "a")}
    inventory = Inventory(hosts=hosts, groups={"all": Group("all"), "web": Group("web")})
    assert ansible_order(inventory) == ["b", "a"]
    assert group_order(inventory, "web") == ["b", "a"]
    assert group_order(inventory, "nosuch") == []

