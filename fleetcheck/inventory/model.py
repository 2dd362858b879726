"""What a loaded inventory is: hosts with merged vars, and the group tree."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import hostvars as hv
from .errors import InventoryError, name_list


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: ``override`` over ``base``; dicts are merged key by key, anything else
    (lists included) is replaced. Neither argument is changed."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# -- vars shared between hosts -------------------------------------------------------
#
# Hosts share their merged vars: every host of the same groups points to the same
# objects, which are never changed (FrozenDict, FrozenList). What a host hands out is
# its own: HostEntry.vars is a CowDict, and reading a list or mapping out of it
# (``vars["ntp"]``, ``.get("ntp")``) puts a shallow copy of its own in place, a
# CowDict/CowList again, so ``host.vars["ntp"]["servers"].append(...)`` changes that
# host only. What is reached another way (``.items()``, ``.values()``) is the shared
# object itself, and changing that raises TypeError: no host can change another's.

_READ_ONLY = ("these inventory vars are shared between hosts and read-only; index "
              "host.vars (host.vars[name][...]) for a copy of this host's own, or "
              "copy.deepcopy() them")


def _read_only(self, *args, **kwargs):
    raise TypeError(_READ_ONLY)


class FrozenDict(dict):
    """A read-only mapping of vars shared between hosts."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __copy__(self):
        return CowDict(self)

    def __deepcopy__(self, memo):
        return _plain_copy(self, memo)


