"""Every inventory loader against hostile input: YAML inventories built from groups,
hosts and vars of odd shapes; the real inventories (tests/fixtures/inventory,
inventories/) damaged; dynamic-inventory JSON documents, built and damaged. The rule
(fleetcheck/inventory/errors.py): loading returns an Inventory or raises
InventoryError whose str() is one line of bounded length -- never any other
exception, and in bounded memory (tracemalloc's peak for each example).

Damage: bytes flipped, the text cut, lines doubled, dropped or swapped, snippets
spliced in (deep nesting of flow lists and mappings, anchors and aliases, merge keys,
integers of thousands of digits, impossible dates, YAML tags, control and line-break
characters, long names). Profile "fleetcheck" (tests/fuzz/conftest.py): 150 examples
per test, derandomized.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import tempfile
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck.inventory import Inventory, InventoryError, errors, load
from fleetcheck.inventory.build import InventoryBuilder
from fleetcheck.inventory.dynamic import RefusedJSON, add_json, loads
from fleetcheck.report import waivers

REPO = Path(__file__).resolve().parents[2]
FIXTURES = sorted((REPO / "tests" / "fixtures" / "inventory").glob("*.yml")) + \
    sorted((REPO / "inventories").glob("*.yml"))
TEXTS = [p.read_text(encoding="utf-8") for p in FIXTURES]
MAX_LINE = errors.MAX_REASON + errors.MAX_FILE_SHOWN + 20
MAX_PEAK = 150 * 1024 * 1024

NAMES = st.one_of(
    st.sampled_from(["all", "ungrouped", "web", "db", "web1", "db-1", "h[1:3]", "h[01:03]:2222",
                     "x[a:c]", "web[1:99999999]", "10.0.0.1", "fe80::1", "-oProxyCommand=x",
                     "a b", "ümlaut", "h" * 300, "[1:2]", "web[", "web]"]),
    st.text(min_size=1, max_size=12))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["2026-13-01", "2026-02-30", "9" * 5000, "-1", "0x1F", "1_000", "1:30",
                     ".inf", "~", "yes", "", "\x00", "\u2028", "a\nb", "!vault |", "*a",
                     "&a", "<<", "/etc/shadow", "../../x", "-o", "2222", "65536", "x" * 500]))
VARS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
VAR_NAMES = st.one_of(
    st.sampled_from(["ansible_host", "ansible_port", "ansible_user", "ansible_become",
                     "ansible_connection", "ansible_group_priority", "ansible_ssh_host",
                     "fleetcheck_waivers", "fleetcheck_command_timeout", "services",
                     "sysctl", "sshd", "dns", "nfs", "samba", "capacity", "raid"]),
    st.text(min_size=1, max_size=10))


def _check(result) -> None:
    """The rule, and that what loaded can be used: the host properties, a copy, JSON
    (what pytest-xdist workers get), pickling, waivers, --limit."""
    if isinstance(result, InventoryError):
        text = str(result)
        assert "\n" not in text and "\r" not in text, text
        assert len(text) <= MAX_LINE, len(text)
        return
    assert isinstance(result, Inventory)
    for host in list(result.hosts.values())[:50]:
        for prop in ("address", "port", "user", "become", "become_user", "become_method",
                     "proxy_jump", "connection"):
            getattr(host, prop)
        json.dumps(host.vars, default=repr)
        copy.deepcopy(host.vars)
        pickle.loads(pickle.dumps(host.vars))
    try:
        waivers.load(dict(list(result.hosts.items())[:50]))
        result.select("all")
    except InventoryError as exc:
        _check(exc)


def _guarded(call, *args):
    tracemalloc.start()
    try:
        try:
            result = call(*args)
        except InventoryError as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK, f"{peak >> 20} MB"
    _check(result)
    return result


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="fleetcheck-fuzz-") as path:
        yield Path(path)


def _load_text(workdir: Path, text: str | bytes):
    path = workdir / "inv.yml"
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    path.write_bytes(text)
    return _guarded(load, [str(path)])


# -- YAML built from groups, hosts and vars ---------------------------------------------

@st.composite
def inventories(draw):
    groups = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))

    def group(depth: int):
        node = {}
        if draw(st.booleans()):
            node["hosts"] = {draw(NAMES): draw(st.one_of(
                st.none(), st.dictionaries(VAR_NAMES, VARS, max_size=3)))
                for _ in range(draw(st.integers(0, 3)))}
        if draw(st.booleans()):
            node["vars"] = draw(st.dictionaries(VAR_NAMES, VARS, max_size=4))
        if depth < 3 and draw(st.booleans()):
            node["children"] = {draw(st.sampled_from(groups)): group(depth + 1)
                                for _ in range(draw(st.integers(0, 2)))}
        if draw(st.integers(0, 9)) == 0:
            node[draw(st.sampled_from(["host", "var", "child", 1]))] = None
        return node or None

    return {draw(st.sampled_from(groups)): group(0)
            for _ in range(draw(st.integers(1, 3)))}


@given(data=inventories(), style=st.sampled_from([None, True, False]))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_built_yaml_inventories(workdir, data, style):
    try:
        text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=True)
    except yaml.YAMLError:
        return
    _load_text(workdir, text)


# -- the real inventories, damaged ------------------------------------------------------

SNIPPETS = st.one_of(
    st.sampled_from([
        "[" * 150, "{a: " * 150, "- " * 60 + "x", "&a ", "*a", "<<: *a\n", "? ", ": ",
        "!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n", "!unsafe ", "!!binary x\n",
        "!!set {a, b}", "!!omap [a: 1]", "!!python/object:os.system x", "!custom ",
        "!!float x", "!!bool maybe", "!!timestamp nope", "!!int 0x", "!!int 1:99:99",
        "!!str [1]", "!!pairs {a: 1}", "? [1]\n: 2\n", "!!merge ", "!!value ",
        "9" * 5000, "0x" + "f" * 5000, "2026-13-01", "2026-02-30 25:61:61", "1e999",
        "\t", "\x00", "\x85", "\u2028", "\ufeff", "\udce9", "---\n", "...\n", "%YAML 1.1\n",
        "children:\n", "hosts:\n", "vars:\n", "web[0:99999999]:\n", "all:\n", "'", '"',
        "a: &x [1, *x]\n", "\n  " * 20, "#", "|", ">", "k" * 2000 + ":",
        ]),
    st.text(min_size=1, max_size=10))


@st.composite
def damaged(draw):
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["splice", "cut", "flip", "lines", "alias"]))
        at = draw(st.integers(0, len(text)))
        if how == "splice":
            text = text[:at] + draw(SNIPPETS) + text[at:]
        elif how == "cut":
            text = text[:at]
        elif how == "flip" and text:
            data = bytearray(text.encode("utf-8"))
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
            return bytes(data)
        elif how == "lines":
            lines = text.splitlines(keepends=True)
            if lines:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                what = draw(st.sampled_from(["double", "drop", "swap"]))
                if what == "double":
                    lines.insert(i, lines[i])
                elif what == "drop":
                    del lines[i]
                else:
                    lines[i], lines[j] = lines[j], lines[i]
                text = "".join(lines)
        else:  # an anchor on one value, aliases of it elsewhere
            colon = text.find(": ", at)
            if colon >= 0:
                text = text[:colon + 2] + "&z " + text[colon + 2:]
                text = text.replace(": ", ": *z\n#", draw(st.integers(0, 3)))
    return text


@given(text=damaged())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_damaged_real_inventories(workdir, text):
    _load_text(workdir, text)


@given(text=st.text(max_size=200))
def test_arbitrary_text(workdir, text):
    _load_text(workdir, text)


# -- dynamic-inventory JSON -------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10), st.sampled_from(["web1", "db", "all", "ungrouped"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=15)


@st.composite
def documents(draw):
    doc = {}
    for name in draw(st.lists(NAMES, max_size=4)):
        doc[name] = draw(st.one_of(
            st.lists(NAMES, max_size=3),
            st.fixed_dictionaries({}, optional={
                "hosts": st.one_of(st.lists(NAMES, max_size=3), JSON_VALUES),
                "children": st.one_of(st.lists(NAMES, max_size=3), JSON_VALUES),
                "vars": st.one_of(st.dictionaries(VAR_NAMES, JSON_VALUES, max_size=3),
                                  JSON_VALUES),
                "host": st.none()}),
            JSON_VALUES))
    if draw(st.booleans()):
        doc["_meta"] = draw(st.one_of(
            st.fixed_dictionaries({"hostvars": st.dictionaries(
                NAMES, st.one_of(st.dictionaries(VAR_NAMES, JSON_VALUES, max_size=3),
                                 JSON_VALUES), max_size=3)}),
            JSON_VALUES))
    return draw(st.one_of(st.just(doc), JSON_VALUES))


def _load_json(text: str | bytes):
    def run():
        try:
            data = loads(text)
        except (RefusedJSON, ValueError) as exc:  # what script.py and http.py report
            raise InventoryError(f"not JSON: {exc}", "fuzz") from None
        builder = InventoryBuilder()
        add_json(data, "fuzz", builder)
        return builder.finish()
    return _guarded(run)


@given(doc=documents())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_built_json_documents(doc):
    _load_json(json.dumps(doc))


JSON_SNIPPETS = st.one_of(
    st.sampled_from(["[" * 200_000, "[" * 150 + "]" * 150, '{"a": ' * 150, "9" * 5000,
                     "-" + "9" * 5000, "1e99999", "NaN", "Infinity", '"\\ud800"', '"\\u0000"',
                     "\x00", "\ufeff", ",", "}", "]", '"', "null", "{}", "[]"]),
    st.text(max_size=6))


@st.composite
def damaged_json(draw):
    text = json.dumps(draw(documents()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(JSON_SNIPPETS) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(0, 5)):]
    return text


@given(text=damaged_json())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_damaged_json_documents(text):
    _load_json(text)


def test_the_rule_holds_for_scripts(workdir):
    """The same through a real inventory script (one example of each kind: a process
    per example would be slow)."""
    for body in ("[" * 5000, '{"all": {"vars": {"x": ' + "1" * 5000 + "}}}",
                 '{"web": ["a", "b"], "_meta": {"hostvars": {"a": {"ansible_port": 22}}}}',
                 "\xff\xfe", ""):
        (workdir / "doc.json").write_bytes(body.encode("latin-1"))
        script = workdir / "inv.sh"
        script.write_text('#!/bin/sh\nexec cat "$(dirname "$0")/doc.json"\n')
        os.chmod(script, 0o755)
        _guarded(load, [str(script)])
