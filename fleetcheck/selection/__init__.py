"""Which hosts a run audits: --inventory sources (YAML files, URLs, scripts),
testinfra's --hosts, --limit, --where, and which of them are offline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fleetcheck import inventory
from fleetcheck.selection import filters
from fleetcheck.inventory import ansiblecfg, http, sources


# testinfra's options that are defaults of its --hosts specs (fleetcheck.inventory.hostspecs)
TESTINFRA_DEFAULTS = ("connection", "sudo", "sudo_user", "ssh_identity_file", "ssh_config")


def default_inventory() -> str:
    """The embedded default inventory: this machine over local://."""
    return str(resources.files("fleetcheck") / "data" / "local.yml")


def load_embedded() -> inventory.Inventory:
    """The embedded inventory, as shipped: no group_vars/host_vars of the current
    directory and no ansible.cfg apply to it (they belong to the shop's inventory)."""
    return inventory.load([default_inventory()], config=ansiblecfg.AnsibleConfig(),
                          vars_dirs=False)


@dataclass
class Selection:
    hosts: dict                                  # HostEntry by name, inventory order
    sources: list[str]                           # as shown (URLs without query strings)
    notes: list[str] = field(default_factory=list)   # said loudly in the run's outputs
    offline: list[str] = field(default_factory=list)  # selected hosts marked offline
    remote: bool = False                         # read from a URL or a script
    # Inventory hosts not selected: a fix for a selected host may have to change one of
    # them (a host's DNS records live in the zone files of the DNS master).
    others: dict = field(default_factory=dict)
    # --hosts specs over a connection fleetcheck does not run (docker://, ...): for
    # testinfra's own tests only; a check collected with them is a usage error
    foreign: list[str] = field(default_factory=list)

    def to_wire(self) -> dict:
        """Plain data for pytest-xdist's workerinput (execnet sends basic types only)."""
        def wire(entries):
            return [[h.name, h.vars, h.groups, h.source, h.problems, h.defaults]
                    for h in entries.values()]
        return json.loads(json.dumps(
            {"hosts": wire(self.hosts), "others": wire(self.others), "sources": self.sources,
             "notes": self.notes, "offline": self.offline, "remote": self.remote,
             "foreign": self.foreign},
            default=repr))

    @classmethod
    def from_wire(cls, data: dict) -> "Selection":
        def unwire(rows):
            return {row[0]: inventory.HostEntry(*row) for row in rows}
        return cls(unwire(data["hosts"]), data["sources"], data["notes"], data["offline"],
                   data["remote"], unwire(data.get("others", [])), data.get("foreign", []))


def source_options(option) -> inventory.SourceOptions:
    """SourceOptions from the command line (missing attributes: the defaults)."""
    defaults = inventory.SourceOptions()
    timeout = getattr(option, "fleet_inventory_timeout", None)
    return inventory.SourceOptions(
        auth_file=getattr(option, "fleet_inventory_auth", None),
        token_env=getattr(option, "fleet_inventory_token_env", None),
        ca_file=getattr(option, "fleet_inventory_ca", None),
        timeout=defaults.timeout if timeout is None else timeout,
        cache_ok=bool(getattr(option, "fleet_inventory_cache_ok", False)),
        engine=getattr(option, "fleet_inventory_engine", None) or defaults.engine,
        playbook_dir=getattr(option, "fleet_playbook_dir", None),
        vault_password_files=tuple(getattr(option, "fleet_vault_password_file", None) or ()),
        vault_ids=tuple(getattr(option, "fleet_vault_id", None) or ()),
    )


def select(option) -> Selection:
    """Raises InventoryError with one line on any bad input; the plugin turns it into
    a usage error (exit 4) before any host is touched."""
    config = ansiblecfg.load()
    defaults = load_embedded().group_vars("all")
    paths = list(option.fleet_inventory or [])
    specs = [s for s in (getattr(option, "hosts", None) or "").split(",") if s.strip()]
    limit = option.fleet_limit
    hosts: dict = {}
    others: dict = {}
    notes: list[str] = []
    foreign: list[str] = []
    if paths or not specs:
        # No --inventory: the one the shop's ansible.cfg names ([defaults] inventory,
        # $ANSIBLE_INVENTORY), as `ansible` reads it, else the embedded one (this machine)
        files = paths or list(config.inventory) or [default_inventory()]
        # The embedded defaults sit under every inventory, as role defaults do in
        # Ansible: an inventory that sets no thresholds gets the sensible ones. They
        # are merged once per set of groups, not copied into each host.
        if files == [default_inventory()]:
            inv = inventory.load(files, source_options(option), base_vars=defaults,
                                 config=ansiblecfg.AnsibleConfig(), vars_dirs=False)
        else:
            inv = inventory.load(files, source_options(option), base_vars=defaults,
                                 config=config)
        notes = list(inv.notes)
        if not paths and config.inventory:
            origin = config.origins.get("inventory", config.file or "ansible.cfg")
            notes.insert(0, f"inventory from {origin}: {', '.join(files)}")
        # A top-level var within a typo of one fleetcheck reads (`capacty`): a warning
        # line in the terminal and the reports, an error with --strict-vars.
        warnings = list(getattr(inv, "var_warnings", []) or [])
        if warnings and getattr(option, "fleet_strict_vars", False):
            raise inventory.InventoryError(f"{warnings[0]} (--strict-vars)")
        notes += warnings
        hosts.update((entry.name, entry) for entry in inv.select(limit))
        others.update(inv.hosts)
        paths = files
    if specs:
        # testinfra's --hosts: these hosts get the `all` vars of the default inventory.
        # testinfra's --connection, --sudo, ... are the specs' defaults, as for testinfra
        adhoc = inventory.from_hostspecs(
            specs, defaults, {k: getattr(option, k, None) for k in TESTINFRA_DEFAULTS},
            foreign)
        # With --inventory too, --limit narrows the inventory; --hosts are explicit.
        if adhoc.hosts or not foreign:  # only foreign specs: no host for the checks
            hosts.update((h.name, h) for h in adhoc.select(None if hosts else limit))
    wheres = getattr(option, "fleet_where", None)
    if wheres:
        hosts = {h.name: h for h in filters.select(list(hosts.values()), wheres)}
    offline = [name for name, entry in hosts.items() if filters.is_offline(entry)]
    shown = [http.display_url(p) if http.is_url(p) else str(Path(p)) for p in paths]
    remote = any(sources.kind(p) in ("http", "script") for p in paths)
    others = {n: e for n, e in others.items() if n not in hosts}
    return Selection(hosts, shown, notes, offline, remote, others, foreign)


def select_hosts(option) -> tuple[dict, list[str]]:
    """Selected HostEntry objects by name, and the inventory sources read."""
    chosen = select(option)
    return chosen.hosts, chosen.sources
