"""Delegation to ansible-core: what fleetcheck does not read itself (inventory plugin
configurations such as constructed or aws_ec2, vault-encrypted files) is read by
running ``ansible-inventory --list`` as a subprocess, and its JSON goes through the
dynamic-inventory path (dynamic.add_json). ansible-core stays an optional, external
tool: it is never imported; without it such a source is one line saying what to
install.

    reason = needs_delegation("inventories/aws.aws_ec2.yml")   # or None
    load_source(["inventories/prod.yml", "inventories/aws.aws_ec2.yml"], options, builder)

One run reads every path given (``-i`` each, in order), with ``--playbook-dir``,
``--vault-password-file`` and ``--vault-id`` from :class:`SourceOptions`
(``$ANSIBLE_VAULT_PASSWORD_FILE`` is left in the environment: ansible honours it).

What comes back, as measured with ansible-core 2.19:

- hosts carry Ansible's *merged* vars (group vars, group_vars/, host_vars/ and
  hash_behaviour applied by Ansible; ``--export`` is not used), so fleetcheck's
  groups of a delegated source hold no vars of their own;
- a string Ansible got from templating (a ``compose`` result) or from a script is
  printed as ``{"__ansible_unsafe": "..."}``: it becomes the plain string;
- an inline ``!vault`` value is printed as ``{"__ansible_vault": "<ciphertext>"}``
  even when the password is given (ansible-inventory never decrypts inline values;
  only whole vault-encrypted files are decrypted to be parsed): it becomes
  :class:`model.VaultedValue`, as the YAML loader makes it;
- a templated value (``"{{ inventory_hostname }}-x"``) is printed as written, not
  resolved: it stays that string;
- groups are printed sorted by name, each group's hosts and children in Ansible's
  order: the groups are put back in the order Ansible walks them from 'all';
- no host put directly in 'all' is named as such (Ansible lists those first) and
  _meta.hostvars is sorted by name: such a host comes where its other groups put it.
  (``ansible all --list-hosts`` would tell, but below the first level of groups its
  order changes from run to run; fleetcheck keeps its own walk, the same every run.)

Bounded like an inventory script (script.py): own process group, stdin /dev/null,
at most MAX_SOURCE_BYTES of output, TIMEOUT_FACTOR x --inventory-timeout (one run
reads every source, each plugin with its own requests: 120 s by default), the group
killed on timeout. The environment is the user's (cloud plugins read their
credentials from it) minus what changes ansible-inventory's output or makes it
interactive (callbacks, debug, verbosity, colour, export mode, vault prompts), and
with parse failures made fatal: Ansible only warns about a source it cannot parse
and goes on with the others (or with an empty inventory). Every failure is one line
with the gist of Ansible's message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping
from typing import Any

from fleetcheck.values import shown

from .build import InventoryBuilder
from .dynamic import RefusedJSON, add_json, loads
from .errors import MAX_SOURCE_BYTES, InventoryError, name_list, one_line
from .hostvars import check_name
from .http import SourceOptions, is_url
from .model import VaultedValue
from .script import run_bounded

EXECUTABLE = "ansible-inventory"
EXECUTABLE_ENV = "FLEETCHECK_ANSIBLE_INVENTORY"
TIMEOUT_FACTOR = 6
DEFAULT_TIMEOUT = 120.0           # when --inventory-timeout is not a positive number
PLUGIN_CONFIG_MAX_BYTES = 1 << 20  # a plugin configuration is a few lines
MAX_SCANNED_ENTRIES = 20_000      # directory entries looked at by needs_delegation
MAX_SCANNED_DEPTH = 20
VAULT_HEADER = b"$ANSIBLE_VAULT"
WARNING_KEPT = 300                # characters of one ansible warning passed on

INSTALL = "pip install ansible-core"
# ansible-core's own inventory plugins; any other needs a collection.
BUILTIN_PLUGINS = frozenset({"advanced_host_list", "auto", "constructed", "generator",
                             "host_list", "ini", "script", "toml", "yaml"})
# Short plugin names ansible-core 2.19 redirects to a collection
# (ansible/config/ansible_builtin_runtime.yml, plugin_routing.inventory).
COLLECTION_OF = {
    "aws_ec2": "amazon.aws", "aws_rds": "amazon.aws", "azure_rm": "azure.azcollection",
    "cloudscale": "cloudscale_ch.cloud", "docker_machine": "community.docker",
    "docker_swarm": "community.docker", "foreman": "theforeman.foreman",
    "gcp_compute": "google.cloud", "gitlab_runners": "community.general",
    "hcloud": "hetzner.hcloud", "k8s": "kubernetes.core", "kubevirt": "community.kubevirt",
    "linode": "community.general", "netbox": "netbox.netbox", "nmap": "community.general",
    "online": "community.general", "openshift": "kubernetes.core",
    "openstack": "openstack.cloud", "scaleway": "community.general", "tower": "awx.awx",
    "virtualbox": "community.general", "vmware_vm_inventory": "community.vmware",
    "vultr": "ngine_io.vultr",
}
# File names cloud plugins insist on (their verify_file), ``prod.aws_ec2.yml``: only
# those no YAML inventory is likely to be named (not k8s.yml, openstack.yml, gcp.yml).
PLUGIN_OF_SUFFIX = {
    "aws_ec2": "aws_ec2", "aws_rds": "aws_rds", "azure_rm": "azure_rm",
    "gcp_compute": "gcp_compute", "vmware_vm_inventory": "vmware_vm_inventory",
    "netbox_inventory": "netbox", "nb_inventory": "netbox",
}
_SUFFIX = re.compile(r"(?:^|[._-])(" + "|".join(map(re.escape, PLUGIN_OF_SUFFIX)) +
                     r")\.ya?ml$")
_PLUGIN_KEY = re.compile(r"""^(?:plugin|'plugin'|"plugin")[ \t]*:(?P<rest>.*)$""", re.M)
_ALL_KEY = re.compile(r"""^(?:all|'all'|"all")[ \t]*:""", re.M)
_NULLS = {"", "~", "null", "Null", "NULL"}

# Directory entries Ansible skips in an inventory directory (inventory/manager.py
# IGNORED, with the default INVENTORY_IGNORE_EXTS).
_IGNORED_NAMES = {"host_vars", "group_vars", "vars_plugins"}
_IGNORED_EXTS = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
                 ".orig", ".cfg", ".retry")

# -- the environment of ansible-inventory --------------------------------------------
# Dropped: what would change the output, print to stdout, prompt, or load callbacks.
_DROPPED_ENV = {"ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_FORCE_COLOR", "ANSIBLE_INVENTORY",
                "ANSIBLE_PLAYBOOK_DIR"}
_DROPPED_PREFIXES = ("ANSIBLE_CALLBACK",)   # ANSIBLE_CALLBACKS_ENABLED, _PLUGINS, ...
# Forced: these win over ansible.cfg too (Ansible reads the environment first).
_FORCED_ENV = {
    "ANSIBLE_NOCOLOR": "True",
    "ANSIBLE_DEBUG": "False",             # debug lines go to stdout, into the JSON
    "ANSIBLE_VERBOSITY": "0",             # so do -v messages
    "ANSIBLE_INVENTORY_EXPORT": "False",  # the merged vars of each host, not --export's
    "ANSIBLE_LOAD_CALLBACK_PLUGINS": "False",
    "ANSIBLE_ASK_VAULT_PASS": "False",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
}


# -- finding ansible-inventory -------------------------------------------------------
def find_ansible_inventory() -> str | None:
    """The ansible-inventory to run: ``$FLEETCHECK_ANSIBLE_INVENTORY`` when set (and
    nothing else then), else the one beside the running Python (the venv fleetcheck
    is installed in), else the one on PATH; None when there is none."""
    return _locate()[0]


def _locate() -> tuple[str | None, str]:
    """(the executable or None, where it was looked for: for the error message)."""
    chosen = os.environ.get(EXECUTABLE_ENV)
    if chosen:
        found = chosen if _is_executable(chosen) else None
        return found, f"${EXECUTABLE_ENV}={chosen} is not an executable file"
    beside = os.path.join(os.path.dirname(sys.executable), EXECUTABLE)
    if sys.executable and _is_executable(beside):
        return beside, ""
    return shutil.which(EXECUTABLE), ""


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


# -- what needs ansible --------------------------------------------------------------
def is_plugin_config(path: str, text: str) -> str | None:
    """The plugin name when ``path`` (text ``text``) is an Ansible inventory plugin
    configuration, else None. As Ansible's 'auto' plugin decides: a .yml/.yaml file
    whose top-level mapping has a ``plugin:`` scalar (``plugin: constructed``,
    ``plugin: amazon.aws.aws_ec2``); a file named as a cloud plugin wants it
    (``prod.aws_ec2.yml``) is one even when its ``plugin:`` line is not found."""
    if not path.endswith((".yml", ".yaml")):
        return None
    name = _plugin_key(text)
    if name is None and not _ALL_KEY.search(text):  # 'all:' starts a YAML inventory
        match = _SUFFIX.search(os.path.basename(path))
        name = PLUGIN_OF_SUFFIX[match.group(1)] if match else None
    return name


def _plugin_key(text: str) -> str | None:
    """The value of a top-level ``plugin:`` key written in block style (a line at
    column 0), or in a one-document flow mapping (``{"plugin": "constructed"}``)."""
    for match in _PLUGIN_KEY.finditer(text):
        value = re.sub(r"(^|\s)#.*$", "", match.group("rest")).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1].strip()
        if value not in _NULLS and not value.startswith(("|", ">", "&", "*", "!", "{", "[")):
            return value[:200]
    body = text.lstrip()
    if body.startswith("{") and len(body) <= PLUGIN_CONFIG_MAX_BYTES:
        try:
            import yaml  # noqa: PLC0415 - only for this rare shape

            data = yaml.load(body, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except Exception:  # noqa: BLE001 - not YAML: the loaders say so, not this guess
            return None
        value = data.get("plugin") if isinstance(data, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def needs_delegation(path: str, playbook_dir: str | None = None) -> str | None:
    """Why ``path`` must be read through ansible-inventory, or None: it is (or, for a
    directory, holds) an inventory plugin configuration or a vault-encrypted file, or
    a vars file of group_vars/ or host_vars/ beside it (or beside ``playbook_dir``)
    is vault-encrypted. The reason reads after the path: '<path>: <reason>'."""
    if is_url(path) or not os.path.exists(path):
        return None
    if os.path.isdir(path):
        reason = _directory_reason(path)
        beside = path
    else:
        reason = _file_reason(path)
        beside = os.path.dirname(path) or "."
    if reason:
        return reason
    for base in (beside, playbook_dir):
        if base:
            found = _vaulted_vars_file(base)
            if found:
                where = "" if base == beside else " (beside the playbook directory)"
                return f"has a vault-encrypted vars file{where}: {_relative(found, base)}"
    return None


def vault_secret_given(options: SourceOptions,
                       environ: Mapping[str, str] | None = None) -> bool:
    """Whether ansible-inventory would get a vault secret: --vault-password-file,
    --vault-id, $ANSIBLE_VAULT_PASSWORD_FILE or $ANSIBLE_VAULT_IDENTITY_LIST (one
    named in ansible.cfg is not looked for). For the router: a source whose only
    reason is a vault-encrypted vars file may be read natively without one (its
    hosts refused one by one, build.py) rather than fail as a whole."""
    environ = os.environ if environ is None else environ
    return bool(options.vault_password_files or options.vault_ids
                or environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
                or environ.get("ANSIBLE_VAULT_IDENTITY_LIST"))


def _file_reason(path: str) -> str | None:
    head = _head(path, PLUGIN_CONFIG_MAX_BYTES + 1)
    if head.startswith(VAULT_HEADER):
        return "is a vault-encrypted file"
    text = "" if len(head) > PLUGIN_CONFIG_MAX_BYTES else head.decode("utf-8", "replace")
    plugin = is_plugin_config(path, text)
    if plugin:
        return f"is an Ansible inventory plugin configuration (plugin: {plugin})"
    return None


def _head(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""  # the reader that follows says why it cannot be read


def _directory_reason(path: str) -> str | None:
    """The first file of an inventory directory (Ansible's order: sorted, depth first,
    its skipped names left out) that needs ansible, as a reason."""
    for file in _walk(path, _inventory_entry):
        reason = _file_reason(file)
        if reason:
            return f"holds {_relative(file, path)}, which {reason}"
    return None


def _inventory_entry(name: str) -> bool:
    return not (name.startswith(".") or name in _IGNORED_NAMES or name.endswith(_IGNORED_EXTS))


def _vaulted_vars_file(base: str) -> str | None:
    """A vault-encrypted file under ``base``/group_vars or ``base``/host_vars."""
    for sub in ("group_vars", "host_vars"):
        top = os.path.join(base, sub)
        if os.path.isdir(top):
            for file in _walk(top, lambda name: not name.startswith(".")):
                if _head(file, len(VAULT_HEADER)) == VAULT_HEADER:
                    return file
    return None


def _walk(top: str, wanted) -> list[str]:
    """The regular files under ``top`` whose every name passes ``wanted``, in the order
    Ansible reads an inventory directory (sorted names, a directory read where it
    sorts); symlinks followed, each directory once, at most MAX_SCANNED_ENTRIES names
    and MAX_SCANNED_DEPTH levels looked at (what lies beyond is not scanned)."""
    files: list[str] = []
    seen = {os.path.realpath(top)}
    budget = MAX_SCANNED_ENTRIES
    stack = [(top, iter(_sorted_names(top)))]
    while stack and budget > 0:
        directory, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        budget -= 1
        full = os.path.join(directory, name)
        if not wanted(name):
            continue
        if os.path.isdir(full):
            real = os.path.realpath(full)
            if real not in seen and len(stack) <= MAX_SCANNED_DEPTH:
                seen.add(real)
                stack.append((full, iter(_sorted_names(full))))
        elif os.path.isfile(full):
            files.append(full)
    return files


def _sorted_names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def _relative(path: str, base: str) -> str:
    return os.path.relpath(path, base) if base else path


# -- the one-line refusals -----------------------------------------------------------
def install_hint(reason: str) -> str:
    """What to install to read a source that needs ansible for ``reason``."""
    match = re.search(r"plugin: ([\w.]+)", reason)
    plugin = match.group(1) if match else ""
    collection = _collection(plugin) if plugin else None
    if collection:
        return (f"ansible-core and the collection {collection}: {INSTALL} && "
                f"ansible-galaxy collection install {collection}")
    if collection == "":
        return (f"ansible-core and the collection that provides the {plugin} plugin: "
                f"{INSTALL}, then ansible-galaxy collection install that collection")
    return f"ansible-core: {INSTALL}"


def _collection(plugin: str) -> str | None:
    """The collection of ``plugin``: None for one of ansible-core's own, '' when not
    known (a short name ansible-core does not redirect)."""
    parts = plugin.split(".")
    if len(parts) >= 3:
        return None if parts[:2] == ["ansible", "builtin"] else ".".join(parts[:2])
    if plugin in BUILTIN_PLUGINS:
        return None
    return COLLECTION_OF.get(plugin, "")


def missing_ansible(source: str, reason: str, where: str = "") -> InventoryError:
    """``source`` needs ansible-core (``reason``), which is not installed (``where``:
    why the one named by $FLEETCHECK_ANSIBLE_INVENTORY is not used)."""
    looked = f"; {where}" if where else ""
    return InventoryError(f"{reason}; reading it needs {install_hint(reason)} "
                          f"(or --inventory-engine native to refuse it){looked}", source)


def native_refusal(source: str, reason: str) -> InventoryError:
    """--inventory-engine native and a source only ansible-inventory reads."""
    return InventoryError(f"{reason}: fleetcheck does not read it itself; "
                          "--inventory-engine auto or ansible reads it through "
                          f"ansible-inventory ({install_hint(reason)})", source)


# -- running ansible-inventory -------------------------------------------------------
def command(executable: str, paths: list[str], options: SourceOptions) -> list[str]:
    """The argument list: every path with ``--inventory=`` (a path may start with
    '-'), then the playbook directory and the vault secrets."""
    argv = [executable, "--list"]
    argv += [f"--inventory={path}" for path in paths]
    if options.playbook_dir:
        argv.append(f"--playbook-dir={options.playbook_dir}")
    argv += [f"--vault-password-file={file}" for file in options.vault_password_files]
    argv += [f"--vault-id={vault_id}" for vault_id in options.vault_ids]
    return argv


def environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the user's environment) as ansible-inventory gets it (see the module
    docstring): ANSIBLE_CONFIG, ANSIBLE_VAULT_PASSWORD_FILE, plugin paths, cloud
    credentials kept; output-changing and interactive settings dropped or forced."""
    env = {name: value for name, value in base.items()
           if name not in _DROPPED_ENV and not name.startswith(_DROPPED_PREFIXES)}
    env.update(_FORCED_ENV)
    return env


