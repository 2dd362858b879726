"""INI inventories (fleetcheck/inventory/ini.py) read as ansible-core 2.19's ini plugin
reads them.

The oracle is the venv's real ansible-core (a test dependency), run as a subprocess
and never imported: for every fixture of tests/fixtures/inventory/ini/ (real
inventories of public projects, and four written for this suite; README.md there
says where each comes from), fleetcheck's groups (their hosts and children, in order),
every host's merged vars and the order of ``ansible all --list-hosts`` are compared
with what ``ansible-inventory --list`` and ``ansible all --list-hosts`` print. The
ansible calls (two per fixture, ~0.5 s each) run once, concurrently, in a
module-scoped fixture; the error cases are checked against Ansible in one
``ansible-inventory`` run over all of them.

Then one case per syntax rule and per error (one line, ``file:line``), and hostile
input that must stay bounded in time.
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fleetcheck.inventory import InventoryError, ini
from fleetcheck.inventory.build import InventoryBuilder
from fleetcheck.inventory.loader import _FileLoader

from ansible_answers import decoded

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "ini"
YAML_FIXTURES = FIXTURES.parent
BIN = Path(sys.executable).parent
REAL = sorted(p.name for p in FIXTURES.glob("*.ini") if not p.name.startswith("suite-"))
SUITE = sorted(p.name for p in FIXTURES.glob("suite-*.ini"))
# Real inventories that Ansible refuses, and so does fleetcheck: (line, reason).
REFUSED = {"kubespray-local.ini": (15, "[k8s-cluster:children] includes group 'calico-rr', "
                                       "which is defined nowhere")}
# Keys ansible-inventory adds of its own, if any appear (it drops them from --list).
ANSIBLE_MAGIC = {"inventory_file", "inventory_dir", "inventory_hostname",
                 "inventory_hostname_short", "groups", "group_names", "omit", "playbook_dir"}


# -- the oracle ---------------------------------------------------------------------
def _ansible_env(config: Path) -> dict:
    """The caller's environment without its ansible settings, an empty ansible.cfg,
    and a parse failure as a failure (not a warning and an empty inventory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
               ANSIBLE_LOCAL_TEMP=str(config.parent / "tmp"),
               ANSIBLE_HOME=str(config.parent / "home"))
    return env


def _run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=FIXTURES,
                          timeout=120)


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory) -> dict:
    config = tmp_path_factory.mktemp("ansible") / "ansible.cfg"
    config.write_text("")
    return _ansible_env(config)


@pytest.fixture(scope="module")
def oracle(ansible_env) -> dict:
    """name -> (ansible-inventory --list run, ansible all --list-hosts run), all run
    concurrently once for the module."""
    names = REAL + SUITE
    argvs = []
    for name in names:
        argvs.append([str(BIN / "ansible-inventory"), "-i", name, "--list"])
        argvs.append([str(BIN / "ansible"), "all", "-i", name, "--list-hosts"])
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        runs = list(pool.map(lambda argv: _run(argv, ansible_env), argvs))
    return {name: (runs[2 * i], runs[2 * i + 1]) for i, name in enumerate(names)}


def printed_inventory(run: subprocess.CompletedProcess) -> dict:
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout, object_hook=decoded)


def listed_hosts(run: subprocess.CompletedProcess) -> list[str]:
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert re.fullmatch(r"\s*hosts \(\d+\):", lines[0]), lines[:1]
    return [line.strip() for line in lines[1:] if line.strip()]


# -- fleetcheck's side ----------------------------------------------------------------
def read(path: Path | str, text: str | None = None):
    """(builder, inventory, the hosts put directly in 'all', where Ansible's listing
    starts)."""
    builder = InventoryBuilder()
    ini.load(str(path), builder, text)
    direct = list(builder.groups["all"].hosts)
    return builder, builder.finish(), direct


def plain(value):
    return json.loads(json.dumps(value))


