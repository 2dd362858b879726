"""Node filters beside --limit: ``--where KEY=VALUE`` / ``--where KEY!=VALUE`` on host
vars, repeatable (every filter must hold), and the offline mark.

KEY is ``name``, ``group`` (a group the host is in, directly or below), a host var,
a dotted path into dict vars (``dns.master``), or else one of the derived connection
values (address, port, user, become, become_method, become_user, connection,
proxy_jump). VALUE is compared with the var's
own type: a boolean var with true/false/yes/no, a number numerically (``env=11``
matches 11 and "11"), a list when any element matches, a string exactly or as an
fnmatch glob (``role=comp*``). A host without the var never matches ``=`` and always
matches ``!=``.

A host is *offline* when its vars say ``online: false`` or ``fleetcheck_offline:
true`` (as a source of truth reports a node that is down on purpose): its checks are
reported not-applicable ("offline") without touching it, unless --include-offline.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from fleetcheck.inventory import HostEntry, InventoryError
from fleetcheck.inventory.errors import name_list
from fleetcheck.inventory.hostvars import to_bool

_WHERE = re.compile(r"\s*([^=!\s][^=!]*?)\s*(!=|=)(.*)", re.S)
_MISSING = object()
# What a host's connection vars amount to (HostEntry properties), when no var has the name.
DERIVED = ("address", "port", "user", "become", "become_method", "become_user",
           "connection", "proxy_jump")
OFFLINE_REASON = "offline"


@dataclass(frozen=True)
class Where:
    key: str
    op: str       # "=" or "!="
    value: str
    text: str

    def matches(self, entry: HostEntry) -> bool:
        found = lookup(entry, self.key)
        equal = found is not _MISSING and _equal(found, self.value)
        return equal if self.op == "=" else not equal


def parse(text: str) -> Where:
    match = _WHERE.fullmatch(text)
    if not match:
        raise InventoryError(f"--where {text!r}: expected KEY=VALUE or KEY!=VALUE")
    return Where(match.group(1), match.group(2), match.group(3).strip(), text)


def lookup(entry: HostEntry, key: str) -> Any:
    """The value KEY names for this host, or _MISSING."""
    if key == "name":
        return entry.name
    if key in ("group", "groups"):
        return list(entry.groups)
    if key in entry.vars:
        return entry.vars[key]
    value: Any = entry.vars
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return getattr(entry, key) if key in DERIVED else _MISSING
        value = value[part]
    return value


def _equal(found: Any, wanted: str) -> bool:
    if isinstance(found, list):
        return any(_equal(item, wanted) for item in found)
    if isinstance(found, bool):
        try:
            return found == to_bool(wanted)
        except ValueError:
            return False
    if isinstance(found, (int, float)):
        try:
            return float(found) == float(wanted)
        except ValueError:
            return False
    if found is None:
        return wanted.lower() in ("", "null", "none")
    if isinstance(found, str):
        if any(c in wanted for c in "*?["):
            return fnmatch.fnmatchcase(found, wanted)
        return found == wanted
    return False


def select(hosts: list[HostEntry], wheres: list[str] | None) -> list[HostEntry]:
    """The hosts every filter holds for, in order; no host left is an error."""
    if not wheres:
        return hosts
    filters = [parse(text) for text in wheres]
    kept = [h for h in hosts if all(f.matches(h) for f in filters)]
    if not kept:
        shown = " ".join(f"--where {f.text!r}" for f in filters)
        raise InventoryError(f"{shown} selects no host (of {len(hosts)}: "
                             f"{name_list(h.name for h in hosts)})")
    return kept


def is_offline(entry: HostEntry) -> bool:
    """True when the inventory marks the host offline; a bad value is an inventory error."""
    for var, offline_when in (("online", False), ("fleetcheck_offline", True)):
        value = entry.vars.get(var)
        if value is None:
            continue
        try:
            if to_bool(value) is offline_when:
                return True
        except ValueError as exc:
            raise InventoryError(f"host {entry.name!r}: {var}: {exc}", entry.source) from None
    return False
