"""Ansible's host pattern grammar, as used by ``--limit``.

``web1,db*:&prod:!web3`` -- terms separated by ',' or ':' (not inside ``[...]``);
a term is a host name, a group name (all hosts below it), an fnmatch glob or a
``~regex`` (both tried against group and host names), optionally prefixed by
``&`` (intersection) or ``!`` (exclusion); ``all`` and ``*`` select everything;
``@file`` reads one term per line (Ansible's retry files).

Evaluation follows Ansible: the union of the plain terms (``all`` when there are
none), then each ``&`` term intersected, then each ``!`` term removed. A term that
matches nothing is fine; an empty result is an error.

Departures from Ansible: ``web?[12]`` is an fnmatch character class, not Ansible's
``group[index]`` subscript (subscripts are not supported); an empty limit is an
error rather than "no limit" (``--limit "$UNSET"`` must not mean the whole fleet);
hosts come back in inventory order.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from fleetcheck.values import shown

from .errors import InventoryError, name_list

if TYPE_CHECKING:
    from .model import HostEntry, Inventory

_GLOB_CHARS = (".", "?", "*", "[")


def quoted(limit: str) -> str:
    """``'web*'`` as error messages show a pattern: in quotes, cut to 80 characters."""
    if len(limit) <= 78:
        return f"'{limit}'"
    return f"'{limit[:60]}...' ({len(limit)} characters)"


def split_terms(limit: str) -> list[str]:
    """``'a:b,c[1:2]:!d'`` -> ``['a', 'b', 'c[1:2]', '!d']``; ``@file`` terms are read."""
    terms: list[str] = []
    for piece in limit.split(","):
        for term in _split_colons(piece):
            term = term.strip()
            if term.startswith("@"):
                terms.extend(_read_limit_file(limit, term[1:]))
            elif term:
                terms.append(term)
    return terms


def _split_colons(piece: str) -> list[str]:
    """Split on ':' except inside a closed ``[...]`` (a glob class like ``[1:3]``)."""
    parts, current, i = [], "", 0
    while i < len(piece):
        char = piece[i]
        close = piece.find("]", i) if char == "[" else -1
        if close > 0:
            current += piece[i : close + 1]
            i = close + 1
            continue
        if char == ":":
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    return parts


def _read_limit_file(limit: str, path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InventoryError(f"--limit {quoted(limit)}: cannot read limit file {shown(path)}: "
                             f"{reason}") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def select(inventory: Inventory, limit: str | None) -> list[HostEntry]:
    if limit is None:
        if not inventory.hosts:
            raise InventoryError("the inventory has no host")
        return list(inventory.hosts.values())
    if not isinstance(limit, str):
        limit = ",".join(limit)
    terms = split_terms(limit)
    if not terms:
        raise InventoryError(f"--limit {quoted(limit)}: empty pattern")

    plain = [t for t in terms if t[0] not in "&!"] or ["all"]
    members = _Members(inventory)
    selected: set[str] = set()
    for term in plain:
        if term in inventory.hosts:  # a host name is that host, even if a group has the name
            selected.add(term)
        else:
            selected |= _matches(inventory, limit, term, members)
    for term in terms:
        if term[0] == "&":
            selected &= _matches(inventory, limit, _strip_op(limit, term), members)
    for term in terms:
        if term[0] == "!":
            selected -= _matches(inventory, limit, _strip_op(limit, term), members)

    hosts = [host for name, host in inventory.hosts.items() if name in selected]
    if not hosts:
        raise InventoryError(
            f"--limit {quoted(limit)} selects no host (inventory has: {name_list(inventory.hosts)})"
        )
    return hosts


def _strip_op(limit: str, term: str) -> str:
    rest = term[1:].strip()
    if not rest or rest[0] in "&!":
        raise InventoryError(f"--limit {quoted(limit)}: {term[0]!r} must be followed by a pattern")
    return rest


class _Members:
    """The hosts of each group (in it or below it), gathered in one pass over the hosts
    the first time a group is asked for (not one pass per matching group)."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self.by_group: dict[str, set[str]] | None = None

    def of(self, group: str) -> set[str]:
        if self.by_group is None:
            self.by_group = {}
            for name, host in self.inventory.hosts.items():
                for member_of in host.groups:
                    self.by_group.setdefault(member_of, set()).add(name)
        return self.by_group.get(group, set())


def _matches(inventory: Inventory, limit: str, term: str,
             members: _Members | None = None) -> set[str]:
    """Hosts one term stands for (Ansible's _enumerate_matches): the hosts of every
    matching group, plus matching host names when no group matched or the term is a
    glob or a regex."""
    if term.startswith("~"):
        try:
            match = re.compile(term[1:]).match
        except re.error as exc:
            raise InventoryError(
                f"--limit {quoted(limit)}: invalid regular expression {shown(term[1:])}: {exc}"
            ) from None
    else:
        match = re.compile(fnmatch.translate(term)).match

    members = members or _Members(inventory)
    hosts: set[str] = set()
    groups = [name for name in inventory.groups if match(name)]
    for group in groups:
        hosts.update(members.of(group))
    if not groups or term.startswith("~") or any(c in term for c in _GLOB_CHARS):
        hosts.update(name for name in inventory.hosts if match(name))
    return hosts