def ansible_levels(inventory, direct: list[str]) -> list[list[str]]:
    """The hosts ``ansible all --list-hosts`` prints, level by level, as ansible-core
    walks the groups (Group.get_hosts): 'all''s own hosts, then the hosts of its
    children in their order, then those of the groups one level further down, and so
    on, each host where it is first met. Below the first level Ansible visits the
    groups of a level in the order of a Python set of objects (it changes from run
    to run), so only levels 0 and 1 have a fixed order."""
    groups = inventory.groups
    seen: set[str] = set()
    levels = [[h for h in direct if not (h in seen or seen.add(h))]]
    level = list(groups["all"].children)
    reached = {"all", *level}
    while level:
        hosts = []
        for group in level:
            for host in groups[group].hosts:
                if host not in seen:
                    seen.add(host)
                    hosts.append(host)
        levels.append(hosts)
        below = []
        for group in level:
            for child in groups[group].children:
                if child not in reached:
                    reached.add(child)
                    below.append(child)
        level = below
    return levels


def assert_as_ansible(inventory, direct: list[str], printed: dict, listed: list[str]):
    """Groups (hosts and children, in order), every host's merged vars, and the hosts
    of ``ansible all --list-hosts`` (level by level, levels 0 and 1 in order) equal
    Ansible's."""
    hostvars = printed["_meta"]["hostvars"]
    groups = {name: group for name, group in printed.items() if name != "_meta"}
    for name, group in groups.items():
        ours = inventory.groups[name]
        if name != "all":
            assert ours.hosts == group.get("hosts", []), name
        assert ours.children == group.get("children", []), name
    for name, group in inventory.groups.items():      # Ansible leaves out empty groups
        if name not in groups:
            assert not group.hosts and not group.children, name
    for name, host in inventory.hosts.items():
        theirs = {k: v for k, v in hostvars.get(name, {}).items() if k not in ANSIBLE_MAGIC}
        ours = plain(dict(host.vars))
        if "ansible_group_priority" not in theirs:   # Ansible keeps it out of the vars
            ours.pop("ansible_group_priority", None)
        assert ours == theirs, name
    assert sorted(listed) == sorted(inventory.hosts)
    pos = 0
    for depth, level in enumerate(ansible_levels(inventory, direct)):
        chunk = listed[pos:pos + len(level)]
        if depth <= 1:
            assert chunk == level, depth
        else:
            assert sorted(chunk) == sorted(level), depth
        pos += len(level)
    assert pos == len(listed)


# -- the fixtures, against ansible-core -----------------------------------------------
@pytest.mark.parametrize("name", [n for n in REAL + SUITE if n not in REFUSED])
def test_fixture_reads_as_ansible_reads_it(name, oracle):
    inventory_run, hosts_run = oracle[name]
    _, inventory, direct = read(FIXTURES / name)
    assert_as_ansible(inventory, direct, printed_inventory(inventory_run),
                      listed_hosts(hosts_run))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fixture_ansible_refuses_is_refused(name, oracle):
    inventory_run, _ = oracle[name]
    assert inventory_run.returncode != 0
    assert "Unable to parse" in inventory_run.stderr
    line, reason = REFUSED[name]
    with pytest.raises(InventoryError) as caught:
        read(FIXTURES / name)
    assert caught.value.line == line and reason in caught.value.reason


def test_every_fixture_says_where_it_comes_from():
    readme = (FIXTURES / "README.md").read_text()
    for name in REAL + SUITE:
        assert f"| {name} |" in readme, name
    for name in SUITE:
        assert (FIXTURES / name).read_text().startswith("# Written for this suite"), name
    projects = {"ansible/ansible", "kubernetes-sigs/kubespray", "openshift/openshift-ansible",
                "openstack/kolla-ansible", "roots/trellis", "ceph/ceph-ansible",
                "galaxyproject/infrastructure-playbook", "galaxyproject/usegalaxy-playbook"}
    assert all(f"| {project} |" in readme for project in projects)


