"""Hostile inventories: every one is refused with ONE short line (file:line where there
is one), quickly and in little memory -- never a traceback, never gigabytes.

Memory is measured with tracemalloc (the peak of Python allocations while loading);
no test asserts a duration. The limits are in fleetcheck/inventory/errors.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import sys
import textwrap
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fleetcheck.inventory import HostEntry, InventoryError, SourceOptions, build, errors, \
    http, load, script
from fleetcheck.inventory.build import InventoryBuilder
from fleetcheck.inventory.dynamic import add_json
from fleetcheck.report import waivers

MB = 1024 * 1024
MAX_PEAK = 200 * MB


def write(tmp_path, text: str, name: str = "inv.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def bounded(call, *args, **kwargs):
    """``call(...)``'s result or InventoryError, and the peak of memory it allocated."""
    tracemalloc.start()
    try:
        try:
            result = call(*args, **kwargs)
        except InventoryError as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK, f"{peak / MB:.0f} MB allocated"
    return result


def refused(*paths, options=None) -> str:
    """The one line a load of ``paths`` is refused with (in bounded memory)."""
    result = bounded(load, list(paths), options)
    assert isinstance(result, InventoryError), f"loaded {len(result.hosts)} hosts"
    text = str(result)
    assert "\n" not in text and "\r" not in text
    assert len(text) <= errors.MAX_REASON + errors.MAX_FILE_SHOWN + 20
    return text


def script_file(tmp_path, body: str, name: str = "inv.sh") -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def json_script(tmp_path, text: str) -> str:
    (tmp_path / "inv.json").write_text(text)
    return script_file(tmp_path, 'exec cat "$(dirname "$0")/inv.json"\n')


# -- host counts ------------------------------------------------------------------------