def timeout_of(options: SourceOptions) -> float:
    """TIMEOUT_FACTOR x --inventory-timeout, or DEFAULT_TIMEOUT without a usable one."""
    try:
        seconds = float(options.timeout)
    except (TypeError, ValueError):
        seconds = 0.0
    return TIMEOUT_FACTOR * seconds if seconds > 0 else DEFAULT_TIMEOUT


def load_source(paths: list[str], options: SourceOptions,
                builder: InventoryBuilder) -> list[str]:
    """Read ``paths`` with one ``ansible-inventory --list`` run and add its JSON to
    ``builder``. Returns Ansible's other warnings (deprecations, a host and a group
    of one name...), one line each, for the caller to show. Every failure raises one
    InventoryError; the load stops there, as sources.load does on any error."""
    paths = [os.fspath(path) for path in paths]
    if not paths:
        raise InventoryError("no inventory given to ansible-inventory")
    source = paths[0] if len(paths) == 1 else ", ".join(paths)
    _check_arguments(paths, options)
    executable, where = _locate()
    if executable is None:
        first = next(((p, r) for p in paths
                      if (r := needs_delegation(p, options.playbook_dir))), None)
        if first is None:
            first = (paths[0], "--inventory-engine ansible reads every inventory through "
                     "ansible-inventory")
        raise missing_ansible(first[0], first[1], where)
    stdout, stderr = _run(command(executable, paths, options), _given_paths(paths, options),
                          options, source)
    problem = _parse_failure(stderr, paths)
    if problem:
        raise InventoryError(problem[1], problem[0] or source)
    data = from_ansible(_json(stdout, source))
    before = len(builder.var_warnings)
    add_json(data, source, builder)
    # A group var arrives once per host: one warning per var, not one per host.
    del builder.var_warnings[before:]
    builder.var_warnings.extend(var_warnings(data, source))
    return warnings(stderr, paths)


