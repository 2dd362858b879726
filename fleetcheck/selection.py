"""Which hosts a run audits: --inventory files, testinfra's --hosts, --limit."""

from __future__ import annotations

import copy

from importlib import resources
from pathlib import Path

from fleetcheck import inventory


def default_inventory() -> str:
    """The embedded default inventory: this machine over local://."""
    return str(resources.files("fleetcheck") / "data" / "local.yml")


def select_hosts(option) -> tuple[dict, list[str]]:
    """Selected HostEntry objects by name, and the inventory files read.

    Raises InventoryError with one line on any bad input; the plugin
    turns it into a usage error (exit 4) before any host is touched.
    """
    defaults = inventory.load([default_inventory()]).group_vars("all")
    paths = list(option.fleet_inventory or [])
    specs = [s for s in (getattr(option, "hosts", None) or "").split(",") if s.strip()]
    limit = option.fleet_limit
    hosts: dict = {}
    if paths or not specs:
        files = paths or [default_inventory()]
        inv = inventory.load(files)
        for entry in inv.select(limit):
            # The embedded defaults sit under every inventory, as role defaults do in
            # Ansible: an inventory that sets no thresholds gets the sensible ones.
            entry.vars = inventory.deep_merge(copy.deepcopy(defaults), entry.vars)
            hosts[entry.name] = entry
        paths = files
    if specs:
        # testinfra's --hosts: these hosts get the `all` vars of the default inventory.
        adhoc = inventory.from_hostspecs(specs, defaults)
        # With --inventory too, --limit narrows the inventory; --hosts are explicit.
        hosts.update((h.name, h) for h in adhoc.select(None if hosts else limit))
    return hosts, [str(Path(p)) for p in paths]


def inventory_hosts(paths: list[str]) -> dict:
    """Every host of the inventory files, --limit or not, with the embedded defaults
    under their vars: a fix for a selected host may have to change another one (a
    host's DNS records live in the zone files of the DNS master)."""
    if not paths:
        return {}
    defaults = inventory.load([default_inventory()]).group_vars("all")
    hosts = {}
    for entry in inventory.load(paths).select(None):
        entry.vars = inventory.deep_merge(copy.deepcopy(defaults), entry.vars)
        hosts[entry.name] = entry
    return hosts
