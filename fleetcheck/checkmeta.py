"""The `check` marker: id, severity and title of a check, validated at collection."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from fleetcheck import facts as fact_registry
from fleetcheck.facts.base import var_setting
from fleetcheck.report.records import SEVERITIES

CHECK_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
MARKER_HELP = (
    "check(check_id, severity='medium', title='', items=None, items_except=None, "
    "facts=None, compare=None): declare a fleetcheck check; check_id is '<area>.<name>', severity one of "
    + "|".join(SEVERITIES) + "; items names a host var whose keys (or list entries) "
    "each get a test `item` (a key set to null gets none); items_except names a host var "
    "whose keys are left out (judged by another check); facts lists the facts the "
    "check reads, gathered ahead "
    "for every host at once (fleetcheck.gather); facts=[] says it reads none; compare "
    "maps a label to the (expected, actual) evidence keys the report shows side by side, "
    "either None when the check has no such side: compare={'value': ('expected', 'actual')}"
)

# On each check item: its CheckMeta and its host's name (set at collection).
META_KEY = pytest.StashKey["CheckMeta"]()
HOST_KEY = pytest.StashKey[str]()          # an inventory host (a FleetHost's name)
TESTINFRA_ID_KEY = pytest.StashKey[str]()  # a user test's testinfra host, by its id
PARAM_KEY = pytest.StashKey[str]()         # the item's parameter id ("web1-vm.swappiness")
USER_TEST_KEY = pytest.StashKey[bool]()    # a user's test (fleetcheck.usertests), not a check


@dataclass(frozen=True)
class CheckMeta:
    check_id: str
    severity: str
    title: str
    items: str | None = None   # host var whose keys/entries parametrize `item`
    # ... minus the keys of this host var (a baseline key the host declares itself is
    # judged by the check of the declaration alone: sysctl.baseline and sysctl.value)
    items_except: str | None = None
    # What the check reads, to gather ahead: fact names, (name, params) pairs, or
    # callables (host, item) -> iterable of those (see fleetcheck.gather). None: not
    # declared (the check may read anything); (): it reads no fact of its host.
    facts: tuple[Any, ...] | None = None
    # What the report shows of the evidence, as an expected / actual / verdict table:
    # (label, expected key, actual key) rows, either key None where the check has no
    # such side (a list of listeners is what it found, no expectation). None: not
    # declared (the report shows every evidence key as found).
    compare: tuple[tuple[str, str | None, str | None], ...] | None = None

    @property
    def area(self) -> str:
        return self.check_id.split(".", 1)[0]


def when_set(var: str, *names: str, key: str | None = None):
    """A `facts=` entry: gather the facts `names` on a host whose var `var` (its `key`
    when given) is set, not null; a check that is off there costs no command."""
    def reads(host, item):
        if var_setting(host.vars, var, key) is not None:
            yield from names
    return reads


def from_node(node) -> CheckMeta | None:
    """The CheckMeta of a test function or item, or None for a plain test.

    A malformed marker fails collection of that test with one clear line.
    """
    marker = node.get_closest_marker("check")
    if marker is None:
        return None
    args = list(marker.args)
    kwargs = dict(marker.kwargs)
    check_id = kwargs.pop("check_id", None) or (args.pop(0) if args else None)
    severity = kwargs.pop("severity", None) or (args.pop(0) if args else "medium")
    title = kwargs.pop("title", None) or (args.pop(0) if args else "")
    items = kwargs.pop("items", None)
    items_except = kwargs.pop("items_except", None)
    facts = kwargs.pop("facts", None)
    compare = kwargs.pop("compare", None)
    where = getattr(node, "nodeid", None) or getattr(node, "name", "?")
    if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
        pytest.fail(f"{where}: check id {check_id!r} must look like 'area.name'",
                    pytrace=False)
    if severity not in SEVERITIES:
        pytest.fail(f"{where}: severity {severity!r} of {check_id} is not one of "
                    + ", ".join(SEVERITIES), pytrace=False)
    if args or kwargs:
        pytest.fail(f"{where}: unexpected arguments to the check marker: {args or kwargs}",
                    pytrace=False)
    problem = None if facts is None else _bad_facts(facts)
    if problem:
        pytest.fail(f"{where}: facts= of {check_id}: {problem}", pytrace=False)
    problem = None if compare is None else _bad_compare(compare)
    if problem:
        pytest.fail(f"{where}: compare= of {check_id}: {problem}", pytrace=False)
    return CheckMeta(check_id, severity, title or check_id, items=items,
                     items_except=items_except,
                     facts=None if facts is None else tuple(facts),
                     compare=None if compare is None else tuple(
                         (label, keys[0], keys[1]) for label, keys in compare.items()))


def _bad_facts(declared: Any) -> str | None:
    """Why a `facts=` declaration is malformed, or None."""
    if isinstance(declared, (str, dict)) or not isinstance(declared, Iterable):
        return f"{declared!r} is not a list"
    for spec in declared:
        if callable(spec):
            continue
        name = spec if isinstance(spec, str) else (
            spec[0] if isinstance(spec, tuple) and len(spec) == 2
            and isinstance(spec[1], dict) else None)
        if not isinstance(name, str):
            return f"{spec!r} is not a fact name, a (name, params) pair or a callable"
        if name not in fact_registry.REGISTRY:
            return f"unknown fact {name!r} (known: {', '.join(sorted(fact_registry.REGISTRY))})"
    return None


def _bad_compare(declared: Any) -> str | None:
    """Why a `compare=` declaration is malformed, or None.

    One mapping, label -> (expected key, actual key), rather than two lists of keys
    (`expected=(...)`, `actual=(...)`): a row of the report pairs one expectation with
    what was found, and the pair reads in the check as it will read in the table
    (`compare={"value": ("expected", "actual")}`); two lists would pair by position,
    and a check with an actual side only (what listens) would leave the reader to count.
    None stands for the side a check does not have; a pair of two Nones says nothing."""
    if not isinstance(declared, dict) or not declared:
        return f"{declared!r} is not a non-empty mapping of label -> (expected, actual)"
    for label, keys in declared.items():
        if not isinstance(label, str) or not label.strip():
            return f"label {label!r} is not a non-empty string"
        if not (isinstance(keys, (tuple, list)) and len(keys) == 2
                and all(k is None or (isinstance(k, str) and k) for k in keys)):
            return (f"{label!r}: {keys!r} is not an (expected key, actual key) pair "
                    "of evidence keys or None")
        if keys[0] is None and keys[1] is None:
            return f"{label!r}: (None, None) names no evidence key"
    return None


def host_items(meta: CheckMeta, hostvars: dict) -> list[str]:
    """The items a check runs over on one host: keys of a mapping var (but a key whose
    value is null: a default turned off, and a key of the `items_except` var), entries
    of a list var (a mapping entry by its `name`)."""
    value = hostvars.get(meta.items) if meta.items else None
    if isinstance(value, dict):
        taken = hostvars.get(meta.items_except) if meta.items_except else None
        taken = taken if isinstance(taken, dict) else {}
        return [str(k) for k, v in value.items() if v is not None and k not in taken]
    if isinstance(value, list):
        return [str(v.get("name")) if isinstance(v, dict) else str(v) for v in value]
    return []
