"""Inventories: load and validate Ansible-shaped YAML files, merge vars, select hosts.

    from fleetcheck.inventory import load, from_hostspecs, Inventory, HostEntry, InventoryError

    inventory = load(["inventories/prod.yml"])      # raises InventoryError: '<file>:<line>: ...'
    for host in inventory.select("web*:!web3"):     # Ansible --limit grammar
        host.address, host.port, host.user, host.connection, host.vars
"""

from .errors import InventoryError
from .hostspecs import from_hostspecs
from .loader import load
from .model import Group, HostEntry, Inventory, VaultedValue, deep_merge

__all__ = [
    "Group",
    "HostEntry",
    "Inventory",
    "InventoryError",
    "VaultedValue",
    "deep_merge",
    "from_hostspecs",
    "load",
]
