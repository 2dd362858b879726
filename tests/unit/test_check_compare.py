"""Every check of checks/*.py declares what its evidence table compares (the `compare=`
of its marker), and every key it declares is one the check writes.

What a check writes is read from its source: the keyword names of `evidence.add(...)`
and `evidence.update(...)`, and the literal keys of `evidence["key"] = ...`, in the
check function and in every function of its module it reaches: called or named
(`RULES = {"uid0": _uid0}`), or registered by a decorator into a name the check reads
(`@rule("uid0")` filling `RULES`). A declared key that no such code writes (a typo, a
key renamed in the check) fails here; so does a check without `compare=`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fleetcheck import catalogue, checkmeta
from fleetcheck.layout import checks_dir

CHECKS = sorted(checks_dir().glob("test_*.py"))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _written(fn: ast.AST) -> set[str]:
    keys = set()
    for node in ast.walk(fn):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add", "update")
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "evidence"):
            keys |= {k.arg for k in node.keywords if k.arg}
            for k in node.keywords:   # evidence.add(**{"literal": ...})
                if k.arg is None and isinstance(k.value, ast.Dict):
                    keys |= {d.value for d in k.value.keys
                             if isinstance(d, ast.Constant) and isinstance(d.value, str)}
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                    and target.value.id == "evidence" and isinstance(target.slice, ast.Constant)):
                keys.add(target.slice.value)
    return keys


def written_keys(path: Path) -> dict[str, set[str]]:
    """check function name -> the evidence keys it (and what it reaches) writes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    # A function registered by a decorator (@rule("x")) whose function reads a name
    # (RULES) is reached from that name.
    registered: dict[str, set[str]] = {}
    for fn in functions.values():
        for deco in fn.decorator_list:
            for used in _names(deco) & set(functions):
                for name in _names(functions[used]) & set(assigned):
                    registered.setdefault(name, set()).add(fn.name)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in functions:
                body = functions[name]
                todo += [n for n in _names(ast.Module(body=body.body, type_ignores=[]))
                         if n in functions or n in assigned]
            elif name in assigned:
                todo += [n for n in _names(assigned[name]) if n in functions or n in assigned]
                todo += sorted(registered.get(name, ()))
        return seen

    return {name: set().union(*(_written(functions[f]) for f in reach(name) if f in functions))
            for name in functions if name.startswith("test")}


def declared():
    for path in CHECKS:
        module = catalogue._import(path)
        keys = written_keys(path)
        for name, fn in sorted(vars(module).items()):
            if not (name.startswith("test") and callable(fn)):
                continue
            meta = checkmeta.from_node(catalogue._Node(fn, f"{path.name}::{name}"))
            if meta is not None:
                yield pytest.param(meta, keys[name], id=meta.check_id)


CASES = list(declared())


def test_the_catalogue_is_covered():
    assert len(CASES) == len(catalogue.collect()) >= 55


@pytest.mark.parametrize("meta, written", CASES)
def test_every_check_declares_keys_it_writes(meta, written):
    assert meta.compare, f"{meta.check_id} declares no compare= (what its evidence shows)"
    for label, expected, actual in meta.compare:
        for key in (expected, actual):
            assert key is None or key in written, (
                f"{meta.check_id}: compare {label!r} names {key!r}, which the check never "
                f"writes (it writes {', '.join(sorted(written))})")


def test_the_scan_sees_helpers_and_registered_rules(tmp_path):
    """The scan itself: a key written in a helper, one written by a rule registered
    through a decorator, and one nobody writes."""
    source = tmp_path / "test_demo.py"
    source.write_text('''
RULES = {}

def rule(name):
    def register(fn):
        RULES[name] = fn
        return fn
    return register

@rule("one")
def _one(evidence):
    evidence.add(by_rule=1)

def _helper(evidence):
    evidence["by_helper"] = 2

def test_demo(evidence, item):
    RULES[item](evidence)
    _helper(evidence)
    evidence.add(own=3, **{"literal": 4})

def test_other(evidence):
    evidence.add(elsewhere=5)
''')
    keys = written_keys(source)
    assert keys["test_demo"] == {"by_rule", "by_helper", "own", "literal"}
    assert keys["test_other"] == {"elsewhere"}
