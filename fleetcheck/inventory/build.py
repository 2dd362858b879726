"""Assembles hosts and groups from one or more sources into an :class:`Inventory`,
the way Ansible's inventory data does: groups and hosts are shared by name across
files, later definitions win, groups without a parent hang under 'all', hosts
without a group land in 'ungrouped', and a host's vars are merged
all < parent < child < host (same depth: ansible_group_priority, then name).

Built for inventories of up to MAX_HOSTS hosts: the group graph is walked without
recursion, and the merged vars of a set of groups are computed once and shared by
every host of that set, read-only (model.FrozenDict; each host's ``vars`` is its own
model.CowDict over them, see model.py).
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field

from fleetcheck.values import shown

from . import hostvars as hv
from .errors import (MAX_GROUP_DEPTH, MAX_HOST_VALUES, MAX_HOSTS, MAX_MERGED_ENTRIES,
                     InventoryError)
from .model import CowDict, FrozenDict, Freezer, Group, HostEntry, Inventory, Merger, \
    deep_merge

Where = tuple[str | None, int | None]  # (file, line) for error messages


@contextlib.contextmanager
def without_gc():
    """No cyclic garbage collection while an inventory is built: the millions of
    objects of a large one made CPython's collector run again and again over all of
    them (4.3 s of 5.9 s composing 100,000 hosts of YAML). Nothing built here is
    cyclic garbage; the previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        # top-level vars named like a fleetcheck var (hostvars.check_name), one line
        # each with the file and line: Inventory.var_warnings
        self.var_warnings: list[str] = []
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
            raise InventoryError(f"group 'all' cannot be a child of group {shown(parent)}",
                                 file, line)
        self.add_group(parent)
        self.add_group(child, file, line)
        if (parent, child) not in self._edges:
            self._edges[(parent, child)] = (file, line)
            self.groups[parent].children.append(child)
            self.groups[child].parents.append(parent)

    def add_host(self, name: str, group: str, source: str, line: int | None = None) -> None:
        host = self.hosts.get(name)
        if host is None:
            if len(self.hosts) >= MAX_HOSTS:
                raise InventoryError(
                    f"more than {MAX_HOSTS} hosts (the limit of one inventory); split the "
                    "fleet into several inventories", source, line)
            host = self.hosts[name] = _Host(name, source)
        self.add_group(group)
        if group not in host.groups:
            host.groups.append(group)
            self.groups[group].hosts.append(name)

    def set_group_vars(self, group: str, values: dict) -> None:
        target = self.add_group(group)
        target.vars = deep_merge(target.vars, values) if target.vars else dict(values)

    def set_host_vars(self, host: str, values: dict) -> None:
        target = self.hosts[host]
        target.vars = deep_merge(target.vars, values) if target.vars else dict(values)

    # -- finishing ---------------------------------------------------------------
    def finish(self, base_vars: dict | None = None) -> Inventory:
        """The inventory. ``base_vars`` sit under 'all' (fleetcheck's defaults)."""
        with without_gc():
            return self._finish(base_vars or {})

    def _finish(self, base_vars: dict) -> Inventory:
        self._check_cycles()
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name, None, None)
        self._place_ungrouped()
        self._set_depths()
        freezer = Freezer()
        for group in self.groups.values():
            priority = group.vars.get("ansible_group_priority")
            try:
                group.priority = 1 if priority is None else hv.to_priority(priority)
            except ValueError as exc:
                raise InventoryError(f"group {shown(group.name)}: ansible_group_priority: {exc}",
                                     group.source, group.line) from None
            group.vars = freezer.freeze(group.vars)
        self.groups["all"].hosts = list(self.hosts)

        inventory = Inventory(hosts={}, groups=self.groups, sources=list(self.sources),
                              var_warnings=list(dict.fromkeys(self.var_warnings)))
        base = freezer.freeze(base_vars)
        base = base if isinstance(base, FrozenDict) else FrozenDict(base)
        by_groups: dict[tuple[str, ...], tuple[list[str], FrozenDict, int]] = {}
        ancestors: dict[str, frozenset[str]] = {}
        where: list[_Host] = []

        def too_many(entries: int) -> InventoryError:
            host = where[-1]
            return InventoryError(
                f"merging the vars of the hosts makes more than {MAX_MERGED_ENTRIES} "
                f"entries (the limit of one inventory; reached at host {shown(host.name)}: "
                "large group vars merged for many different sets of groups?)", host.source)

        merger = Merger(MAX_MERGED_ENTRIES, too_many)
        judged: dict[int, str | None] = {}   # merged vars shared by hosts: judged once
        for host in self.hosts.values():
            where[:] = [host]
            key = tuple(host.groups)
            shared = by_groups.get(key)
            if shared is None:
                shared = by_groups[key] = self._merged(key, base, ancestors, freezer, merger)
            ordered, merged, size = shared
            if host.vars:
                own = freezer.freeze(host.vars)
                values = merger.merge(merged, own, CowDict)
                for name in dict.keys(own):
                    size += freezer.size(dict.__getitem__(values, name)) - \
                        (freezer.size(dict.__getitem__(merged, name)) if name in merged else 0)
            else:
                merger.count(len(merged))
                values = CowDict(merged)
            if size > MAX_HOST_VALUES:
                raise InventoryError(
                    f"the merged vars of host {shown(host.name)} hold {size} values (more than "
                    f"{MAX_HOST_VALUES}, the limit of one host)", host.source)
            if host.vars and hv.changes_merged(host.vars):
                problem = hv.check_merged(values)
            else:
                if id(merged) not in judged:
                    judged[id(merged)] = hv.check_merged(merged)
                problem = judged[id(merged)]
            if problem:
                raise InventoryError(f"host {shown(host.name)}: {problem} (the merged vars)",
                                     host.source)
            inventory.hosts[host.name] = HostEntry(
                name=host.name, vars=values, groups=list(ordered), source=host.source)
        return inventory

    def _merged(self, direct: tuple[str, ...], base: FrozenDict,
                ancestors: dict[str, frozenset[str]], freezer: Freezer, merger: Merger):
        """(groups in precedence order, their merged vars, its size) for a host whose
        direct groups are ``direct``: computed once per distinct set of groups."""
        names: set[str] = {"all"}
        for group in direct:
            names |= self._ancestors(group, ancestors)
        ordered = sorted(names, key=lambda n: self.groups[n].sort_key)
        merged = base
        for name in ordered:
            values = self.groups[name].vars
            if values:
                merged = merger.merge(merged, values)
        return ordered, merged, freezer.size(merged)

    def _ancestors(self, group: str, memo: dict[str, frozenset[str]]) -> frozenset[str]:
        found = memo.get(group)
        if found is None:
            seen = {group}
            todo = [group]
            while todo:
                for parent in self.groups[todo.pop()].parents:
                    if parent not in seen:
                        seen.add(parent)
                        todo.append(parent)
            found = memo[group] = frozenset(seen)
        return found

    def _place_ungrouped(self) -> None:
        """Ansible's rule: a host is in 'ungrouped' exactly when it is in no group but
        'all' (an explicit 'ungrouped' membership is dropped once it has another)."""
        ungrouped = self.groups["ungrouped"]
        dropped: set[str] = set()
        for host in self.hosts.values():
            others = [g for g in host.groups if g not in ("all", "ungrouped")]
            if others and "ungrouped" in host.groups:
                host.groups.remove("ungrouped")
                dropped.add(host.name)
            elif not others and "ungrouped" not in host.groups:
                host.groups.append("ungrouped")
                ungrouped.hosts.append(host.name)
        if dropped:
            ungrouped.hosts = [name for name in ungrouped.hosts if name not in dropped]

    def _set_depths(self) -> None:
        """Each group's depth: its longest path from 'all' (the graph is acyclic by
        now), parents before children; deeper than MAX_GROUP_DEPTH is an error."""
        waiting = {name: len(group.parents) for name, group in self.groups.items()}
        ready = [name for name, count in waiting.items() if count == 0]
        for name in ready:
            self.groups[name].depth = 0
        while ready:
            name = ready.pop()
            group = self.groups[name]
            if group.depth > MAX_GROUP_DEPTH:
                raise InventoryError(
                    f"group {shown(name)} is {group.depth} levels below 'all' (more than "
                    f"{MAX_GROUP_DEPTH}, the limit of an inventory)", group.source, group.line)
            for child_name in group.children:
                child = self.groups[child_name]
                waiting[child_name] -= 1
                if waiting[child_name] == 0:
                    child.depth = 1 + max(self.groups[p].depth for p in child.parents)
                    ready.append(child_name)

    def _check_cycles(self) -> None:
        """A group that is its own ancestor is an error naming the cycle (a depth-first
        walk over children, without recursion: a chain of groups can be long)."""
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        for root in list(self.groups):
            if root in state:
                continue
            state[root] = 1
            path = [root]
            stack = [iter(self.groups[root].children)]
            while stack:
                for child in stack[-1]:
                    mark = state.get(child)
                    if mark == 1:
                        cycle = path[path.index(child):] + [child]
                        file, line = self._edges[(path[-1], child)]
                        raise InventoryError(
                            f"group {shown(child)} is its own ancestor: "
                            f"{_arrows(cycle)}", file, line)
                    if mark is None:
                        state[child] = 1
                        path.append(child)
                        stack.append(iter(self.groups[child].children))
                        break
                else:
                    stack.pop()
                    state[path.pop()] = 2


def _arrows(names: list[str], limit: int = 12) -> str:
    """'a -> b -> a', the middle of a long cycle left out."""
    cut = [n if len(n) <= 40 else f"{n[:37]}..." for n in names]
    if len(cut) > limit:
        cut = cut[: limit // 2] + [f"... ({len(cut) - limit} more)"] + cut[-(limit // 2):]
    return " -> ".join(cut)
