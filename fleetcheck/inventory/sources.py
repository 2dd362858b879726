"""Where an inventory comes from, chosen per source as ansible-core picks its inventory
plugin (host_list, script, auto, yaml, ini, in that order), and the vars read beside
the sources (group_vars/, host_vars/) and from ansible.cfg.

  an http(s):// URL                  http.py (fleetcheck's own: Ansible has no such plugin)
  ``a,b:2222,c`` (a ',' and no such  a host list: each host in 'ungrouped', ``:port``
  path)                              read, as Ansible's host_list plugin
  a directory                        every file in it, in Ansible's order (directory.py),
                                     each read by the rules below
  an executable file starting #!     an inventory script run with --list (script.py)
  a ``.ini`` file, or one that does  an INI inventory (ini.py)
  not read as a YAML mapping but
  looks like INI
  a .yml/.yaml mapping with a        an inventory plugin configuration: read through
  ``plugin:`` name                   ansible-inventory (delegate.py)
  anything else                      a YAML inventory (loader.py; a static .json too)

A source that only ansible-inventory reads (a plugin configuration, a vault-encrypted
or TOML inventory file, anywhere in the sources or in an inventory directory), or one
whose group_vars/host_vars hold a vault-encrypted file when a vault secret is given
(--vault-password-file, --vault-id, or ansible.cfg/ANSIBLE_VAULT_PASSWORD_FILE), makes
the whole load go through one ``ansible-inventory --list`` run over every local source
(in order: a ``constructed`` configuration needs the hosts of the sources before it);
URLs and host lists are still read here (their hosts then get no playbook-directory
vars: ansible-inventory applied those to the others). ``--inventory-engine ansible`` always does
so, ``native`` never (such a source is then one line saying why). Without a vault
secret, a vault-encrypted vars file refuses the hosts it applies to, one by one
(Inventory.problems), not the inventory.

After every source is read: the group_vars/ and host_vars/ beside each source (not
beside a URL or a host list) in source order, then beside the playbook directory
(``--playbook-dir``, else the current directory, as ansible-inventory reads it), as
build.py orders them. ansible.cfg (ansiblecfg.py) gives hash_behaviour, the ignore
rules of inventory directories and ``Inventory.defaults`` (remote_user,
private_key_file). Several sources merge as Ansible merges them: later wins.
"""

from __future__ import annotations

import os

from yaml.nodes import MappingNode, ScalarNode

from fleetcheck.values import shown

from . import ansiblecfg, delegate, directory, http, ini, script, vardirs
from .build import InventoryBuilder, without_gc
from .dynamic import add_json
from .errors import InventoryError
from .hostvars import check_var
from .http import SourceOptions
from .loader import _FileLoader, _is_null, _read
from .model import Inventory
from .ranges import split_port

YAML_EXTENSIONS = ("", ".yml", ".yaml", ".json")   # the yaml plugin's, and none
PLUGIN_EXTENSIONS = (".yml", ".yaml")              # the auto plugin's
VAULT_HEADER = "$ANSIBLE_VAULT"


def kind(source: str) -> str:
    """'http', 'hostlist', 'directory', 'script', 'ini' (by its extension) or 'yaml'
    (any other file: what it really is, INI or YAML or a plugin configuration, is
    decided from its text when it is read)."""
    if http.is_url(source):
        return "http"
    if is_host_list(source):
        return "hostlist"
    if os.path.isdir(source):
        return "directory"
    if script.is_script(source):
        return "script"
    if os.path.splitext(source)[1] == ".ini":
        return "ini"
    return "yaml"


def is_host_list(source: str) -> bool:
    """Ansible's host_list rule: a ',' in a source that is not an existing path."""
    return "," in source and not os.path.exists(source)


