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
    """One host: its inventory name, its merged vars and where it comes from."""

    name: str
    vars: dict
    groups: list[str]
    source: str

    @property
    def address(self) -> str:
        return self.vars.get("ansible_host") or self.name

    @property
    def port(self) -> int:
        value = self.vars.get("ansible_port")
        return hv.DEFAULT_PORT if value is None else hv.to_port(value)

    @property
    def user(self) -> str | None:
        return self.vars.get("ansible_user")

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
        """Names of the hosts in ``group`` or any group below it, in inventory order."""
        self._require(group)
        return [name for name, host in self.hosts.items() if group in host.groups]

    def group_vars(self, group: str) -> dict:
        """The vars a host of ``group`` gets from it and its ancestors (a fresh copy)."""
        self._require(group)
        merged: dict[str, Any] = {}
        for name in self.ancestors(group):
            merged = deep_merge(merged, self.groups[name].vars)
        return copy.deepcopy(merged)

    def select(self, limit: str | None) -> list[HostEntry]:
        """The hosts a --limit pattern selects, in inventory order (see limit.py)."""
        from .limit import select

        return select(self, limit)

    def _require(self, group: str) -> None:
        if group not in self.groups:
            raise InventoryError(f"unknown group {group!r} (groups: {name_list(self.groups)})")
