"""Assembles hosts and groups from one or more sources into an :class:`Inventory`,
the way Ansible's inventory data and VariableManager do: groups and hosts are shared
by name across sources, groups without a parent hang under 'all', hosts without a
group land in 'ungrouped', and a host's vars are merged in Ansible's order (lowest
first; "groups" are the host's groups other than 'all', shallow before deep, then by
ansible_group_priority, then by name):

   1. ``base_vars``: fleetcheck's embedded defaults (where Ansible has role defaults)
   2. 'all''s inventory vars
   3. the groups' inventory vars
   4. 'all''s group_vars/ files beside each inventory source, in source order
   5. 'all''s group_vars/ files beside the playbook directory
   6. the groups' group_vars/ files beside the inventory sources (per source, then
      per group)
   7. the groups' group_vars/ files beside the playbook directory
   8. the host's inventory vars
   9. its host_vars/ files beside the inventory sources
  10. its host_vars/ files beside the playbook directory

(ansible-core's VARIABLE_PRECEDENCE default, vars/manager.py; measured against
``ansible-inventory --list``.) Each layer is combined from its parts first (one
source's files in order, then the sources), and then over the layers below it, as
Ansible does. Within one layer, a group or host defined several times (two files,
two parents) gets its definitions combined the same way, later wins.

How two definitions of one var combine: Ansible's ``hash_behaviour``. ``replace``
(Ansible's default): the higher definition replaces the lower one whole, a mapping
included. ``merge`` (ansible.cfg or ANSIBLE_HASH_BEHAVIOUR): mappings merge key by
key, recursively; anything else, lists included, is replaced. fleetcheck's own vars
(the top-level vars its areas declare, fleetcheck.varschema.by_area(), and every
``fleetcheck_*`` name) always merge: an admin who sets ``capacity.disk`` for a group
keeps ``capacity.load`` from 'all' and from the embedded defaults. An inventory
``ansible_group_priority`` sets the group's priority and is not a var of its hosts
(as in Ansible; one in a group_vars/ file is a plain var that orders nothing).

A group_vars/host_vars file that is vault-encrypted as a whole is not read: the hosts
it applies to are listed in ``Inventory.problems`` (host name -> reasons) so that they
are refused one by one.

Built for inventories of up to MAX_HOSTS hosts: the group graph is walked without
recursion, and the merged vars of a set of groups are computed once and shared by
every host of that set, read-only (model.FrozenDict; each host's ``vars`` is its own
model.CowDict over them, see model.py).
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.values import shown

from . import hostvars as hv
from .errors import (MAX_GROUP_DEPTH, MAX_HOST_VALUES, MAX_HOSTS, MAX_MERGED_ENTRIES,
                     InventoryError)
from .order import ansible_order
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


HASH_BEHAVIOURS = ("replace", "merge")


def fleetcheck_var_names() -> frozenset[str]:
    """The top-level vars fleetcheck's areas declare (and users' checks, through the
    pytest_fleetcheck_vars hook): these always merge deeply."""
    from fleetcheck import varschema

    return frozenset(name for declared in varschema.by_area().values() for name in declared)


@dataclass
class _FileVars:
    """The group_vars/host_vars files of one directory: name -> each file's vars."""

    groups: dict[str, list]
    hosts: dict[str, list]


