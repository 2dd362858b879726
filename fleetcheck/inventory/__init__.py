"""Inventories: load and validate Ansible-shaped YAML files, merge vars, select hosts.

    from fleetcheck.inventory import load, from_hostspecs, Inventory, HostEntry, InventoryError

    inventory = load(["inventories/prod.yml"])      # raises InventoryError: '<file>:<line>: ...'
    for host in inventory.select("web*:!web3"):     # Ansible --limit grammar
        host.address, host.port, host.user, host.connection, host.vars

Sources (sources.load picks one per path): YAML files (loader), an http(s):// URL
serving Ansible's dynamic-inventory JSON (http, with auth, TLS, retries, a cache), an
executable inventory script run with --list (script), a .json file (dynamic).

Modules: loader (YAML -> builder, with lines), dynamic (inventory JSON -> builder),
build (groups, 'all'/'ungrouped', var precedence), ranges (web[01:20]), hostvars
(connection vars), limit (--limit), hostspecs (testinfra --hosts), model (HostEntry,
Group, Inventory), http and script (remote sources), sources (load: one per path).

Where fleetcheck departs from Ansible, on purpose (an audit that remediates should
stop on a doubtful inventory rather than guess):
- an unknown key in a group (``host:`` for ``hosts:``), a duplicate key, a range that
  expands to nothing (``web[05:01]``) or a bracket that is not a range (``web[1]``)
  is an error; Ansible warns or silently does something else;
- a var set at several levels combines as Ansible's ``hash_behaviour`` says (replace,
  its default; merge when ansible.cfg or ANSIBLE_HASH_BEHAVIOUR says so), except
  fleetcheck's own vars (those its areas declare, and every ``fleetcheck_*``): they
  always merge key by key, over the lower levels and the embedded defaults (build.py);
- a vault-encrypted group_vars/host_vars file, without a vault secret, refuses the
  hosts it applies to, not the whole inventory (vardirs.py); a file of an inventory
  directory that no reader takes is an error (Ansible warns and skips it), and a file
  of any extension that is a YAML inventory is read as one (Ansible reads YAML from
  .yml/.yaml/.json or extension-less files only); ansible.cfg lists drop empty items
  (ansiblecfg.py);
- hosts keep document order (Ansible reads a group's vars, children, then hosts);
- a null connection var means "unset" (a host can undo its group's ansible_user);
- not supported: Jinja templating of vars, decrypting ``!vault`` values (they load as
  opaque :class:`VaultedValue` objects), ``group[0:2]`` subscripts in --limit.
"""

from .errors import InventoryError
from .hostspecs import from_hostspecs
from .http import SourceOptions
from .sources import load
from .model import Group, HostEntry, Inventory, VaultedValue, deep_merge

__all__ = [
    "Group",
    "HostEntry",
    "Inventory",
    "InventoryError",
    "SourceOptions",
    "VaultedValue",
    "deep_merge",
    "from_hostspecs",
    "load",
]
