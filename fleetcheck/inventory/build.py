"""Assembles hosts and groups from one or more sources into an :class:`Inventory`,
the way Ansible's inventory data does: groups and hosts are shared by name across
files, later definitions win, groups without a parent hang under 'all', hosts
without a group land in 'ungrouped', and a host's vars are merged
all < parent < child < host (same depth: ansible_group_priority, then name)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from . import hostvars as hv
from .errors import InventoryError
from .model import Group, HostEntry, Inventory, deep_merge

Where = tuple[str | None, int | None]  # (file, line) for error messages


@dataclass
class _Host:
    name: str
    source: str
    vars: dict = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)  # direct groups


class InventoryBuilder:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, _Host] = {}
        self.sources: list[str] = []
        self._edges: dict[tuple[str, str], Where] = {}
        self.add_group("all")
        self.add_group("ungrouped")

    # -- filling -----------------------------------------------------------------
    def add_source(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)

    def add_group(self, name: str, file: str | None = None, line: int | None = None) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name, source=file, line=line)
        elif group.source is None and file is not None:
            group.source, group.line = file, line
        return group

    def add_child(self, parent: str, child: str, file: str | None, line: int | None) -> None:
        if child == "all":
            raise InventoryError(f"group 'all' cannot be a child of group {parent!r}", file, line)
        self.add_group(parent)
        self.add_group(child, file, line)
        if (parent, child) not in self._edges:
            self._edges[(parent, child)] = (file, line)
            self.groups[parent].children.append(child)
            self.groups[child].parents.append(parent)

    def add_host(self, name: str, group: str, source: str) -> None:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = _Host(name, source)
        self.add_group(group)
        if group not in host.groups:
            host.groups.append(group)
            self.groups[group].hosts.append(name)

    def set_group_vars(self, group: str, values: dict) -> None:
        target = self.add_group(group)
        target.vars = deep_merge(target.vars, values)

    def set_host_vars(self, host: str, values: dict) -> None:
        target = self.hosts[host]
        target.vars = deep_merge(target.vars, values)

    # -- finishing ---------------------------------------------------------------
    def finish(self) -> Inventory:
        self._check_cycles()
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name, None, None)
        self._place_ungrouped()
        depths: dict[str, int] = {}
        for group in self.groups.values():
            group.depth = self._depth(group.name, depths)
            priority = group.vars.get("ansible_group_priority")
            group.priority = 1 if priority is None else hv.to_priority(priority)
        self.groups["all"].hosts = list(self.hosts)

        inventory = Inventory(hosts={}, groups=self.groups, sources=list(self.sources))
        for host in self.hosts.values():
            names: set[str] = set()
            for direct in host.groups:
                names.update(inventory.ancestors(direct))
            names.add("all")
            ordered = sorted(names, key=lambda n: self.groups[n].sort_key)
            merged: dict = {}
            for name in ordered:
                merged = deep_merge(merged, self.groups[name].vars)
            merged = deep_merge(merged, host.vars)
            inventory.hosts[host.name] = HostEntry(
                name=host.name, vars=copy.deepcopy(merged), groups=ordered, source=host.source
            )
        return inventory

    def _place_ungrouped(self) -> None:
        """Ansible's rule: a host is in 'ungrouped' exactly when it is in no group but
        'all' (an explicit 'ungrouped' membership is dropped once it has another)."""
        ungrouped = self.groups["ungrouped"]
        for host in self.hosts.values():
            others = [g for g in host.groups if g not in ("all", "ungrouped")]
            if others and "ungrouped" in host.groups:
                host.groups.remove("ungrouped")
                ungrouped.hosts.remove(host.name)
            elif not others and "ungrouped" not in host.groups:
                host.groups.append("ungrouped")
                ungrouped.hosts.append(host.name)

    def _depth(self, name: str, memo: dict[str, int]) -> int:
        """Longest path from 'all' (the graph is acyclic by now)."""
        if name not in memo:
            parents = self.groups[name].parents
            memo[name] = 0 if not parents else 1 + max(self._depth(p, memo) for p in parents)
        return memo[name]

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for child in self.groups[name].children:
                if state.get(child) == 1:
                    cycle = path[path.index(child) :] + [child]
                    file, line = self._edges[(name, child)]
                    raise InventoryError(
                        f"group {child!r} is its own ancestor: {' -> '.join(cycle)}", file, line
                    )
                if child not in state:
                    visit(child)
            path.pop()
            state[name] = 2

        for name in list(self.groups):
            if name not in state:
                visit(name)