def _given_paths(paths: list[str], options: SourceOptions) -> list[str]:
    """The paths given to ansible-inventory (sources, then vault password files):
    Ansible's messages name them absolute, fleetcheck's as the user wrote them."""
    secrets = [vault_id.rpartition("@")[2] for vault_id in options.vault_ids]
    return [*paths, *options.vault_password_files, *secrets]


def _check_arguments(paths: list[str], options: SourceOptions) -> None:
    for path in paths:
        if is_url(path):
            raise InventoryError("an HTTP inventory is read by fleetcheck itself, not "
                                 "through ansible-inventory", path)
        if "," in path:
            raise InventoryError("a path with ',' cannot be given to ansible-inventory "
                                 "(it reads it as a list of host names)", path)
        if not os.path.exists(path):
            raise InventoryError("no such file or directory", path)
    for vault_id in options.vault_ids:
        if vault_id == "prompt" or vault_id.endswith("@prompt"):
            raise InventoryError(
                f"--vault-id {vault_id[:80]} asks for the password at a prompt; fleetcheck "
                "runs ansible-inventory without a terminal: give a password file "
                "(--vault-id LABEL@FILE or --vault-password-file FILE)")


def _run(argv: list[str], paths: list[str], options: SourceOptions,
         source: str) -> tuple[bytes, str]:
    """(stdout, stderr as text) of a successful run; InventoryError otherwise."""
    timeout = timeout_of(options)
    try:
        proc = run_bounded(argv, timeout, MAX_SOURCE_BYTES, env=environment(os.environ))
    except OSError as exc:
        raise InventoryError(f"cannot run {argv[0]}: {exc.strerror or exc}", source) from None
    stdout, stderr, problem = proc.stdout, proc.stderr, proc.problem
    if problem == "timeout":
        raise InventoryError(
            f"ansible-inventory did not finish within {timeout:g}s (killed; "
            f"{TIMEOUT_FACTOR} x --inventory-timeout)", source)
    if problem == "too much":
        raise InventoryError(
            f"ansible-inventory printed more than {MAX_SOURCE_BYTES >> 20} MiB (killed; "
            "the limit of an inventory source)", source)
    text = stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        found = _parse_failure(text, paths)
        if found:
            raise InventoryError(found[1], found[0] or source)
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exited {proc.returncode}")
        detail = _replace_paths(_error_line(text), paths)
        if _VAULT_WORDS.search(detail):
            detail = _vault_gist(detail)
        raise InventoryError(f"ansible-inventory {how}" + (f": {detail}" if detail else ""),
                             source)
    return bytes(stdout), text