def test_real_fixtures_spot_checks():
    """A few facts of the real files, written down (they hold whatever Ansible says)."""
    _, kolla, _ = read(FIXTURES / "kolla-multinode.ini")
    # [iscsid:children] names ironic-conductor before its own section
    assert kolla.groups["iscsid"].children == ["compute", "storage", "ironic-conductor"]
    assert kolla.hosts["localhost"].vars["ansible_connection"] == "local"
    _, examples, _ = read(FIXTURES / "ansible-examples-hosts.ini")
    assert [h for h in examples.hosts if h.startswith("mail")] == \
        [f"mail{i}.example.com" for i in range(6)]
    assert examples.groups["dbservers"].hosts[-3:] == \
        ["db-99-node.example.com", "db-100-node.example.com", "db-101-node.example.com"]
    _, ceph, _ = read(FIXTURES / "ceph-lvm-osds.ini")
    assert ceph.hosts["osd1"].vars["dmcrypt"] == "true"            # inline 'true': a string
    assert ceph.hosts["osd3"].vars["lvm_volumes"][1] == {"data": "data-lv2",
                                                         "data_vg": "test_group"}
    _, typed, _ = read(FIXTURES / "ansible-inventory-ini.ini")
    values = typed.hosts["testhost"].vars
    assert values["value_set"] == [1, 2] and values["value_tuple"] == [1, 2]
    assert values["value_list_with_fallbacks"] == ["...", "1j", [], [1, 2], "x"]


# -- the two places ini.py stands in for Python itself -------------------------------
def _random_texts(alphabet: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            for _ in range(count)]


def test_host_line_words_are_shlex_words():
    """A host line splits as shlex.split(line, comments=True) splits it (what Ansible
    calls), but for a '#' inside a word, which shlex takes as a comment silently."""
    reader = ini._Reader("x.ini", InventoryBuilder())
    lines = _random_texts("ab= \t'\"\\#", 4000, seed=16) + [
        "h a='x y' b=\"c\\\"d\" e=f\\ g", "h ''", 'h ""x', "h a=\\#b", "h #c", "h 'a#b'"]
    for line in lines:
        try:
            expected = shlex.split(line, comments=True)
        except ValueError:
            expected = None
        try:
            words = reader._words(line)
        except InventoryError as exc:
            if "'#' inside a word" in exc.reason:
                assert "#" in line
                continue
            assert expected is None, (line, exc)
        else:
            assert words == expected, line


def test_values_skipped_by_the_fast_path_are_no_python_literals():
    """ini.py types most values (names, paths, addresses) without asking
    ast.literal_eval: for those, literal_eval must fail."""
    texts = _random_texts("aTNbrsue_1.-+/~$ '\"[({,:", 6000, seed=42) + [
        "True", "Truex", "None", "set()", "settings", "b'x'", "rb'x'", "ur'x'", "f'x'",
        "10.0.0.1", "1.2.3", "1.2", ".5", "...", "/usr/bin", "~x", "\u00e9", "_x", "Ｔｒｕｅ"]
    for text in texts:
        if ini._may_be_literal(text):
            continue
        with pytest.raises((ValueError, SyntaxError)):
            ast.literal_eval(text)


# -- unit cases: syntax ---------------------------------------------------------------
def load_text(text: str, name: str = "inv.ini"):
    return read(name, text)[1]


def test_sections_and_hosts_before_any_section():
    inventory = load_text("# comment\n; comment\n\n   \npre1\n[web] # c\nw1\n"
                          "[web:children]\napi  # c\n[api]\na1\n[web:vars]\nx=1\n")
    assert inventory.groups["ungrouped"].hosts == ["pre1"]
    assert inventory.groups["web"].hosts == ["w1"]
    assert inventory.groups["web"].children == ["api"]
    assert inventory.hosts["a1"].vars == {"x": 1}
    assert inventory.hosts["pre1"].vars == {}


def test_group_names_keep_their_characters():
    inventory = load_text("[kube-node]\nk1\n[k8s-cluster:children]\nkube-node\n")
    assert inventory.groups["k8s-cluster"].children == ["kube-node"]


def test_a_section_twice_adds_to_the_first():
    inventory = load_text("[g]\nh1\n[o]\nh2\n[g]\nh3\n[g:vars]\na=1\n[g:vars]\nb=2\n")
    assert inventory.groups["g"].hosts == ["h1", "h3"]
    assert inventory.hosts["h3"].vars == {"a": 1, "b": 2}