class FrozenList(list):
    """A read-only list of vars shared between hosts."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __reduce__(self):
        return (FrozenList, (list(self),))

    def __copy__(self):
        return CowList(self)

    def __deepcopy__(self, memo):
        return _plain_copy(self, memo)


def _own(value: Any) -> Any:
    """``value``, or a shallow copy of a shared (frozen) list/mapping that can change."""
    make = _OWN.get(type(value))
    return value if make is None else make(value)


_MISSING = object()


class CowDict(dict):
    """A host's own mapping of vars (see above): a shared list or mapping in it is
    copied the first time it is read by key."""

    __slots__ = ()

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        make = _OWN.get(type(value))
        if make is None:
            return value
        value = make(value)
        dict.__setitem__(self, key, value)
        return value

    def get(self, key, default=None):
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            return default
        make = _OWN.get(type(value))
        if make is None:
            return value
        value = make(value)
        dict.__setitem__(self, key, value)
        return value

    def setdefault(self, key, default=None):
        if key in self:
            return self[key]
        dict.__setitem__(self, key, default)
        return default

    def pop(self, key, *default):
        if key in self:
            value = self[key]
            dict.__delitem__(self, key)
            return value
        return dict.pop(self, key, *default)

    def popitem(self):
        key, value = dict.popitem(self)
        return key, _own(value)

    def __deepcopy__(self, memo):
        return _plain_copy(self, memo)


class CowList(list):
    """A host's own list of vars (see above): a shared list or mapping in it is copied
    the first time it is read by index or by iterating."""

    __slots__ = ()

    def __getitem__(self, index):
        value = list.__getitem__(self, index)
        if isinstance(index, slice):
            return CowList(value)
        own = _own(value)
        if own is not value:
            list.__setitem__(self, index, own)
        return own

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def pop(self, index=-1):
        value = self[index]
        list.__delitem__(self, index)
        return value

    def __deepcopy__(self, memo):
        return _plain_copy(self, memo)


_OWN: dict[type, type] = {FrozenDict: CowDict, FrozenList: CowList, frozenset: set}


def _plain_copy(value: Any, memo: dict) -> Any:
    """A deep copy made of plain dicts and lists (what copy.deepcopy gives for vars)."""
    found = memo.get(id(value))
    if found is not None:
        return found
    if isinstance(value, dict):
        result: Any = {}
        memo[id(value)] = result
        for key, item in dict.items(value):
            result[key] = _plain_copy(item, memo)
    elif isinstance(value, list):
        result = []
        memo[id(value)] = result
        result.extend(_plain_copy(item, memo) for item in list.__iter__(value))
    elif isinstance(value, (set, frozenset)):
        result = {copy.deepcopy(item, memo) for item in value}
    else:
        return copy.deepcopy(value, memo)
    return result


class Freezer:
    """Turns vars into shared read-only ones and counts their values.

    ``freeze(value)`` gives a FrozenDict/FrozenList/frozenset tree (each list or
    mapping frozen once: what aliases share stays shared); ``size(value)`` counts
    every scalar, list and mapping in it as if shared parts were copied (what a
    host's vars hold once written out in full), each shared part counted only the
    first time it is met and remembered after."""

    def __init__(self) -> None:
        self._frozen: dict[int, tuple[Any, Any]] = {}   # id(original) -> (original, frozen)
        self._sizes: dict[int, tuple[Any, int]] = {}    # id(frozen) -> (frozen, size)

    def freeze(self, value: Any) -> Any:
        kind = type(value)
        if kind is FrozenDict or kind is FrozenList or \
                not isinstance(value, (dict, list, tuple, set)):
            return value
        found = self._frozen.get(id(value))
        if found is not None:
            return found[1]
        if isinstance(value, dict):
            frozen: Any = FrozenDict({key: self.freeze(item) for key, item in dict.items(value)})
        elif isinstance(value, list):
            frozen = FrozenList([self.freeze(item) for item in list.__iter__(value)])
        elif isinstance(value, tuple):
            frozen = tuple(self.freeze(item) for item in value)
        else:
            frozen = frozenset(value)
        self._frozen[id(value)] = (value, frozen)
        return frozen

    def size(self, value: Any) -> int:
        if not isinstance(value, (dict, list, tuple, set, frozenset)):
            return 1
        found = self._sizes.get(id(value))
        if found is not None:
            return found[1]
        if isinstance(value, dict):
            total = 1 + sum(map(self.size, dict.values(value)))
        elif isinstance(value, list):
            total = 1 + sum(map(self.size, list.__iter__(value)))
        elif isinstance(value, tuple):
            total = 1 + sum(map(self.size, value))
        else:
            total = 1 + len(value)
        self._sizes[id(value)] = (value, total)
        return total


class Merger:
    """deep_merge for frozen vars, counting what it makes.

    ``merge(base, override)`` is a new FrozenDict (``result_type`` for the top level):
    a mapping merged over a mapping is merged again, anything else is shared as it is.
    Merges below the top level are remembered, so the hosts of one range (which share
    their vars) share the merged result too. ``entries`` counts the entries of every
    mapping made; :meth:`count` raises ``too_many(entries)`` past ``limit``."""

    def __init__(self, limit: int, too_many) -> None:
        self.limit, self.too_many = limit, too_many
        self.entries = 0
        self._made: dict[tuple[int, int], tuple[Any, Any, FrozenDict]] = {}

    def count(self, entries: int) -> None:
        self.entries += entries
        if self.entries > self.limit:
            raise self.too_many(self.entries)

    def merge(self, base: dict, override: dict, result_type: type = FrozenDict) -> dict:
        key = (id(base), id(override))
        if result_type is FrozenDict:
            found = self._made.get(key)
            if found is not None:
                return found[2]
        self.count(len(base) + len(override))
        merged = result_type(base)
        put = dict.__setitem__
        for name, value in dict.items(override):
            old = dict.get(merged, name)
            if isinstance(old, dict) and isinstance(value, dict):
                put(merged, name, self.merge(old, value))
            else:
                put(merged, name, value)
        if result_type is FrozenDict:
            self._made[key] = (base, override, merged)
        return merged


@dataclass(frozen=True)
class VaultedValue:
    """A ``!vault`` value from an Ansible inventory: kept, never decrypted. A check that
    needs the secret must get it some other way; a connection var cannot be one."""

    ciphertext: str
    KIND = "an Ansible vault value (fleetcheck cannot decrypt it)"

    def __repr__(self) -> str:
        return "VaultedValue(...)"


@dataclass
class HostEntry:
    """One host: its inventory name, its merged vars and where it comes from.

    The connection settings are read from the vars as Ansible reads them
    (hostvars.first: ``ansible_ssh_host`` before ``ansible_host``, a `{{ var }}`
    reference resolved), ``defaults`` under them (ansible.cfg's remote_user and
    private_key_file). ``problems`` are why the host cannot be audited that the
    inventory itself shows (a vault-encrypted vars file of one of its groups); with
    what the vars say (a connection or become method fleetcheck does not run, a
    template it cannot resolve) they make ``refused``: the host's checks are
    unreachable with that reason, and the rest of the fleet is audited."""

    name: str
    vars: dict
    groups: list[str]
    source: str
    problems: list[str] = field(default_factory=list)
    defaults: dict = field(default_factory=dict)

    def _setting(self, what: str):
        try:
            return hv.first(self.vars, what, self.name)
        except hv.Templated:
            return None

    @property
    def address(self) -> str:
        return self._setting("address") or self.name

    @property
    def port(self) -> int:
        value = self._setting("port")
        return hv.DEFAULT_PORT if value is None else hv.to_port(value)

    @property
    def user(self) -> str | None:
        value = self._setting("user")
        return value if value is not None else self.defaults.get("remote_user")

    @property
    def key_file(self) -> str | None:
        """The private key as written (relative to the inventory source's directory;
        ansible.cfg's is absolute): ansible_ssh_private_key_file, else
        ansible_private_key_file, else ansible.cfg's private_key_file."""
        value = self._setting("key")
        return str(value) if value else self.defaults.get("private_key_file")

    @property
    def become(self) -> bool:
        value = self.vars.get("ansible_become")
        return False if value is None else hv.to_bool(value)

    @property
    def become_user(self) -> str | None:
        return self.vars.get("ansible_become_user")

    @property
    def become_method(self) -> str:
        value = self.vars.get("ansible_become_method")
        return "sudo" if value is None else hv.to_become_method(value)

    @property
    def proxy_jump(self) -> str | None:
        return hv.proxy_jump(self.vars)

    @property
    def connection(self) -> str:
        value = self.vars.get("ansible_connection")
        return hv.DEFAULT_CONNECTION if value is None else hv.to_connection(value)

    @property
    def refused(self) -> str | None:
        """Why fleetcheck does not connect to this host (one line), or None."""
        if self.problems:
            return self.problems[0]
        problem = hv.connection_problem(self.connection) or \
            hv.backend_problem(self.connection, self.vars)
        if problem is None and self.become:
            problem = hv.become_problem(self.become_method)
        if problem is None:
            for what in hv.CONNECTION_NAMES:
                try:
                    hv.first(self.vars, what, self.name)
                except hv.Templated as exc:
                    problem = str(exc)
                    break
        return problem


@dataclass
class Group:
    """A group as the inventory defines it. ``vars`` are the group's own vars (its
    definitions merged, later wins); ``hosts`` its direct members; ``depth`` the
    longest path from 'all' (0 for 'all'); ``priority`` its ansible_group_priority."""

    name: str
    vars: dict = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    depth: int = 0
    priority: int = 1
    source: str | None = None
    line: int | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Ansible's order of precedence: shallow before deep, then priority, then name."""
        return (self.depth, self.priority, self.name)


@dataclass
class Inventory:
    hosts: dict[str, HostEntry]
    groups: dict[str, Group]
    sources: list[str] = field(default_factory=list)
    # What the run must say loudly about where the inventory came from (an HTTP
    # inventory answered from the local cache): see sources.load.
    notes: list[str] = field(default_factory=list)
    # Top-level vars within a typo of a fleetcheck var (`capacty:`), one line each:
    # `<file>:<line>: group 'web': capacty: not a var fleetcheck reads; did you mean
    # capacity?` (fleetcheck.varschema.typo); shown as warnings, errors with --strict-vars.
    var_warnings: list[str] = field(default_factory=list)
    # Why a host cannot be audited, from the inventory's files (HostEntry.problems).
    problems: dict[str, list[str]] = field(default_factory=dict)
    # ansible.cfg's connection defaults under every host (HostEntry.defaults).
    defaults: dict = field(default_factory=dict)
    # Host names in the order the sources defined them (Ansible's inventory.hosts),
    # where ``hosts`` is in the order Ansible lists them (order.py); empty: the same.
    defined: list[str] = field(default_factory=list)

    def ancestors(self, group: str) -> list[str]:
        """``group`` and every group above it, in precedence order ('all' first)."""
        seen: set[str] = set()
        todo = [group]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.groups[name].parents)
        return sorted(seen, key=lambda n: self.groups[n].sort_key)

    def group_hosts(self, group: str) -> list[str]:
        """Names of the hosts in ``group`` or any group below it, in Ansible's order."""
        self._require(group)
        return [name for name, host in self.hosts.items() if group in host.groups]

    def group_vars(self, group: str) -> dict:
        """The inventory vars of ``group`` and its ancestors, merged deeply whatever
        hash_behaviour says (a fresh copy): fleetcheck's view of the embedded defaults
        (selection.select). A host's own merge, group_vars/ files and hash_behaviour
        included, is HostEntry.vars (build.py)."""
        self._require(group)
        merged: dict[str, Any] = {}
        for name in self.ancestors(group):
            merged = deep_merge(merged, self.groups[name].vars)
        return copy.deepcopy(merged)

    def select(self, limit: str | None) -> list[HostEntry]:
        """The hosts a --limit pattern selects, in Ansible's order (see limit.py)."""
        from .limit import select

        return select(self, limit)

    def _require(self, group: str) -> None:
        if group not in self.groups:
            raise InventoryError(f"unknown group {group!r} (groups: {name_list(self.groups)})")
