"""Inventories: read the shop's Ansible inventories, merge vars, select hosts.

    from fleetcheck.inventory import load, from_hostspecs, Inventory, HostEntry, InventoryError

    inventory = load(["inventories/prod.yml"])      # raises InventoryError: '<file>:<line>: ...'
    for host in inventory.select("web*:!web3"):     # Ansible --limit grammar
        host.address, host.port, host.user, host.connection, host.vars

Sources (sources.load routes each path, as ansible-core 2.19 would read it): an
http(s):// URL serving Ansible's dynamic-inventory JSON (http: auth, TLS, retries, a
cache), a host list (``web1,web2``), an inventory directory (directory: every file in
Ansible's order and ignore rules), an executable script run with --list (script), an
INI file (ini), a YAML or .json file (loader, dynamic); inventory plugin configs and
vault-encrypted files go to ``ansible-inventory --list`` (delegate). Beside each local
source and --playbook-dir, group_vars/ and host_vars/ (vardirs); the shop's
ansible.cfg (ansiblecfg) gives the defaults, hash_behaviour and ignore rules.

Modules: sources (the router), ini, loader (YAML -> builder, with lines), dynamic
(inventory JSON -> builder), directory, vardirs, ansiblecfg, delegate, build (groups,
'all'/'ungrouped', Ansible's var precedence, hosts in ``ansible --list-hosts`` order),
order (that order), ranges (web[01:20]), hostvars (connection vars, aliases, per-host
refusals), limit (--limit: Ansible's patterns), hostspecs (testinfra --hosts), model
(HostEntry, Group, Inventory), http and script (remote sources).

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
- a null connection var means "unset" (a host can undo its group's ansible_user);
- not supported natively: Jinja templating of vars beyond ``{{ var }}`` references in
  connection vars (a templated value is reported as templated), decrypting inline
  ``!vault`` values (they load as opaque :class:`VaultedValue` objects; ansible-inventory
  --list does not decrypt them either).
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