def test_children_and_vars_before_their_group():
    inventory = load_text("[apps:children]\nback\nfront\n[front:vars]\nport=80\n"
                          "[front]\nf1\n[back]\nb1\n")
    # Ansible links a pending child when its section comes: front first
    assert inventory.groups["apps"].children == ["front", "back"]
    assert inventory.hosts["f1"].vars == {"port": 80}


def test_a_child_group_from_an_earlier_source(tmp_path):
    yaml_file = tmp_path / "base.yml"
    yaml_file.write_text("all:\n  children:\n    db:\n      hosts:\n        d1:\n")
    builder = InventoryBuilder()
    _FileLoader(str(yaml_file), builder).load()
    ini.load("more.ini", builder, "[site:children]\ndb\n[site:vars]\nx=1\n")
    inventory = builder.finish()
    assert inventory.groups["site"].children == ["db"]
    assert inventory.hosts["d1"].vars == {"x": 1}


def test_all_and_ungrouped_sections():
    inventory = load_text("h1\n[all]\nh2\n[all:vars]\nz=1\n[ungrouped]\nh3\n[g]\nh1\n")
    assert inventory.groups["ungrouped"].hosts == ["h3", "h2"]   # h1 is in g now
    assert inventory.hosts["h2"].vars == {"z": 1}


@pytest.mark.parametrize("line, names", [
    ("web[01:03]", ["web01", "web02", "web03"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("n[1:10:4]", ["n1", "n5", "n9"]),
    ("mail[:2].x", ["mail0.x", "mail1.x", "mail2.x"]),
    ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
    ("10.0.0.[1:2]", ["10.0.0.1", "10.0.0.2"]),
    ("2001:db8::[a:b]", ["2001:db8::a", "2001:db8::b"]),
])
def test_ranges(line, names):
    assert list(load_text(f"[g]\n{line}\n").hosts) == names


@pytest.mark.parametrize("line, host, port", [
    ("web1:2222", "web1", 2222),
    ("10.0.0.1:23", "10.0.0.1", 23),
    ("[web5]:24", "web5", 24),
    ("[fe80::1]:2200", "fe80::1", 2200),
    ("fe80::2", "fe80::2", None),           # no port without brackets
    ("2001:db8::22", "2001:db8::22", None),
    ("::ffff:10.0.0.1", "::ffff:10.0.0.1", None),
])
def test_host_ports_and_ipv6(line, host, port):
    inventory = load_text(f"{line} a=1\n")
    assert list(inventory.hosts) == [host]
    assert inventory.hosts[host].vars.get("ansible_port") == port
    assert inventory.hosts[host].vars["a"] == 1


def test_a_range_with_a_port_and_a_host_listed_again():
    inventory = load_text("[g]\nweb[1:2]:2200 a=1\n[h]\nweb1:2200\nweb2\n")
    assert inventory.hosts["web1"].vars == {"ansible_port": 2200, "a": 1}
    assert inventory.groups["h"].hosts == ["web1", "web2"]


@pytest.mark.parametrize("word, value", [
    ("a=3", 3), ("a=-5", -5), ("a=1.5", 1.5), ("a=1e3", 1000.0), ("a=0x1F", 31),
    ("a=0o17", 15), ("a=1_000", 1000), ("a=00", 0), ("a=03", "03"), ("a=\"'03'\"", "03"),
    ("a=True", True), ("a=true", "true"), ("a=None", None), ("a=yes", "yes"),
    ('a="[1, 2]"', [1, 2]), ("a=\"{'k': (1, 2)}\"", {"k": [1, 2]}), ('a="(1,)"', [1]),
    ('a="{1, 2}"', [1, 2]), ('a="set()"', []), ("a=b'xy'", "bxy"), ("a=\"b'xy'\"", "xy"),
    ("a=1j", "1j"), ("a=...", "..."), ("a=10.0.0.7", "10.0.0.7"), ("a=1.2.3", "1.2.3"),
    ("a=/usr/bin/python3", "/usr/bin/python3"), ("a={{x}}", "{{x}}"), ("a=", ""),
    ('a="hello world"', "hello world"), ("a='it is'", "it is"), ("a=a\\ b", "a b"),
    ('a="say \\"hi\\""', 'say "hi"'), ('a="p\\q"', "p\\q"), ("a=a=b", "a=b"),
    ('a=" 7"', 7), ("a=héllo", "héllo"), ("a='#x'", "#x"), ("a=x # comment", "x"),
])
def test_inline_value_typing(word, value):
    assert load_text(f"h {word}\n").hosts["h"].vars["a"] == value


@pytest.mark.parametrize("line, value", [
    ("a=23", 23), ("a = spaced value ", "spaced value"), ("a='quoted'", "quoted"),
    ('a="dq"', "dq"), ("a=True", True), ("a=false", "false"), ("a=1,2", [1, 2]),
    ("a=", ""), ("a=8080 # a comment after a literal", 8080), ("a=['x', 'y']", ["x", "y"]),
    ("a=a=b=c", "a=b=c"), ("a=abc#123", "abc#123"), ("a=https://x/?y=1", "https://x/?y=1"),
    ("a={{ lookup('env', 'HOME') }}", "{{ lookup('env', 'HOME') }}"),
    ("a=" + "[" * 300 + "]" * 300, "[" * 300 + "]" * 300),   # too deep for Python: text
])
def test_vars_section_value_typing(line, value):
    assert load_text(f"[g]\nh\n[g:vars]\n{line}\n").hosts["h"].vars["a"] == value


def test_tabs_blanks_and_line_ends():
    lf = "[g]\nh1\ta=1\t  b=2\n  h2  \n\n[g:vars]\nc=3\n"
    for text in (lf, lf.replace("\n", "\r\n"), lf.replace("\n", "\r")):
        inventory = load_text(text)
        assert list(inventory.hosts) == ["h1", "h2"]
        assert inventory.hosts["h1"].vars == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(InventoryError) as caught:
        load_text(lf.replace("\n", "\r\n") + "bad_ line:\r\n")
    assert caught.value.line == 7


def test_the_file_is_read_when_no_text_is_given(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"\xef\xbb\xbf[g]\r\nh1 a=1\r\n")
    builder = InventoryBuilder()
    ini.load(str(path), builder)
    assert builder.finish().hosts["h1"].vars == {"a": 1}
    assert builder.sources == [str(path)]
    assert list(load_text("\ufeff[g]\nh2\n").hosts) == ["h2"]


@pytest.mark.parametrize("make, reason", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"[g]\nh\n# caf\xe9\n"), "not UTF-8 text"),
])
def test_file_errors_are_the_yaml_loaders(tmp_path, make, reason):
    path = tmp_path / "inv"
    make(path)
    with pytest.raises(InventoryError) as caught:
        ini.load(str(path), InventoryBuilder())
    assert reason in str(caught.value) and str(caught.value).startswith(str(path))