def load(paths, options: SourceOptions | None = None, base_vars: dict | None = None, *,
         config: ansiblecfg.AnsibleConfig | None = None, vars_dirs: bool = True
         ) -> Inventory:
    """Load and merge inventories; ``Inventory.notes`` says what the run must be told
    (an HTTP inventory answered from the cache, ansible-inventory's warnings),
    ``Inventory.problems`` which hosts to refuse and why, ``Inventory.defaults`` the
    ansible.cfg connection defaults. ``base_vars`` sit under every host's vars
    (fleetcheck's defaults). ``config``: the ansible.cfg settings (default: the one
    Ansible would read here). ``vars_dirs=False`` reads no group_vars/host_vars (for
    fleetcheck's embedded inventory)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InventoryError("no inventory file given")
    options = options or SourceOptions()
    config = ansiblecfg.load() if config is None else config
    fetched: dict[str, tuple] = {}   # URL -> (data, note): fetched once for both passes
    with without_gc():
        run = _Load(paths, options, config, vars_dirs, fetched,
                    delegated=options.engine == "ansible")
        try:
            inventory = run.load(base_vars)
        except _NeedsAnsible:
            run = _Load(paths, options, config, vars_dirs, fetched, delegated=True)
            inventory = run.load(base_vars)
    inventory.notes = run.notes + list(config.warnings)
    return inventory


class _NeedsAnsible(Exception):
    """A source only ansible-inventory reads, met while reading natively: start again
    with every local source delegated."""


def _is_local(source: str) -> bool:
    return not http.is_url(source) and not is_host_list(source)


class _Load:
    """One pass over the sources: natively, or with the local ones delegated."""

    def __init__(self, paths: list[str], options: SourceOptions,
                 config: ansiblecfg.AnsibleConfig, vars_dirs: bool, fetched: dict,
                 delegated: bool):
        self.paths, self.options, self.config = paths, options, config
        self.vars_dirs, self.fetched, self.delegated = vars_dirs, fetched, delegated
        self.builder = InventoryBuilder(config.hash_behaviour)
        self.builder.defaults = config.defaults
        self.notes: list[str] = []
        self._ignored = None

    def load(self, base_vars: dict | None) -> Inventory:
        local = [path for path in self.paths if _is_local(path)]
        for path in self.paths:
            if not _is_local(path):
                self._remote_or_list(path)
            elif not self.delegated:
                self._source(path)
            elif path == local[0]:
                self._delegate(local)
        if self.vars_dirs and not self.delegated:
            self._vars_dirs(local)
        return self.builder.finish(base_vars)

    # -- choosing a reader ------------------------------------------------------------
    def _remote_or_list(self, path: str) -> None:
        if is_host_list(path):
            _host_list(path, self.builder)
            return
        again = path in self.fetched
        if not again:
            self.fetched[path] = http.fetch(path, self.options)
        data, note = self.fetched[path]
        # Any error stops the whole load, so nothing half-added is ever used.
        add_json(data, http.display_url(path), self.builder)
        if note is None:
            if not again:
                http.write_cache(path, data, self.options)
        else:
            self.notes.append(note)

    def _source(self, path: str) -> None:
        if os.path.isdir(path):
            found = directory.files(path, self._ignore_rule())
            if not found:
                raise InventoryError("the inventory directory holds no inventory file "
                                     "(hidden files, group_vars/, host_vars/ and the "
                                     "ignored extensions are skipped)", path)
            for file in found:
                self._file(file)
            return
        self._file(path)

    def _file(self, path: str) -> None:
        if script.is_script(path):
            add_json(script.run_script(path, self.options.timeout), path, self.builder)
            return
        if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
            raise InventoryError("not a regular file (a FIFO, a socket or a device)", path)
        text = _read(path)
        ext = os.path.splitext(path)[1]
        if text.startswith(VAULT_HEADER):
            self._needs_ansible(path, "is a vault-encrypted file")
        if ext == ".toml":
            self._needs_ansible(path, "is a TOML inventory (Ansible's toml plugin)")
        if (ext == ".ini" or ext not in YAML_EXTENSIONS
                                and ini.looks_like_ini(text)):
            ini.load(path, self.builder, text)
            return
        loader = _FileLoader(path, self.builder)
        try:
            root = loader._compose(text)
        except InventoryError:
            if ini.looks_like_ini(text):
                ini.load(path, self.builder, text)
                return
            raise
        if isinstance(root, MappingNode):
            plugin = _plugin_name(root) if ext in PLUGIN_EXTENSIONS else None
            if plugin:
                self._needs_ansible(path, "is an Ansible inventory plugin configuration "
                                          f"(plugin: {plugin})")
        elif ini.looks_like_ini(text):
            ini.load(path, self.builder, text)
            return
        loader.load_composed(text, root)

    def _needs_ansible(self, path: str, reason: str) -> None:
        """``path`` is read by ansible-inventory only: start again delegated, or say why
        it cannot be."""
        if self.options.engine == "native":
            raise delegate.native_refusal(path, reason)
        raise _NeedsAnsible(path, reason)

    def _delegate(self, local: list[str]) -> None:
        self.notes.extend(delegate.load_source(local, self.options, self.builder))

    def _ignore_rule(self):
        if self._ignored is None:
            self._ignored = directory.ignore_rule(self.config.inventory_ignore_extensions,
                                                  self.config.inventory_ignore_patterns)
        return self._ignored

    # -- group_vars/ and host_vars/ ------------------------------------------------------
    def _vars_dirs(self, local: list[str]) -> None:
        bases = [("inventory", vardirs.base_dir(path)) for path in local]
        playbook = self.options.playbook_dir
        if playbook is not None and not os.path.isdir(playbook):
            raise InventoryError("--playbook-dir: no such directory", playbook)
        bases.append(("playbook", os.path.abspath(playbook or os.curdir)))
        may_delegate = bool(local) and self._may_delegate_vault()
        for scope, base in bases:
            if base is None:
                continue
            found = vardirs.read(base, self.builder)
            if found.vaulted and may_delegate:
                kind, name, file = found.vaulted[0]
                self._needs_ansible(file, f"is the vault-encrypted vars file of {kind} "
                                          f"{shown(name)}")
            self.builder.add_vars_files(scope, found.groups, found.hosts, found.vaulted)

    def _may_delegate_vault(self) -> bool:
        """Whether a vault secret is given that ansible-inventory would use."""
        if self.options.engine == "native":
            return False
        return bool(self.options.vault_password_files or self.options.vault_ids
                    or self.config.has_vault_secret)


def _plugin_name(root: MappingNode) -> str | None:
    """The ``plugin:`` of a top-level mapping (a non-null scalar), as Ansible's auto
    plugin reads it; a ``plugin:`` that is a mapping is a group named plugin."""
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "plugin" \
                and isinstance(value, ScalarNode) and not _is_null(value) and value.value:
            return value.value[:200]
    return None


def _host_list(source: str, builder: InventoryBuilder) -> None:
    """Ansible's host_list plugin: ``a,b:2222,[v6]:22``; each host in 'ungrouped' unless
    an earlier source has it (then it is left as it is, its port too)."""
    builder.add_source(source)
    for item in source.split(","):
        item = item.strip()
        if not item:
            continue
        name, port = _address(item)
        if not name:
            raise InventoryError(f"host list: {shown(item)} names no host", source)
        if name in builder.hosts:
            continue
        reason = check_var("ansible_port", port)
        if reason:
            raise InventoryError(f"host list: host {shown(name)}: {reason}", source)
        builder.add_host(name, "ungrouped", source)
        if port is not None:
            builder.set_host_vars(name, {"ansible_port": port})


def _address(item: str) -> tuple[str, int | None]:
    """(host, port) of one host list item, as Ansible's parse_address without ranges:
    ``name:port``, ``[v6]:port``, a bare IPv6 address; what does not parse is a name."""
    if item.startswith("[") and "]" in item:
        inside, _, rest = item[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            return inside, int(rest[1:])
        return item, None
    name, port = split_port(item)
    if port is not None and port.isdigit() and name.count(":") == 0:
        return name, int(port)
    return item, None