def test_a_huge_range_is_counted_not_built(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    web[0:99999999]:\n")
    assert refused(path) == (f"{path}:3: host pattern 'web[0:99999999]' expands to "
                             "100000000 hosts (more than 100000)")


def test_a_range_product_is_counted_not_built(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    r[0:9999]n[0:9999]s[0:9999]:\n")
    assert "expands to 1000000000000 hosts (more than 100000)" in refused(path)


def test_range_numbers_of_any_length(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    ? web[1:" + "9" * 5000 + "]\n")
    assert refused(path).startswith(f"{path}:3: malformed host range '[1:99999999999")
    assert "a number has more than 18 digits" in refused(path)


def test_a_port_of_any_length(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    ? web1:" + "2" * 5000 + "\n")
    text = refused(path)
    assert text.startswith(f"{path}:3: host 'web1:2222")
    assert "ansible_port: expected a port number 1-65535, got '2222" in text


def test_the_host_limit_is_checked_while_adding(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "MAX_HOSTS", 1000)
    added = []
    real_add = InventoryBuilder.add_host

    def counting(self, name, *args, **kwargs):
        real_add(self, name, *args, **kwargs)
        added.append(name)

    monkeypatch.setattr(InventoryBuilder, "add_host", counting)
    path = write(tmp_path, dedent("""
        all:
          hosts:
            web[1:600]:
            db[1:600]:
            never[1:600]:
        """))
    assert refused(path) == (f"{path}:4: more than 1000 hosts (the limit of one inventory); "
                             "split the fleet into several inventories")
    assert len(added) == 1000 and added[-1] == "db400"


def test_the_host_limit_holds_for_dynamic_inventories(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "MAX_HOSTS", 10)
    path = json_script(tmp_path, json.dumps({"web": [f"w{i}" for i in range(11)]}))
    assert refused(path) == (f"{path}: more than 10 hosts (the limit of one inventory); "
                             "split the fleet into several inventories")


def test_the_default_host_limit():
    assert errors.MAX_HOSTS == 1_000_000 and build.MAX_HOSTS == errors.MAX_HOSTS


# -- aliases and merged vars ------------------------------------------------------------

BILLION_LAUGHS = dedent("""
    all:
      vars:
        a: &a {x1: 1, x2: 1, x3: 1, x4: 1, x5: 1, x6: 1, x7: 1, x8: 1, x9: 1}
        b: &b {x1: *a, x2: *a, x3: *a, x4: *a, x5: *a, x6: *a, x7: *a, x8: *a, x9: *a}
        c: &c {x1: *b, x2: *b, x3: *b, x4: *b, x5: *b, x6: *b, x7: *b, x8: *b, x9: *b}
        d: &d {x1: *c, x2: *c, x3: *c, x4: *c, x5: *c, x6: *c, x7: *c, x8: *c, x9: *c}
        e: &e {x1: *d, x2: *d, x3: *d, x4: *d, x5: *d, x6: *d, x7: *d, x8: *d, x9: *d}
        f: &f {x1: *e, x2: *e, x3: *e, x4: *e, x5: *e, x6: *e, x7: *e, x8: *e, x9: *e}
        g: &g {x1: *f, x2: *f, x3: *f, x4: *f, x5: *f, x6: *f, x7: *f, x8: *f, x9: *f}
        h: &h {x1: *g, x2: *g, x3: *g, x4: *g, x5: *g, x6: *g, x7: *g, x8: *g, x9: *g}
        i: &i {x1: *h, x2: *h, x3: *h, x4: *h, x5: *h, x6: *h, x7: *h, x8: *h, x9: *h}
        lol: *i
      children:
        web:
          vars:
            lol: *i
          hosts:
            web[1:1000]:
              lol: *i
    """)


def test_billion_laughs(tmp_path):
    path = write(tmp_path, BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 1500
    assert refused(path) == (f"{path}:8: YAML aliases expand to more than 500000 nodes (the "
                             "limit of an inventory file; a 'billion laughs' file?)")


def test_a_recursive_alias(tmp_path):
    path = write(tmp_path, "all: &g\n  children:\n    a: *g\n")
    assert refused(path) == (f"{path}:3: alias *g refers to a node that contains it "
                             "(a recursive structure)")


def test_a_recursive_alias_in_vars(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    x: &x [1, *x]\n")
    assert refused(path) == (f"{path}:3: alias *x refers to a node that contains it "
                             "(a recursive structure)")


def test_aliases_below_the_limit_are_shared_not_copied(tmp_path):
    # 9**3 = 729 values through aliases, in the vars of every host of a 2000-host range
    text = "\n".join(BILLION_LAUGHS.splitlines()[:6]) + "\n" + textwrap.indent(dedent("""
        children:
          web:
            vars: {lol: *d}
            hosts:
              web[1:2000]: {lol: *d}
        """), "  ")
    inventory = bounded(load, [write(tmp_path, text)])
    assert len(inventory.hosts) == 2000
    assert inventory.hosts["web7"].vars["lol"]["x9"]["x1"]["x5"] == {
        f"x{i}": 1 for i in range(1, 10)}


def test_one_host_with_too_many_values(tmp_path):
    # 250 aliases of a 1000-item list: 250,000 values in one host's vars
    items = ", ".join(["1"] * 999)
    path = write(tmp_path, dedent(f"""
        all:
          vars:
            base: &base [{items}]
          hosts:
            h1:
              many: [{", ".join(["*base"] * 250)}]
        """))
    assert refused(path) == (f"{path}: the merged vars of host 'h1' hold 251002 values "
                             "(more than 100000, the limit of one host)")


def test_a_group_var_times_many_hosts(tmp_path, monkeypatch):
    # 20,000 hosts x a 2,000-value group var, merged with a mapping of each host's own:
    # 40 million values once written out per host, shared here (one merge per range).
    # (Mappings merge with hash_behaviour=merge; Ansible's default replaces them.)
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "merge")
    items = ", ".join(["1"] * 1998)
    path = write(tmp_path, dedent(f"""
        all:
          vars:
            big: [{items}]
            cfg: {{a: [{items}], b: 1}}
          hosts:
            web[1:20000]: {{cfg: {{b: 2}}}}
        """))
    inventory = bounded(load, [path])
    web1, web2 = inventory.hosts["web1"], inventory.hosts["web2"]
    assert dict.__getitem__(web1.vars, "cfg") is dict.__getitem__(web2.vars, "cfg")
    assert web1.vars["cfg"]["b"] == 2 and len(web2.vars["cfg"]["a"]) == 1998


def test_merging_for_many_sets_of_groups_is_bounded(tmp_path, monkeypatch):
    # Every host in its own set of groups, each group with a mapping the others merge
    # into (hash_behaviour=merge): the merge for each set is new. The limit is lowered
    # to see it stop.
    monkeypatch.setenv("ANSIBLE_HASH_BEHAVIOUR", "merge")
    monkeypatch.setattr(build, "MAX_MERGED_ENTRIES", 200_000)
    keys = ", ".join(f"k{i}: 1" for i in range(500))
    groups = "".join(f"    g{g}:\n      vars: {{cfg: {{{keys}, own{g}: 1}}}}\n"
                     for g in range(12))
    hosts = "".join(f"    h{h}: {{}}\n" for h in range(4096))
    member = "".join(f"g{g}:\n  hosts:\n" + "".join(
        f"    h{h}:\n" for h in range(4096) if h >> g & 1) for g in range(12))
    path = write(tmp_path, "all:\n  hosts:\n" + hosts + "  children:\n" + groups + member)
    text = refused(path)
    assert text.startswith(f"{path}: merging the vars of the hosts makes more than 200000 "
                           "entries (the limit of one inventory; reached at host 'h")


def test_the_default_merge_limit():
    assert build.MAX_MERGED_ENTRIES == errors.MAX_MERGED_ENTRIES == 50_000_000


def test_large_shared_group_vars_cost_one_copy(tmp_path):
    items = ", ".join(["1"] * 500)
    path = write(tmp_path, dedent(f"""
        all:
          vars:
            big: [{items}]
            nested: {{a: {{b: [{items}]}}}}
          hosts:
            web[1:20000]:
        """))
    inventory = bounded(load, [path])
    web1, web2 = inventory.hosts["web1"], inventory.hosts["web2"]
    # the same object behind both hosts' vars until one of them reads it
    assert dict.__getitem__(web1.vars, "big") is dict.__getitem__(web2.vars, "big")


# -- the shared vars cannot be changed through another host -----------------------------

SHARED = dedent("""
    all:
      vars:
        ntp: {servers: [a, b], opts: {iburst: true}}
        exports: [{path: /srv, clients: [10.0.0.0/8]}]
        tags: !!set {x, y}
      children:
        web:
          hosts:
            web1:
            web2:
            web3: {ntp: {servers: [c]}}
    """)


@pytest.fixture
def shared(tmp_path):
    return load([write(tmp_path, SHARED)])


def test_changing_one_host_leaves_the_others(shared):
    web1, web2 = shared.hosts["web1"], shared.hosts["web2"]
    web1.vars["ntp"]["servers"].append("evil")
    web1.vars["ntp"]["opts"]["iburst"] = False
    web1.vars.get("exports")[0]["clients"].append("0.0.0.0/0")
    for export in web1.vars["exports"]:
        export["path"] = "/"
    web1.vars["tags"].add("z")
    web1.vars["new"] = 1
    web1.vars.setdefault("ntp", {})["extra"] = 1
    assert web1.vars["ntp"] == {"servers": ["a", "b", "evil"], "opts": {"iburst": False},
                                "extra": 1}
    assert web1.vars["exports"] == [{"path": "/", "clients": ["10.0.0.0/8", "0.0.0.0/0"]}]
    assert web2.vars["ntp"] == {"servers": ["a", "b"], "opts": {"iburst": True}}
    assert web2.vars["exports"] == [{"path": "/srv", "clients": ["10.0.0.0/8"]}]
    assert web2.vars["tags"] == {"x", "y"} and "new" not in web2.vars
    # Ansible's hash_behaviour=replace: web3's own ntp replaces the group's whole
    assert shared.hosts["web3"].vars["ntp"] == {"servers": ["c"]}
    assert shared.group_vars("all")["ntp"] == {"servers": ["a", "b"], "opts": {"iburst": True}}


def test_shared_objects_reached_otherwise_are_read_only(shared):
    web1, web2 = shared.hosts["web1"], shared.hosts["web2"]
    for value in list(web1.vars.values()) + [v for _, v in web1.vars.items()]:
        with pytest.raises((TypeError, AttributeError)):
            value.clear()
    ntp = dict.__getitem__(web1.vars, "ntp")
    for change in (lambda: ntp.update(x=1), lambda: ntp.__setitem__("x", 1),
                   lambda: ntp.pop("servers"), lambda: ntp["servers"].append("x"),
                   lambda: ntp["servers"].sort(), lambda: ntp["servers"].__iadd__(["x"]),
                   lambda: ntp["opts"].setdefault("x", 1)):
        with pytest.raises(TypeError, match="shared between hosts and read-only"):
            change()
    with pytest.raises(TypeError):
        shared.groups["all"].vars["ntp"] = {}
    assert web2.vars["ntp"] == {"servers": ["a", "b"], "opts": {"iburst": True}}


def test_copies_of_vars_are_plain_and_independent(shared):
    web1 = shared.hosts["web1"]
    deep = copy.deepcopy(web1.vars)
    assert type(deep) is dict and type(deep["ntp"]) is dict
    assert type(deep["ntp"]["servers"]) is list and type(deep["exports"][0]) is dict
    deep["ntp"]["servers"].append("x")
    assert web1.vars["ntp"]["servers"] == ["a", "b"]
    again = pickle.loads(pickle.dumps(web1.vars))
    assert again == web1.vars
    assert json.loads(json.dumps(web1.vars, default=sorted)) == {
        "ntp": {"servers": ["a", "b"], "opts": {"iburst": True}},
        "exports": [{"path": "/srv", "clients": ["10.0.0.0/8"]}], "tags": ["x", "y"]}


def test_base_vars_are_shared_read_only(tmp_path):
    from fleetcheck.inventory import sources

    base = {"capacity": {"disk": {"usage_pct": {"warn": 85, "crit": 95}}}}
    path = write(tmp_path, "all:\n  hosts:\n    a:\n    b: {capacity: {disk: {mounts: {x: {}}}}}\n")
    inventory = sources.load([path], base_vars=base)
    a, b = inventory.hosts["a"], inventory.hosts["b"]
    a.vars["capacity"]["disk"]["usage_pct"]["warn"] = 1
    assert b.vars["capacity"] == {"disk": {"usage_pct": {"warn": 85, "crit": 95}, "mounts": {"x": {}}}}
    assert base == {"capacity": {"disk": {"usage_pct": {"warn": 85, "crit": 95}}}}


# -- nesting ----------------------------------------------------------------------------


def test_deep_flow_lists(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    deep: " + "[" * 500 + "]" * 500 + "\n")
    assert refused(path) == (f"{path}:3: lists and mappings nested more than 100 levels deep "
                             "(the limit of an inventory)")


def test_very_deep_flow_lists(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    deep: " + "[" * 200_000 + "\n")
    assert "nested more than 100 levels deep" in refused(path)


def test_nesting_at_the_limit_loads(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    deep: " + "[" * 97 + "]" * 97 + "\n")
    assert bounded(load, [path]).hosts == {}


def test_nested_child_groups(tmp_path):
    lines, indent = ["all:"], "  "
    for level in range(300):
        lines += [f"{indent}children:", f"{indent}  g{level}:"]
        indent += "    "
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert refused(path) == (f"{path}:101: lists and mappings nested more than 100 levels "
                             "deep (the limit of an inventory)")


def test_a_chain_of_groups(tmp_path):
    path = write(tmp_path, "".join(f"g{i}:\n  children:\n    g{i + 1}:\n" for i in range(1000)))
    assert refused(path) == (f"{path}:300: group 'g100' is 101 levels below 'all' (more than "
                             "100, the limit of an inventory)")


def test_a_chain_of_groups_within_the_limit(tmp_path):
    text = "".join(f"g{i}:\n  children:\n    g{i + 1}:\n" for i in range(99))
    path = write(tmp_path, text + "g99:\n  hosts:\n    h1:\n  vars: {x: 1}\n")
    host = bounded(load, [path]).hosts["h1"]
    assert host.groups[:3] == ["all", "g0", "g1"] and len(host.groups) == 101
    assert host.vars == {"x": 1}


def test_a_long_cycle_of_groups(tmp_path):
    cycle = {f"g{i}": {"children": [f"g{(i + 1) % 1000}"]} for i in range(1000)}
    path = json_script(tmp_path, json.dumps(cycle))
    assert refused(path) == (
        f"{path}: group 'g0' is its own ancestor: g0 -> g1 -> g2 -> g3 -> g4 -> g5 -> "
        "... (989 more) -> g995 -> g996 -> g997 -> g998 -> g999 -> g0")


def test_a_chain_of_groups_from_a_script(tmp_path):
    chain = {f"g{i}": {"children": [f"g{i + 1}"]} for i in range(1000)}
    path = json_script(tmp_path, json.dumps(chain))
    assert refused(path) == (f"{path}: group 'g100' is 101 levels below 'all' (more than "
                             "100, the limit of an inventory)")


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deep_json_from_a_script(tmp_path, depth):
    path = json_script(tmp_path, '{"all": {"vars": {"x": ' + "[" * depth + "]" * depth + "}}}")
    assert refused(path) == (f"{path}: the inventory script printed JSON that fleetcheck "
                             "refuses: lists and objects nested more than 100 levels deep "
                             "(the limit of an inventory)")


def test_deep_json_added_directly():
    data = {"all": {"vars": {"x": []}}}
    inner = data["all"]["vars"]["x"]
    for _ in range(5000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(InventoryError, match=r"^src: not an Ansible dynamic inventory: lists "
                       r"and objects nested more than 100 levels deep"):
        add_json(data, "src", InventoryBuilder())


# -- scalars PyYAML and json choke on ---------------------------------------------------


def test_a_huge_integer_in_yaml(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    ok: 1\n    big: " + "1" * 5000 + "\n")
    assert refused(path) == (
        f"{path}:4: YAML value error: the integer '" + "1" * 76 + "... (5002 characters) "
        f"has more than {sys.get_int_max_str_digits()} digits")


def test_a_huge_integer_as_a_key(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    x:\n      ? " + "7" * 5000 + "\n      : 1\n")
    assert "YAML value error: the integer '777" in refused(path)


def test_a_huge_integer_in_json(tmp_path):
    path = json_script(tmp_path, '{"all": {"vars": {"x": ' + "1" * 5000 + "}}}")
    assert refused(path) == (f"{path}: the inventory script printed JSON that fleetcheck "
                             f"refuses: an integer has more than "
                             f"{sys.get_int_max_str_digits()} digits")


@pytest.mark.parametrize("value,reason", [
    ("!!float x", "'x' is not a valid float"),
    ("!!bool maybe", "'maybe' is not a valid bool"),
    ("!!timestamp nope", "'nope' is not a valid date"),
    ("!!int abc", "'abc' is not a valid int"),
    ("2026-13-01 10:00:00", "'2026-13-01 10:00:00' is not a valid date: month must be in 1..12"),
])
def test_scalars_pyyaml_cannot_read(tmp_path, value, reason):
    path = write(tmp_path, f"all:\n  vars:\n    ok: 1\n    x: {value}\n")
    assert refused(path) == f"{path}:4: YAML value error: {reason}"


def test_an_impossible_date_in_vars(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    since: 2026-02-30\n  hosts:\n    h1:\n")
    assert refused(path) == (f"{path}:3: YAML value error: '2026-02-30' is not a valid date: "
                             "day is out of range for month")


def test_an_impossible_expiry_date_in_yaml(tmp_path):
    path = write(tmp_path, dedent("""
        all:
          vars:
            fleetcheck_waivers:
              - check: "sshd.*"
                reason: legacy
                expires: 2026-13-01
          hosts:
            h1:
        """))
    assert refused(path) == (f"{path}:6: YAML value error: '2026-13-01' is not a valid date: "
                             "month must be in 1..12")


def waiver_error(waiver: dict) -> str:
    host = HostEntry(name="h1", vars={"fleetcheck_waivers": [waiver]}, groups=["all"],
                     source="inv.json")
    with pytest.raises(InventoryError) as info:
        waivers.load({"h1": host}, today=dt.date(2026, 1, 1))
    text = str(info.value)
    assert "\n" not in text and len(text) < 500
    return text


@pytest.mark.parametrize("expires,detail", [
    ("2026-13-01", ": month must be in 1..12"),
    ("2026-02-30", ": day is out of range for month"),
    ("next year", ""),
])
def test_an_impossible_expiry_date_from_json(expires, detail):
    assert waiver_error({"check": "sshd.*", "reason": "r", "expires": expires}) == (
        f"inv.json: fleetcheck_waivers[0] of host 'h1': expires {expires!r} is not a date "
        f"(YYYY-MM-DD){detail}")


def test_waiver_values_are_cut():
    text = waiver_error({"check": "x" * 100_000, "reason": "r", "expires": "2027-01-01"})
    assert "check pattern 'xxxx" in text and "(100002 characters)" in text


def test_a_waiver_cannot_read_controller_files():
    text = waiver_error({"check": "sshd.*", "reason": "r", "expires": "2027-01-01",
                         "hosts": "web:@/etc/shadow"})
    assert text == ("inv.json: fleetcheck_waivers[0] of host 'h1': hosts pattern "
                    "'web:@/etc/shadow': '@file' is for --limit, not for a waiver")


# -- values in messages are cut ---------------------------------------------------------


def test_long_names_and_values_are_cut(tmp_path):
    name, value = "h" * 200_000, "x" * 200_000
    path = json_script(tmp_path, json.dumps(
        {"_meta": {"hostvars": {name: {"ansible_port": value}}}}))
    text = refused(path)
    assert text.startswith(f"{path}: host 'hhhh")
    assert "(200002 characters)" in text


def test_a_long_unknown_group_key(tmp_path):
    path = write(tmp_path, "all:\n  " + "k" * 1000 + ":\n")
    assert refused(path) == (f"{path}:2: unknown key '" + "k" * 76 + "... (1002 characters) in "
                             "group 'all' (expected hosts, vars, children)")


def test_a_long_bad_range(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    ? " + "w" * 100_000 + "[1:2:x]\n")
    text = refused(path)
    assert "step must be a positive integer, got 'x'" in text
    assert "(100009 characters)" in text


def test_an_error_reason_is_capped():
    error = InventoryError("x" * 1_000_000 + "\n" + "y", "f" * 10_000, 3)
    assert len(error.reason) <= errors.MAX_REASON and error.reason.endswith(
        "... (cut, 1000002 characters)")
    assert len(str(error)) < errors.MAX_REASON + errors.MAX_FILE_SHOWN + 10
    assert pickle.loads(pickle.dumps(error)).reason == error.reason


def test_name_lists_are_cut():
    assert errors.name_list(["n" * 100, "b"]) == "n" * 37 + "..., b"
    assert errors.name_list({f"h{i}": None for i in range(100_000)}).endswith(
        "h9, ... (+99990 more)")


# -- remote sources: at most MAX_SOURCE_BYTES -------------------------------------------


def test_a_script_printing_without_end(tmp_path, monkeypatch):
    monkeypatch.setattr(script, "MAX_SOURCE_BYTES", 4 * MB)
    path = script_file(tmp_path, "exec yes '{\"aaaaaaaaaaaaaaaa\": 1}'\n")
    assert refused(path) == (f"{path}: the inventory script printed more than 4 MiB (killed; "
                             "the limit of an inventory source)")


def test_the_source_limit():
    assert errors.MAX_SOURCE_BYTES == 256 * MB


def test_a_large_yaml_file(tmp_path, monkeypatch):
    from fleetcheck.inventory import loader

    monkeypatch.setattr(loader, "MAX_SOURCE_BYTES", 1 * MB)
    path = write(tmp_path, "all:\n  vars:\n    x: " + "y" * (2 * MB) + "\n")
    assert refused(path) == (f"{path}: the file is larger than 1 MiB (the limit of an "
                             "inventory source)")


DOCUMENTS = {
    "/deep": "[" * 100_000 + "]" * 100_000,
    "/bigint": '{"all": {"vars": {"x": ' + "1" * 5000 + "}}}",
}


class _Endless(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/declared":
            self.send_header("Content-Length", str(10 * MB))
            self.end_headers()
            return
        if self.path in DOCUMENTS:
            body = DOCUMENTS[self.path].encode()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.end_headers()  # no length: the body runs until the connection closes
        chunk = b'{"a": [' + b"1, " * 20_000
        try:
            for _ in range(2000):
                self.wfile.write(chunk)
        except OSError:
            pass


@pytest.fixture
def endless():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/endless", "/declared"])
def test_an_http_answer_without_end(tmp_path, monkeypatch, endless, path):
    monkeypatch.setattr(http, "MAX_SOURCE_BYTES", 2 * MB)
    options = SourceOptions(cache_dir=str(tmp_path / "cache"), timeout=10)
    assert refused(endless + path, options=options) == (
        f"{endless}{path}: the answer is larger than 2 MiB (the limit of an inventory source)")


@pytest.mark.parametrize("path,reason", [
    ("/deep", "lists and objects nested more than 100 levels deep (the limit of an "
              "inventory)"),
    ("/bigint", f"an integer has more than {sys.get_int_max_str_digits()} digits"),
])
def test_hostile_json_over_http(tmp_path, endless, path, reason):
    options = SourceOptions(cache_dir=str(tmp_path / "cache"), timeout=10)
    assert refused(endless + path, options=options) == (
        f"{endless}{path}: the answer is JSON that fleetcheck refuses: {reason}")