def test_vars_are_checked_and_warned_about_as_the_yaml_loader_does():
    with pytest.raises(InventoryError) as caught:
        load_text("[g]\nh\nweb ansible_port=99999\n")
    assert str(caught.value).startswith("inv.ini:3: host 'web': ansible_port")
    with pytest.raises(InventoryError) as caught:
        load_text("[g]\nh\n[g:vars]\nansible_port=0\n")
    assert str(caught.value).startswith("inv.ini:4: group 'g': ansible_port")
    builder, _, _ = read("inv.ini", "[g]\nh capacty=1\n[g:vars]\ncapacty=2\n")
    assert builder.var_warnings == [
        "inv.ini:2: host 'h': capacty: not a var fleetcheck reads; did you mean capacity?",
        "inv.ini:4: group 'g': capacty: not a var fleetcheck reads; did you mean capacity?"]


def test_a_host_port_is_checked_as_the_yaml_loader_does():
    for line in ("web:0", "web:70000", "web:" + "9" * 30):
        with pytest.raises(InventoryError) as caught:
            load_text(f"{line}\n")
        assert caught.value.line == 1 and "ansible_port: expected a port" in caught.value.reason


def test_a_port_on_a_host_from_an_earlier_source(tmp_path):
    yaml_file = tmp_path / "base.yml"
    yaml_file.write_text("all:\n  hosts:\n    w1:\n      ansible_port: 2222\n    w2:\n")
    builder = InventoryBuilder()
    _FileLoader(str(yaml_file), builder).load()
    ini.load("more.ini", builder, "[g]\nw1:2222\n")
    assert builder.finish().hosts["w1"].vars["ansible_port"] == 2222
    builder = InventoryBuilder()
    _FileLoader(str(yaml_file), builder).load()
    with pytest.raises(InventoryError) as caught:
        ini.load("more.ini", builder, "[g]\nw2:2200\n")
    assert "is listed without a port" in str(caught.value)