def _json(stdout: bytes, source: str) -> Any:
    try:
        return loads(stdout.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InventoryError(f"ansible-inventory printed bytes that are not UTF-8 "
                             f"(byte {exc.start})", source) from None
    except json.JSONDecodeError as exc:
        what = "nothing" if not stdout.strip() else "output that is not JSON"
        raise InventoryError(f"ansible-inventory printed {what} (line {exc.lineno} column "
                             f"{exc.colno}: {exc.msg})", source) from None
    except RefusedJSON as exc:
        raise InventoryError(f"ansible-inventory printed JSON that fleetcheck refuses: {exc}",
                             source) from None


# -- reading ansible's messages ------------------------------------------------------
# ansible-core 2.19, then the older form (2.9 to 2.18).
_PLUGIN_FAILED = (re.compile(r"^\[WARNING\]: Failed to parse inventory with '([^']+)' "
                             r"plugin: (.*)$"),
                  re.compile(r"^\[WARNING\]:\s+\*\s+Failed to parse .+? with (\S+) "
                             r"plugin: (.*)$"))
_SOURCE_FAILED = (re.compile(r"Completely failed to parse inventory source (.+)$"),
                  re.compile(r"Unable to parse (.+) as an inventory source$"))
_NOTHING_PARSED = re.compile(r"No inventory was parsed")
_ERROR = re.compile(r"^(?:\[ERROR\]:|ERROR!)\s*(.*)$")
_WARNING = re.compile(r"^\[(?:WARNING|DEPRECATION WARNING)\]:\s*(.*)$")
_VAULT_WORDS = re.compile(r"Decryption failed|no vault secrets|Attempting to decrypt|"
                          r"vault password|Vault format|vault-id", re.I)


def _parse_failure(stderr: str, paths: list[str]) -> tuple[str | None, str] | None:
    """(the source as the user wrote it, or None; the one-line reason) when Ansible
    says a source could not be parsed (as an error or, exit 0, as a warning)."""
    lines = stderr.splitlines()
    failed_at, failed = None, None
    for index, line in enumerate(lines):
        for pattern in _SOURCE_FAILED:
            match = pattern.search(line)
            if match:
                failed_at, failed = index, match.group(1).strip()
                break
        if failed is not None:
            break
    if failed is None:
        if any(_NOTHING_PARSED.search(line) for line in lines):
            return None, "ansible-inventory parsed no inventory source"
        return None
    tried = []
    for line in lines[:failed_at]:
        for pattern in _PLUGIN_FAILED:
            match = pattern.match(line)
            if match:
                tried.append((match.group(1), _clean(match.group(2))))
    shown = _user_path(failed, paths)
    if not tried:
        if not os.path.exists(failed):
            return shown, "ansible-inventory: no such file or directory"
        return shown, "ansible-inventory found no inventory plugin that reads it"
    plugin, reason = _best(tried, failed)
    reason = _replace_paths(reason, paths)
    if _VAULT_WORDS.search(reason):
        return shown, f"ansible-inventory could not decrypt it: {_vault_gist(reason)}"
    others = [name for name, _ in tried if name != plugin]
    also = f" (also tried: {', '.join(others)})" if others else ""
    return shown, (f"ansible-inventory could not parse it: {plugin} plugin: {reason}"
                   f"{_unknown_plugin_hint(reason)}{also}")


def _vault_gist(reason: str) -> str:
    """Ansible's vault message, and what to do about it."""
    reason = reason.rstrip(". ")
    if "Decryption failed" in reason:
        return f"{reason}; none of the vault passwords given opens it"
    if "no vault secrets" in reason:
        return (f"{reason}; it needs a vault password: --vault-password-file FILE, "
                "--vault-id LABEL@FILE or $ANSIBLE_VAULT_PASSWORD_FILE")
    return reason


def _best(tried: list[tuple[str, str]], path: str) -> tuple[str, str]:
    """The plugin failure that says most about ``path``: a vault failure first, then
    the plugin meant for a file like it (auto for a plugin configuration, yaml for
    .yml/.yaml/.json, ini for the rest)."""
    for plugin, reason in tried:
        if _VAULT_WORDS.search(reason):
            return plugin, reason
    text = _head(path, PLUGIN_CONFIG_MAX_BYTES).decode("utf-8", "replace")
    if is_plugin_config(path, text):
        order = ("auto", "yaml", "ini")
    elif path.endswith((".yml", ".yaml", ".json")):
        order = ("yaml", "auto", "ini")
    else:
        order = ("ini", "script", "yaml", "toml", "auto")
    by_name = {_short(plugin): (plugin, reason) for plugin, reason in reversed(tried)}
    for name in order:
        if name in by_name:
            return by_name[name]
    return tried[0]


def _short(plugin: str) -> str:
    return plugin.rsplit(".", 1)[-1]


def _clean(reason: str) -> str:
    reason = one_line(reason)
    return re.sub(r"^(?:Failed to parse inventory:\s*)+", "", reason)


def _unknown_plugin_hint(reason: str) -> str:
    match = re.search(r"specifies unknown plugin '([\w.]+)'", reason)
    collection = _collection(match.group(1)) if match else None
    return f" (ansible-galaxy collection install {collection})" if collection else ""


def _user_path(path: str, paths: list[str]) -> str:
    """``path`` as ansible prints it (absolute) in the user's spelling: a given path,
    or a path inside a given directory."""
    real = os.path.realpath(path)
    for given in paths:
        mine = os.path.realpath(given)
        if real == mine:
            return given
        if real.startswith(mine + os.sep):
            return os.path.join(given, os.path.relpath(real, mine))
    return path


def _replace_paths(text: str, paths: list[str]) -> str:
    for given in paths:
        absolute = os.path.abspath(given)
        if absolute != given:
            text = text.replace(absolute, given)
    return text


def _error_line(stderr: str) -> str:
    """The gist of a failed run: the last ERROR line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _ERROR.match(line)
        if match:
            return one_line(match.group(1))[:WARNING_KEPT]
    return one_line(lines[-1])[:WARNING_KEPT] if lines else ""


def warnings(stderr: str, paths: list[str]) -> list[str]:
    """Ansible's warnings of a good run, the first line of each, once."""
    found = []
    for line in stderr.splitlines():
        match = _WARNING.match(line)
        if match:
            text = _replace_paths(one_line(match.group(1)), paths)[:WARNING_KEPT]
            found.append(f"ansible-inventory: {text}")
    return list(dict.fromkeys(found))


def var_warnings(data: dict, source: str) -> list[str]:
    """The warnings about top-level var names (hostvars.check_name) of an
    ansible-inventory document that add_json took: a host var named on many hosts
    (as every group var is, Ansible having merged them) is one line naming them."""
    found: dict[str, list[str]] = {}
    judged: dict[str, str | None] = {}
    meta = data.get("_meta") or {}
    for host, values in (meta.get("hostvars") or {}).items():
        for name in values or ():
            if name not in judged:
                judged[name] = check_name(name)
            if judged[name]:
                found.setdefault(name, []).append(host)
    lines = []
    for name, hosts in found.items():
        who = (f"host {shown(hosts[0])}" if len(hosts) == 1
               else f"{len(hosts)} hosts ({name_list(hosts, 5)})")
        lines.append(str(InventoryError(f"{who}: {judged[name]}", source)))
    for group_name, group in data.items():
        values = group.get("vars") if group_name != "_meta" and isinstance(group, dict) else None
        for name in values or ():
            warning = check_name(name)
            if warning:
                lines.append(str(InventoryError(f"group {shown(group_name)}: {warning}", source)))
    return lines


# -- ansible's JSON into fleetcheck's ------------------------------------------------
UNSAFE_KEY = "__ansible_unsafe"
VAULT_KEY = "__ansible_vault"


def from_ansible(data: Any) -> Any:
    """ansible-inventory's document as fleetcheck's dynamic-inventory shape: the
    tagged values of host and group vars unwrapped (unsafe -> str, vault ->
    VaultedValue) and the groups in Ansible's walk order (see the module docstring).
    A document of another shape is returned for add_json to refuse."""
    if not isinstance(data, dict):
        return data
    meta = data.get("_meta")
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    if isinstance(hostvars, dict):
        for values in hostvars.values():
            _unwrap_in(values)
    for name, group in data.items():
        if name != "_meta" and isinstance(group, dict):
            _unwrap_in(group.get("vars"))
    return _in_walk_order(data)


def _tagged(value: Any) -> Any:
    """The value a tagged mapping stands for, or ``value`` itself."""
    if type(value) is dict and len(value) == 1:
        (key, inner), = value.items()
        if type(inner) is str:
            if key == UNSAFE_KEY:
                return inner
            if key == VAULT_KEY:
                return VaultedValue(inner)
    return value


def _unwrap_in(container: Any) -> None:
    """Replace every tagged value inside ``container`` (a vars mapping), in place,
    without recursion (the nesting is bounded by dynamic.loads)."""
    todo = [container] if isinstance(container, (dict, list)) else []
    while todo:
        current = todo.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, value in list(items):
            if isinstance(value, dict):
                plain = _tagged(value)
                if plain is not value:
                    current[key] = plain
                    continue
                todo.append(value)
            elif isinstance(value, list):
                todo.append(value)


def _in_walk_order(data: dict) -> dict:
    """``data`` with its groups in the order Ansible walks them from 'all' (level by
    level, each group's children in order), the rest after, '_meta' last."""
    def children(name: str) -> list[str]:
        group = data.get(name)
        kids = group.get("children") if isinstance(group, dict) else None
        return [kid for kid in kids if isinstance(kid, str)] if isinstance(kids, list) else []

    ordered = {"all": None} if "all" in data else {}
    level = list(ordered)
    while level:
        below = []
        for name in level:
            for kid in children(name):
                if kid not in ordered and kid in data:
                    ordered[kid] = None
                    below.append(kid)
        level = below
    names = list(ordered) + [name for name in data if name not in ordered and name != "_meta"]
    result = {name: data[name] for name in names}
    if "_meta" in data:
        result["_meta"] = data["_meta"]
    return result


__all__ = ["find_ansible_inventory", "is_plugin_config", "load_source", "missing_ansible",
           "native_refusal", "needs_delegation", "vault_secret_given"]
