"""The order Ansible lists hosts in: ``ansible all --list-hosts``, and a group's hosts.

ansible-core 2.19 lists the hosts of a group (Group.get_hosts) by walking the group
and the groups below it one level at a time: the group's own hosts, then the hosts
of its children (in the order the children were added), then those of the next
level, and so on; a host comes where it is first met, a group at the shallowest
level it is reached at. Group 'all' has 'ungrouped' as its first child (Ansible
makes it so when an inventory starts, before any source is read), and its own hosts
are the ones an inventory puts directly in it (YAML ``all: hosts:``).

Below the first level Ansible iterates a Python set of Group objects. Group does not
define ``__hash__``, so they hash by identity (memory address): the order in which
the groups of one level are visited changes from run to run, even with the same
PYTHONHASHSEED (measured: a three-level YAML inventory was listed in 6 different
orders over 14 runs of ``ansible all --list-hosts``). What stays the same from run to
run is the first two levels, in order, and which hosts each deeper level brings.
fleetcheck visits every level in the order its groups were reached (children of the
first group of the level above first, each group's children in order): one of the
orders Ansible produces, and the only one when each level below the first is reached
from a single group of the level above (the common shape: all > k8s_cluster >
kube_node, ...). :func:`levels` gives the walk level by level, for comparing with
what Ansible keeps stable.

Cost: one pass over the groups, their child lists and their host lists; no
recursion (a chain of groups can be long).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Inventory


def ansible_order(inventory: Inventory) -> list[str]:
    """The names of every host, in the order ``ansible all --list-hosts`` prints them."""
    return group_order(inventory, "all")


def group_order(inventory: Inventory, group: str) -> list[str]:
    """The names of the hosts of ``group`` and the groups below it, in Ansible's order
    for that group (what a subscript ``group[0]`` indexes)."""
    return [name for level in levels(inventory, group) for name in level]


def levels(inventory: Inventory, group: str = "all") -> list[list[str]]:
    """The hosts of ``group`` and below, level by level: ``[0]`` the group's own hosts,
    ``[1]`` those its children add, ``[2]`` those their children add, ... Ansible keeps
    levels 0 and 1 in this order; within a deeper level its order varies between
    runs, the hosts of the level do not.

    A host the walk does not reach but whose ``HostEntry.groups`` names ``group`` (an
    Inventory made without group members, as report.waivers makes one) comes in a
    last level, in inventory order."""
    groups = inventory.groups
    if group not in groups:
        return [[name for name, host in inventory.hosts.items() if group in host.groups]]
    found: dict[str, None] = {}
    result: list[list[str]] = []
    reached = {group}
    level = [group]
    while level:
        new: list[str] = []
        for name in level:
            for host in _own_hosts(inventory, name):
                if host not in found and host in inventory.hosts:
                    found[host] = None
                    new.append(host)
        result.append(new)
        below: list[str] = []
        for name in level:
            for child in _children(inventory, name):
                if child not in reached and child in groups:
                    reached.add(child)
                    below.append(child)
        level = below
    missed = [name for name, host in inventory.hosts.items()
              if name not in found and (group == "all" or group in host.groups)]
    if missed:
        result.append(missed)
    while len(result) > 1 and not result[-1]:
        result.pop()
    return result


def _children(inventory: Inventory, group: str) -> list[str]:
    """A group's children in Ansible's order: 'ungrouped' is the first child of 'all'."""
    children = inventory.groups[group].children
    if group != "all" or "ungrouped" not in inventory.groups:
        return children
    return ["ungrouped"] + [name for name in children if name != "ungrouped"]


def _own_hosts(inventory: Inventory, group: str) -> list[str]:
    """The hosts put directly in ``group`` (for 'all': those an inventory lists under
    'all' itself, not every host)."""
    return inventory.groups[group].hosts