# -- errors: Ansible refuses these too ------------------------------------------------
ANSIBLE_REFUSES = {
    "unknown_type": ("[e1:host]\ne1h\n", 1, "has unknown type 'host'"),
    "bad_section": ("[e2 x]\n", 1, "invalid section line"),
    "bracket_line": ("e3h\n[fe80::e3]\n", 2, "invalid section line"),
    "bad_child": ("[e4]\ne4h\n[e4p:children]\ne4 x\n", 4, "expected a group name"),
    "child_semicolon": ("[e5]\ne5h\n[e5p:children]\ne5 ; c\n", 4, "expected a group name"),
    "var_no_equals": ("[e6]\ne6h\n[e6:vars]\nfoo\n", 4, "expected key=value in section"),
    "unclosed_quote": ('e7h a="x\n', 1, "no closing quotation"),
    "trailing_backslash": ("e8h a=x\\\n", 1, "no escaped character"),
    "word_no_equals": ("e9h a=1 b\n", 1, "expected key=value after the host pattern"),
    "semicolon_word": ("e10h a=1 ; c\n", 1, "expected key=value after the host pattern"),
    "ends_in_colon": ("e11h:\n", 1, "ends in ':'"),
    "ipv6_ends_in_colon": ("fe80:e12::\n", 1, "ends in ':'"),
    "yaml_marker": ("---\n", 1, "'---'"),
    "step_zero": ("e14h[1:2:0]\n", 1, "step must be a positive integer"),
    "unequal_width": ("e15h[001:20]\n", 1, "same width"),
    "hex_range": ("fe80::e16:[0a:ff]\n", 1, "must both be numbers"),
    "letters_reversed": ("e17h[f:a]\n", 1, "expands to nothing"),
    "undefined_child": ("[e18p:children]\ne18c\n", 2, "includes group 'e18c'"),
    "undefined_vars": ("[e19:vars]\nx=1\n", 1, "[e19:vars] is for group 'e19'"),
    "vars_group_only_a_child": ("[e20:vars]\nx=1\n[e20p:children]\ne20\n", 1,
                                "[e20:vars] is for group 'e20'"),
    "unhashable": ('e21h a="{[1]: 2}"\n', 1, "TypeError: unhashable type"),
    "empty_name": ('"" e22=1\n', 1, "empty host name"),
    "own_child": ("[e23]\ne23h\n[e23:children]\ne23\n", 4, "is its own ancestor"),
    "cycle": ("[e24a]\ne24h\n[e24a:children]\ne24b\n[e24b:children]\ne24a\n", 6,
              "is its own ancestor"),
}
# Ansible accepts these silently and does something doubtful; fleetcheck refuses.
ANSIBLE_ACCEPTS = {
    "hash_in_word": ("d1h pass=ab#cd\n", 1, "'#' inside a word"),
    "hash_after_name": ("d2h#c\n", 1, "'#' inside a word"),
    "comment_in_vars_value": ("[d3]\nd3h\n[d3:vars]\nenv = prod # live\n", 4,
                              "keeps the '#'"),
    "var_again_other_value": ("d4h a=1\n[d4]\nd4h a=2\n", 3, "a is set again"),
    "var_twice_on_a_line": ("d5h a=1 a=2\n", 1, "a is given twice"),
    "group_var_again": ("[d6]\nd6h\n[d6:vars]\na=1\na=2\n", 5, "a is set again"),
    "port_on_a_later_line": ("d8h\n[d8]\nd8h:2222\n", 3, "is listed without a port"),
    "port_changed": ("d9h:22\n[d9]\nd9h:2222\n", 3, "is listed with port 22"),
    "port_in_the_name": ("d10h_:22\n", 1, "not an address Ansible can split a port from"),
    "range_then_port": ("d11h[:3]:22\n", 1, "not an address Ansible can split a port from"),
    "var_as_host": ("d12=b\n", 1, "holds '='"),
    "two_ports": ("[d13h:22]:23\n", 1, "has two ports"),
    "empty_range": ("d14h[05:01]\n", 1, "expands to nothing"),
    "bad_var_name": ("d15h my-var=1\n", 1, "'my-var' is not a valid variable name"),
    "jinja_var_name": ("d16h none=1\n", 1, "'none' is not a valid variable name"),
    "set_of_strings": ("d17h s=\"{'a', 'b'}\"\n", 1, "a set literal of strings"),
    "mapping_key_int": ('d18h d="{1: 2}"\n', 1, "the mapping key 1 is not a string"),
    "bytes_not_utf8": ("d19h b=\"b'\\xff'\"\n", 1, "are not UTF-8 text"),
    "lone_surrogate": ("d20h s=\"'\\ud800'\"\n", 1, "lone surrogate"),
    "nul": ("d21h a=1\x00\n", 1, "character U+0000"),
    "vertical_tab": ("d22h a=1\x0bd22x=2\n", 1, "character U+000B"),
    "line_separator": ("d23h\nd23i a=1\u2028d23x\n", 2, "character U+2028"),
    "port_zero": ("d24h:0\n", 1, "ansible_port: expected a port number"),
    "port_too_big": ("d25h:99999\n", 1, "ansible_port: expected a port number"),
}