class InventoryBuilder:
    def __init__(self, hash_behaviour: str = "replace") -> None:
        if hash_behaviour not in HASH_BEHAVIOURS:
            raise InventoryError(f"hash_behaviour: expected replace or merge, got "
                                 f"{shown(hash_behaviour)}")
        self.hash_behaviour = hash_behaviour
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, _Host] = {}
        self.sources: list[str] = []
        self._edges: dict[tuple[str, str], Where] = {}
        # top-level vars named like a fleetcheck var (hostvars.check_name), one line
        # each with the file and line: Inventory.var_warnings
        self.var_warnings: list[str] = []
        # group_vars/host_vars directories read (vardirs.py), in Ansible's order:
        # beside the inventory sources (source order), beside the playbook directory
        self._file_vars: dict[str, list[_FileVars]] = {"inventory": [], "playbook": []}
        # (group|host, name, file) of each vault-encrypted vars file: Inventory.problems
        self.vaulted: list[tuple[str, str, str]] = []
        self._deep_names: frozenset[str] | None = None
        # ansible.cfg's connection defaults (remote_user, private_key_file), given to
        # every HostEntry and the Inventory (sources.load sets them)
        self.defaults: dict = {}
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
        target.vars = self._combine_plain(target.vars, values) if target.vars else dict(values)

    def set_host_vars(self, host: str, values: dict) -> None:
        target = self.hosts[host]
        target.vars = self._combine_plain(target.vars, values) if target.vars else dict(values)

    def add_vars_files(self, scope: str, groups: dict[str, list], hosts: dict[str, list],
                       vaulted: list[tuple[str, str, str]] = ()) -> None:
        """One directory's group_vars/host_vars files (vardirs.read): ``scope`` is
        'inventory' (beside an inventory source; call in source order) or 'playbook'.
        ``groups``/``hosts``: name -> the vars of each of its files, in order."""
        self._file_vars[scope].append(_FileVars(groups, hosts))
        self.vaulted.extend(vaulted)

    def is_deep(self, name: str) -> bool:
        """Whether two mappings of var ``name`` merge (else the later replaces)."""
        if self.hash_behaviour == "merge" or name.startswith("fleetcheck_"):
            return True
        if self._deep_names is None:
            self._deep_names = fleetcheck_var_names()
        return name in self._deep_names

    def _combine_plain(self, base: dict, override: dict) -> dict:
        """``override`` over ``base`` by the rule of :meth:`is_deep` (plain dicts)."""
        merged = dict(base)
        for name, value in override.items():
            old = merged.get(name)
            if isinstance(old, dict) and isinstance(value, dict) and self.is_deep(name):
                merged[name] = deep_merge(old, value)
            else:
                merged[name] = value
        return merged

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
            if "ansible_group_priority" in group.vars:  # the group's, not its hosts' var
                group.vars = {name: value for name, value in group.vars.items()
                              if name != "ansible_group_priority"}
            group.vars = freezer.freeze(group.vars)
        files = {scope: [_FileVars({n: [freezer.freeze(v) for v in vs]
                                    for n, vs in layer.groups.items()},
                                   {n: [freezer.freeze(v) for v in vs]
                                    for n, vs in layer.hosts.items()})
                         for layer in layers]
                 for scope, layers in self._file_vars.items()}
        vaulted_groups, vaulted_hosts = self._vault_reasons()

        inventory = Inventory(hosts={}, groups=self.groups, sources=list(self.sources),
                              var_warnings=list(dict.fromkeys(self.var_warnings)))
        problems: dict[str, list[str]] = {}
        base = freezer.freeze(base_vars)
        base = base if isinstance(base, FrozenDict) else FrozenDict(base)
        by_groups: dict[tuple[str, ...], tuple[list[str], FrozenDict, int, list[str]]] = {}
        ancestors: dict[str, frozenset[str]] = {}
        where: list[_Host] = []

        def too_many(entries: int) -> InventoryError:
            host = where[-1]
            return InventoryError(
                f"merging the vars of the hosts makes more than {MAX_MERGED_ENTRIES} "
                f"entries (the limit of one inventory; reached at host {shown(host.name)}: "
                "large group vars merged for many different sets of groups?)", host.source)

        merger = _Combiner(MAX_MERGED_ENTRIES, too_many, self.is_deep)
        judged: dict[int, str | None] = {}   # merged vars shared by hosts: judged once
        any_host_files = any(layer.hosts for layers in files.values() for layer in layers)
        for host in self.hosts.values():
            where[:] = [host]
            key = tuple(host.groups)
            shared = by_groups.get(key)
            if shared is None:
                shared = by_groups[key] = self._merged(key, base, ancestors, freezer, merger,
                                                       files, vaulted_groups)
            ordered, merged, size, reasons = shared
            layers = [freezer.freeze(host.vars)] if host.vars else []
            if any_host_files:
                for scope in ("inventory", "playbook"):
                    layer = merger.fold([merger.fold(found.hosts.get(host.name, ()))
                                         for found in files[scope]])
                    if layer:
                        layers.append(layer)
            values = merged
            for number, layer in enumerate(layers, 1):
                last = number == len(layers)
                combined = merger.combine(values, layer, CowDict if last else FrozenDict,
                                          remember=False)
                for name in dict.keys(layer):
                    size += freezer.size(dict.__getitem__(combined, name)) - \
                        (freezer.size(dict.__getitem__(values, name)) if name in values else 0)
                values = combined
            if not layers:
                merger.count(len(merged))
                values = CowDict(merged)
            if size > MAX_HOST_VALUES:
                raise InventoryError(
                    f"the merged vars of host {shown(host.name)} hold {size} values (more than "
                    f"{MAX_HOST_VALUES}, the limit of one host)", host.source)
            if layers and any(hv.changes_merged(layer) for layer in layers):
                problem = hv.check_merged(values)
            else:
                if id(merged) not in judged:
                    judged[id(merged)] = hv.check_merged(merged)
                problem = judged[id(merged)]
            if problem:
                raise InventoryError(f"host {shown(host.name)}: {problem} (the merged vars)",
                                     host.source)
            found = reasons + vaulted_hosts.get(host.name, [])
            if found:
                problems[host.name] = found
            inventory.hosts[host.name] = HostEntry(
                name=host.name, vars=values, groups=list(ordered), source=host.source,
                problems=list(found), defaults=self.defaults)
        inventory.problems = problems
        inventory.defaults = self.defaults
        # Inventory.hosts in the order `ansible all --list-hosts` prints them (a run
        # audits and reports in that order); the order they were defined is kept for
        # the patterns that index it (--limit 'web*[0]', order.py)
        inventory.defined = list(inventory.hosts)
        ordered = ansible_order(inventory)
        if ordered != inventory.defined:
            inventory.hosts = {name: inventory.hosts[name] for name in ordered}
        return inventory

    def _merged(self, direct: tuple[str, ...], base: FrozenDict,
                ancestors: dict[str, frozenset[str]], freezer: Freezer, merger: _Combiner,
                files: dict[str, list[_FileVars]], vaulted: dict[str, list[str]]):
        """(groups in precedence order, their merged vars, its size, the vault problems
        of their vars files) for a host whose direct groups are ``direct``: computed
        once per distinct set of groups. The layers are the module docstring's 1-7."""
        names: set[str] = {"all"}
        for group in direct:
            names |= self._ancestors(group, ancestors)
        ordered = sorted(names, key=lambda n: self.groups[n].sort_key)
        others = [name for name in ordered if name != "all"]
        fold = merger.fold

        def from_files(scope: str, groups: list[str]):
            """One scope's files for ``groups``: per directory (its files for each
            group in turn), then the directories in order."""
            return fold([fold([values for name in groups
                               for values in found.groups.get(name, ())])
                         for found in files[scope]])

        layers = (
            self.groups["all"].vars,
            fold([self.groups[name].vars for name in others]),
            from_files("inventory", ["all"]),
            from_files("playbook", ["all"]),
            from_files("inventory", others),
            from_files("playbook", others),
        )
        merged = base
        for layer in layers:
            if layer:
                merged = merger.combine(merged, layer)
        reasons = [reason for name in ordered for reason in vaulted.get(name, ())]
        return ordered, merged, freezer.size(merged), reasons

    def _vault_reasons(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """What to tell about each vault-encrypted vars file, by group and by host."""
        groups: dict[str, list[str]] = {}
        hosts: dict[str, list[str]] = {}
        for kind, name, path in dict.fromkeys(self.vaulted):
            reason = (f"{path}: the vars file of {kind} {shown(name)} is vault-encrypted and "
                      "fleetcheck does not decrypt it (--vault-password-file or --vault-id, "
                      "with ansible-core installed, reads it through ansible-inventory)")
            (groups if kind == "group" else hosts).setdefault(name, []).append(reason)
        return groups, hosts

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


class _Combiner(Merger):
    """Ansible's combine_vars for frozen vars, counting what it makes (model.Merger).

    ``combine(base, override)``: each top-level var of ``override`` replaces
    ``base``'s, except that two mappings of a var for which ``deep(name)`` holds (every
    var with hash_behaviour=merge; fleetcheck's own always) merge recursively
    (Merger.merge: mappings key by key, anything else replaced). Results made as
    FrozenDict are remembered unless ``remember`` is False (a host's own: never met
    again). ``fold(layers)`` combines a list of layers from the first (None for none)."""

    def __init__(self, limit: int, too_many, deep) -> None:
        super().__init__(limit, too_many)
        self.deep = deep
        self._tops: dict[tuple[int, int], tuple[Any, Any, FrozenDict]] = {}

    def combine(self, base: dict, override: dict, result_type: type = FrozenDict,
                remember: bool = True) -> dict:
        remember = remember and result_type is FrozenDict
        key = (id(base), id(override))
        if remember:
            found = self._tops.get(key)
            if found is not None:
                return found[2]
        self.count(len(base) + len(override))
        merged = result_type(base)
        put, get, deep = dict.__setitem__, dict.get, self.deep
        for name, value in dict.items(override):
            old = get(merged, name)
            if isinstance(old, dict) and isinstance(value, dict) and deep(name):
                put(merged, name, self.merge(old, value))
            else:
                put(merged, name, value)
        if remember:
            self._tops[key] = (base, override, merged)
        return merged

    def fold(self, layers) -> FrozenDict | None:
        result = None
        for layer in layers:
            if layer:
                result = layer if result is None else self.combine(result, layer)
        return result


def _arrows(names: list[str], limit: int = 12) -> str:
    """'a -> b -> a', the middle of a long cycle left out."""
    cut = [n if len(n) <= 40 else f"{n[:37]}..." for n in names]
    if len(cut) > limit:
        cut = cut[: limit // 2] + [f"... ({len(cut) - limit} more)"] + cut[-(limit // 2):]
    return " -> ".join(cut)