@pytest.fixture(scope="module")
def ansible_on_the_cases(ansible_env, tmp_path_factory) -> tuple[dict, str]:
    """Every error case as a file, and what one ansible-inventory run over all of them
    says (each case names its own groups and hosts: they cannot meet)."""
    where = tmp_path_factory.mktemp("cases")
    paths = {}
    for name, (text, _, _) in {**ANSIBLE_REFUSES, **ANSIBLE_ACCEPTS}.items():
        paths[name] = where / f"{name}.ini"
        paths[name].write_text(text, newline="")
    env = {**ansible_env, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "false"}
    argv = [str(BIN / "ansible-inventory"), "--list"]
    for path in paths.values():
        argv += ["-i", str(path)]
    run = _run(argv, env)
    assert run.returncode == 0, run.stderr[-2000:]
    return paths, run.stderr


def _refused(path: Path, text: str) -> InventoryError:
    """The error of reading ``text`` as ``path``; reading the file itself says the
    same."""
    with pytest.raises(InventoryError) as given:
        read(path, text)
    with pytest.raises(InventoryError) as read_here:
        read(path)
    assert str(read_here.value) == str(given.value)
    return given.value


@pytest.mark.parametrize("name", sorted(ANSIBLE_REFUSES))
def test_what_ansible_refuses_is_refused(name, ansible_on_the_cases):
    paths, stderr = ansible_on_the_cases
    assert f"Unable to parse {paths[name]} as an inventory source" in stderr
    text, line, reason = ANSIBLE_REFUSES[name]
    error = _refused(paths[name], text)
    assert (error.file, error.line) == (str(paths[name]), line)
    assert reason in error.reason and "\n" not in str(error)
    assert str(error).startswith(f"{paths[name]}:{line}: ")


@pytest.mark.parametrize("name", sorted(ANSIBLE_ACCEPTS))
def test_what_ansible_accepts_doubtfully_is_refused(name, ansible_on_the_cases):
    paths, stderr = ansible_on_the_cases
    assert f"Unable to parse {paths[name]}" not in stderr
    text, line, reason = ANSIBLE_ACCEPTS[name]
    error = _refused(paths[name], text)
    assert (error.file, error.line) == (str(paths[name]), line)
    assert reason in error.reason and "\n" not in str(error)


def test_group_all_as_a_child_is_refused():
    # Ansible fails the whole run here (a loop once 'all' adopts the group)
    with pytest.raises(InventoryError) as caught:
        load_text("[g]\nh\n[g:children]\nall\n")
    assert caught.value.line == 4 and "cannot be a child" in caught.value.reason


# -- hostile input ----------------------------------------------------------------------
MB = 1 << 20


@pytest.mark.parametrize("text, outcome", [
    ("h" * MB + "\n", "h" * MB),                                   # a 1 MB host name
    ("h a=" + "x" * MB + "\n", "h"),                               # a 1 MB plain value
    ('h a="' + "x" * MB + "\n", "no closing quotation"),
    ("h " + "a=1 " * (MB // 4) + "\n", "more than 100000 vars on one line"),
    ('h a="[' + "1," * 150_000 + ']"\n', "fleetcheck's limit for a value"),
    ('h a="[' + "1," * 100_001 + ']"\n', "holds 100002 values"),
    ("[g]\nh\n[g:vars]\na=[" + "1," * 100_001 + "]\n", "holds 100002 values"),
    ('h a="' + "-" * 100_000 + '1"\n', "Ansible cannot read the value"),
    ("h a=" + "y" * 100_000 + "\n", "h"),                          # a 100k-character value
    ("h a=\"'" + "y" * 100_000 + "'\"\n", "h"),
    ("web[1:1000000]\n", "expands to 1000000 hosts"),
    ("w[1:1000]x[1:1000]\n", "expands to 1000000 hosts"),
    ("a." * (MB // 2) + "b\n", "a." * (MB // 2) + "b"),
    ("a" * MB + "-:22\n", "not an address"),
    (":" * MB + "\n", "ends in ':'"),
    ("[" + "g" * MB + "]\nh\n", "h"),
    ("[" + "g" * MB + "\n", "unterminated host range"),
    ("h a=1\n" * 3 + "\x00" * MB, "character U+0000"),
])
def test_hostile_input_stays_bounded(text, outcome):
    start = time.monotonic()
    try:
        inventory = load_text(text)
    except InventoryError as exc:
        assert outcome in exc.reason and "\n" not in str(exc)
        assert len(str(exc)) <= 700
    else:
        assert outcome in inventory.hosts
    assert time.monotonic() - start < 10


def test_a_large_inventory_reads_in_time():
    lines = "".join(f"host{i}.example.com ansible_host=10.0.{i // 256 % 256}.{i % 256} "
                    f"rack=r{i % 7} weight={i}\n" for i in range(20_000))
    start = time.monotonic()
    inventory = load_text("[g]\n" + lines + "[g:vars]\nsite=x\n")
    assert len(inventory.hosts) == 20_000
    assert inventory.hosts["host19999.example.com"].vars["weight"] == 19999
    assert time.monotonic() - start < 20


# -- routing ---------------------------------------------------------------------------
def test_looks_like_ini():
    for name in REAL + SUITE:
        assert ini.looks_like_ini((FIXTURES / name).read_text()), name
    for path in YAML_FIXTURES.glob("*.yml"):
        assert not ini.looks_like_ini(path.read_text()), path.name
    for text in ('{"all": {}}', "---\nall:\n", "%YAML 1.2\n---\n", "- a\n", "", "# only\n",
                 "all:\n  hosts:\n", "web: # comment\n"):
        assert not ini.looks_like_ini(text), text
    for text in ("h1\n", "h1:2222 a=1\n", "\ufeff[web]\n", "fe80::1\n", "h a=1 # x: y\n",
                 "; c\n[g:children]\n"):
        assert ini.looks_like_ini(text), text


def test_an_explicit_ansible_port_beats_the_port_in_the_name(tmp_path):
    """`db:5432 ansible_port=2202` (a name written with its service port): Ansible
    connects to 2202, and so does fleetcheck."""
    path = tmp_path / "hosts.ini"
    path.write_text("[db]\ndb.example.com:5432 ansible_port=2202\ndb2.example.com:5433\n")
    builder = InventoryBuilder()
    ini.load(str(path), builder)
    hosts = builder.finish().hosts
    assert (hosts["db.example.com"].port, hosts["db2.example.com"].port) == (2202, 5433)
