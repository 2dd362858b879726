"""The connection variables fleetcheck understands, their checks and conversions.

Only the ``ansible_*`` variables that decide how fleetcheck reaches a host are
checked; every other variable is the checks' business. A null value means
"not set" (the default applies), so a host can unset what a group set.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fleetcheck import values

DEFAULT_PORT = 22
DEFAULT_CONNECTION = "paramiko"

# Ansible connection names (short and fully qualified) -> fleetcheck backend.
# 'smart' is Ansible's "pick one for me"; fleetcheck's default backend is paramiko.
CONNECTIONS = {
    "paramiko": "paramiko",
    "paramiko_ssh": "paramiko",
    "ansible.builtin.paramiko_ssh": "paramiko",
    "ssh": "ssh",
    "ansible.builtin.ssh": "ssh",
    "local": "local",
    "ansible.builtin.local": "local",
    "smart": "paramiko",
}
# Connections fleetcheck runs through pytest-testinfra's backend of the same kind
# (fleetcheck.connect.backends: with fleetcheck's command timeout). testinfra's `lxc`
# backend runs `lxc exec`, LXD's client: Ansible's lxd connection, not its lxc one
# (liblxc's Python binding on the controller).
TESTINFRA_CONNECTIONS = {
    "docker": "docker",
    "community.docker.docker": "docker",
    "community.general.docker": "docker",
    "podman": "podman",
    "containers.podman.podman": "podman",
    "kubectl": "kubectl",
    "kubernetes.core.kubectl": "kubectl",
    "community.kubernetes.kubectl": "kubectl",
    "lxd": "lxd",
    "community.general.lxd": "lxd",
}
# Not run, on purpose (the host is refused, saying why): winrm and psrp reach Windows,
# where fleetcheck's checks (Linux commands) do not apply; testinfra's salt backend has
# no command timeout (a stuck minion would hold the run).
_WHY_NOT = {
    "winrm": "a Windows host: fleetcheck's checks are for Linux",
    "psrp": "a Windows host: fleetcheck's checks are for Linux",
    "ansible.builtin.winrm": "a Windows host: fleetcheck's checks are for Linux",
    "ansible.builtin.psrp": "a Windows host: fleetcheck's checks are for Linux",
    "saltstack": "testinfra's salt backend has no command timeout",
    "community.general.saltstack": "testinfra's salt backend has no command timeout",
}
ALLOWED_CONNECTIONS = "ssh, paramiko, local, smart"
SUPPORTED_CONNECTIONS = frozenset(CONNECTIONS.values()) | frozenset(TESTINFRA_CONNECTIONS.values())
# An Ansible plugin name: `docker`, `community.general.lxd` (a namespace, a collection
# and a name at most, as Ansible's FQCNs are).
_PLUGIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}")

# Ansible's boolean() with strict=True.
_TRUE = {"y", "yes", "on", "1", "true", "t"}
_FALSE = {"n", "no", "off", "0", "false", "f"}

# Old names Ansible still honours, and its precedence between them: where both are
# set (at any level: a group's ansible_ssh_user and a host's ansible_user), the old
# name wins, as Ansible's PlayContext reads them (constants.MAGIC_VARIABLE_MAPPING:
# remote_addr = ansible_ssh_host, ansible_host; the first that is set). The vars
# keep both names as written; the HostEntry properties choose (see ``first``).
CONNECTION_NAMES = {
    "address": ("ansible_ssh_host", "ansible_host"),
    "port": ("ansible_ssh_port", "ansible_port"),
    "user": ("ansible_ssh_user", "ansible_user"),
    "key": ("ansible_ssh_private_key_file", "ansible_private_key_file"),
}
ALIASES = {names[0]: names[1] for names in CONNECTION_NAMES.values()}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if hasattr(type(value), "KIND"):
        return type(value).KIND
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _describe(value: Any) -> str:
    kind = _kind(value)
    return kind if hasattr(type(value), "KIND") else f"{kind} {value!r}"


def to_bool(value: Any) -> bool:
    """Ansible's strict boolean: YAML booleans, 1/0 and yes/no/true/false/on/off/y/n/t/f."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"expected a boolean (true/false, yes/no), got {_describe(value)}")


def to_port(value: Any) -> int:
    """An int or a numeric string (Ansible accepts "2222") in 1-65535."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a port number 1-65535, got {_describe(value)}")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*[0-9]+\s*", value):
            raise ValueError(f"expected a port number 1-65535, got {value!r}")
        value = int(value)
    if not 1 <= value <= 65535:
        raise ValueError(f"expected a port number 1-65535, got {value}")
    return value


def _plugin_name(value: Any, what: str, allowed: str) -> str:
    if isinstance(value, str) and _PLUGIN_NAME.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(f"{what} {values.shown(value)} is not an Ansible plugin name "
                     f"(fleetcheck runs: {allowed})")


def to_connection(value: Any) -> str:
    """fleetcheck's name of an Ansible connection: 'paramiko', 'ssh', 'local', a testinfra
    backend ('docker', ...), or the plugin name itself for a connection fleetcheck does
    not run (the host is refused, not the inventory: see connection_problem). Only a
    value that is no plugin name at all is an error here."""
    name = _plugin_name(value, "connection", ALLOWED_CONNECTIONS)
    return CONNECTIONS.get(name) or TESTINFRA_CONNECTIONS.get(name) or name


def connection_problem(connection: str) -> str | None:
    """Why fleetcheck cannot reach a host over ``connection`` (to_connection's), or None."""
    if connection in SUPPORTED_CONNECTIONS:
        return None
    why = _WHY_NOT.get(connection)
    return (f"connection {values.shown(connection)} is not supported ("
            + (f"{why}; " if why else "")
            + "fleetcheck runs ssh, paramiko, local, and docker, podman, kubectl, lxd "
            "through testinfra)")


BECOME_METHODS = ("sudo", "su")


def to_become_method(value: Any) -> str:
    """The become method's name ('ansible.builtin.sudo' is 'sudo'); one fleetcheck does
    not run (doas, pbrun, ...) is refused per host (become_problem), not here."""
    name = _plugin_name(value, "become method", ", ".join(BECOME_METHODS))
    return name.removeprefix("ansible.builtin.")


# The vars of Ansible's container connections that point it at another daemon or
# change the command: testinfra's backends talk to the controller's own daemon with
# their defaults, so a host that sets one would be audited somewhere else.
BACKEND_VARS = {
    "docker": ("ansible_docker_extra_args",),
    "podman": ("ansible_podman_extra_args", "ansible_podman_executable"),
    "kubectl": ("ansible_kubectl_extra_args", "ansible_kubectl_host",
                "ansible_kubectl_server"),     # context and kubeconfig: backends.py
    "lxd": ("ansible_lxd_remote", "ansible_lxd_project"),
}


def backend_problem(connection: str, host_vars) -> str | None:
    """Why testinfra's backend for ``connection`` cannot reach the host as Ansible
    would (a var that points Ansible elsewhere), or None."""
    for name in BACKEND_VARS.get(connection, ()):
        if host_vars.get(name) not in (None, ""):
            return (f"{name} is set: fleetcheck reaches {connection} hosts through "
                    f"testinfra's {connection} backend, on this machine's own daemon "
                    "with its defaults, so it would audit another host")
    return None


def become_problem(method: str) -> str | None:
    if method in BECOME_METHODS:
        return None
    return (f"become method {values.shown(method)} is not supported (fleetcheck becomes "
            f"with {' or '.join(BECOME_METHODS)})")


# -- templated values ----------------------------------------------------------------
#
# Ansible templates a var when it is used; ansible-inventory prints it as written.
# fleetcheck evaluates no Jinja: a connection var that is one reference to another var
# (`ansible_host: "{{ ip }}"`, kubespray's shape) is resolved from the host's own vars;
# any other template refuses the host (not the inventory), saying so.

_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_REFERENCE = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*")
_MAX_REFERENCES = 10


class Templated(ValueError):
    """A templated var fleetcheck cannot resolve (its message says which and why)."""


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and _TEMPLATE.search(value) is not None


def resolved(host_vars: dict, name: str, host_name: str) -> Any:
    """The value of var ``name`` with a `{{ other }}` reference resolved (also a chain
    of them, up to 10); raises Templated for any other template."""
    value = host_vars.get(name)
    seen = [name]
    while is_templated(value):
        match = _REFERENCE.fullmatch(value)
        if match is None:
            raise Templated(f"{name} is templated ({values.shown(value)}): fleetcheck "
                            "evaluates no Jinja; set it to a value, or to \"{{ var }}\"")
        other = match.group(1)
        if other in ("inventory_hostname", "inventory_hostname_short"):
            return host_name if other == "inventory_hostname" else host_name.split(".")[0]
        if other in seen or len(seen) > _MAX_REFERENCES:
            raise Templated(f"{name}: the references {' -> '.join(seen + [other])} do not "
                            "end in a value")
        if other not in host_vars or host_vars.get(other) is None:
            raise Templated(f"{name} is {values.shown(value)}, and the host has no var "
                            f"{values.shown(other)}")
        seen.append(other)
        value = host_vars.get(other)
    return value


def first(host_vars: dict, what: str, host_name: str) -> Any:
    """The connection setting ``what`` ('address', 'port', 'user', 'key') as Ansible
    picks it from a host's merged vars: the first of its names that is set (not null),
    templates resolved (raises Templated)."""
    for name in CONNECTION_NAMES[what]:
        if host_vars.get(name) is not None:
            return resolved(host_vars, name, host_name)
    return None


_JUMP_OPTION = re.compile(r"(?:-o\s*ProxyJump[= ]\s*|-J\s*)(\S+)", re.I)


def address(host_vars: dict, host_name: str) -> str | None:
    """The address the inventory gives a host (ansible_ssh_host, else ansible_host,
    a `{{ var }}` resolved), or None: none set, or a template fleetcheck cannot resolve."""
    try:
        value = first(host_vars, "address", host_name)
    except Templated:
        return None
    return None if value is None else str(value)


def proxy_jump(values: dict) -> str | None:
    """The jump host: ``fleetcheck_proxy_jump``, else ``-o ProxyJump=..`` or ``-J ..`` in
    ``ansible_ssh_common_args`` / ``ansible_ssh_extra_args`` (as Ansible users write it)."""
    if values.get("fleetcheck_proxy_jump"):
        return str(values["fleetcheck_proxy_jump"])
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        match = _JUMP_OPTION.search(str(values.get(var) or ""))
        if match:
            return match.group(1).strip("'\"")
    return None


_JUMP = re.compile(r"(ssh://)?([^@\s:]+@)?([^@\s:\[\]]+|\[[0-9a-fA-F:.]+\])(:[0-9]+)?")


def _to_jump(value: Any) -> str:
    """``[user@]host[:port]`` (a password in it is refused: ``user:pw@`` does not match);
    its host and user are checked as any other host and user."""
    if not isinstance(value, str) or not _JUMP.fullmatch(value.split(",")[0].strip()):
        # the value is not shown: it may hold a password (user:pw@host)
        raise ValueError(f"expected [user@]host[:port] (no password), got {_kind(value)} "
                         "that is not")
    for hop in value.split(","):
        match = _JUMP.fullmatch(hop.strip())
        if match is None:
            raise ValueError("expected [user@]host[:port] for every hop (no password)")
        if match.group(2):
            values.user(match.group(2)[:-1], "the jump host's user")
        values.host(match.group(3), "the jump host")
    return value


def _to_host(value: Any) -> str:
    return values.host(value, "the value")


def _to_user(value: Any) -> str:
    return values.user(value, "the value")


def _to_local_path(value: Any) -> str:
    return values.local_path(value, "the value")


def _to_host_path(value: Any) -> str:
    return values.path(value, "the value")


MAX_TIMEOUT = 86400.0


def to_timeout(value: Any) -> float:
    """Seconds: a number (or numeric string) above 0 and at most a day."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number of seconds, got {_describe(value)}")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"expected a number of seconds, got {values.shown(value)}") from None
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"expected seconds above 0 and at most {MAX_TIMEOUT:g}, "
                         f"got {values.shown(value)}")
    return seconds


def to_priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {_describe(value)}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


_CHECKS = {
    "ansible_host": _to_host,
    "ansible_ssh_host": _to_host,
    "ansible_port": to_port,
    "ansible_ssh_port": to_port,
    "ansible_user": _to_user,
    "ansible_ssh_user": _to_user,
    "ansible_become": to_bool,
    "ansible_become_user": _to_user,
    "ansible_become_method": to_become_method,
    "fleetcheck_proxy_jump": _to_jump,
    "ansible_connection": to_connection,
    "ansible_group_priority": to_priority,
    "ansible_ssh_private_key_file": _to_local_path,
    "ansible_private_key_file": _to_local_path,
    "fleetcheck_known_hosts": _to_local_path,
    "fleetcheck_ssh_config": _to_local_path,
    "fleetcheck_lock_dir": _to_host_path,
    "fleetcheck_backup_dir": _to_host_path,
    "fleetcheck_command_timeout": to_timeout,
    "fleetcheck_connect_timeout": to_timeout,
}


# Connection vars that may be a `{{ var }}` reference (resolved per host, see first()).
_TEMPLATABLE = frozenset(name for names in CONNECTION_NAMES.values() for name in names)


def _string(description: str, **more) -> dict:
    return {"type": "string", "description": description, **more}


_PORT = {"type": ["integer", "string"], "x-expected": "a port number 1-65535",
         "description": "the SSH port (1-65535)", "default": DEFAULT_PORT}
# (each use gives its own description)
_SECONDS = {"type": ["number", "string"], "x-expected": "a number of seconds"}
_BOOLEAN = {"type": ["boolean", "string", "integer"], "format": "ansible-boolean",
            "x-expected": "a boolean (true/false, yes/no)"}

# The engine's own vars (fleetcheck.varschema collects them as the area "engine"): the
# connection vars fleetcheck reads and its fleetcheck_* vars. Their values are checked
# by _CHECKS below too (the messages connections have always given).
VARS = {
    "ansible_host": _string("the address (name or IP) to connect to; default: the "
                            "inventory name"),
    "ansible_ssh_host": _string("old name of ansible_host"),
    "ansible_port": _PORT,
    "ansible_ssh_port": dict(_PORT, description="old name of ansible_port"),
    "ansible_user": _string("the SSH login user; default: the ssh_config's or yours"),
    "ansible_ssh_user": _string("old name of ansible_user"),
    "ansible_become": dict(_BOOLEAN, default=False,
                           description="run commands through sudo/su (become_method)"),
    "ansible_become_user": _string("the user to become", default="root"),
    "ansible_become_method": _string("how to become the user: sudo or su (a host with "
                                     "another method is refused, not the inventory)",
                                     default="sudo"),
    "ansible_connection": _string("how to reach the host: ssh, paramiko, local (smart: "
                                  "paramiko), and through testinfra docker, podman, "
                                  "kubectl, lxd (a host with another "
                                  "connection is refused, not the inventory)",
                                  default=DEFAULT_CONNECTION),
    "ansible_group_priority": {"type": ["integer", "string"], "x-expected": "an integer",
                               "description": "merge order of groups of the same depth "
                               "(higher wins)", "default": 1},
    "ansible_ssh_private_key_file": _string("the SSH private key (on the controller; "
                                            "relative to the inventory's directory)"),
    "ansible_private_key_file": _string("same as ansible_ssh_private_key_file"),
    "ansible_ssh_common_args": _string("ssh options; fleetcheck reads only its "
                                       "-o ProxyJump=/-J jump host"),
    "ansible_ssh_extra_args": _string("ssh options; fleetcheck reads only its "
                                      "-o ProxyJump=/-J jump host"),
    "fleetcheck_proxy_jump": _string("the jump host(s): [user@]host[:port], comma-separated"),
    "fleetcheck_known_hosts": _string("the known_hosts file of the fleet (on the controller)"),
    "fleetcheck_ssh_config": _string("an ssh_config to read (on the controller); it cannot "
                                     "weaken the host key policy"),
    "fleetcheck_lock_dir": _string("the per-host lock of --remediate (a path on the host)",
                                   default="/run/fleetcheck.lock"),
    "fleetcheck_backup_dir": _string("where fixes back up files on the host",
                                     default="/var/backups/fleetcheck"),
    "fleetcheck_command_timeout": dict(_SECONDS, default=60,
                                       description="seconds every command may take"),
    "fleetcheck_connect_timeout": dict(_SECONDS, default=10,
                                       description="seconds connecting may take "
                                       "(--connect-timeout overrides it)"),
    "fleetcheck_offline": dict(_BOOLEAN, default=False,
                               description="true: the host is down on purpose; its "
                               "checks are not-applicable (offline) unless "
                               "--include-offline"),
    "online": dict(_BOOLEAN, default=True,
                   description="false: the same as fleetcheck_offline: true"),
    "fleetcheck_columns": {
        "type": "object", "description": "column sets of `python -m fleetcheck hosts "
        "--columns @NAME`: name -> list of columns (or one comma-separated string)",
        "additionalProperties": {
            "type": ["array", "string"], "items": {"type": "string",
                                                   "description": "a column name"},
            "x-expected": "a list of column names",
            "description": "the columns of the set"}},
    "fleetcheck_guest_columns": {
        "type": "object", "description": "column sets of `python -m fleetcheck guests "
        "--columns @NAME` (fleetcheck.guests): name -> list of guest columns (or one "
        "comma-separated string)",
        "additionalProperties": {
            "type": ["array", "string"], "items": {"type": "string",
                                                   "description": "a guest column name"},
            "x-expected": "a list of guest column names",
            "description": "the columns of the set"}},
    "fleetcheck_waivers": {
        "type": "array", "description": "accepted findings (see fleetcheck/report/"
        "waivers.py): a failed or would-fix record they cover is waived",
        # declared for the catalogue; fleetcheck.report.waivers checks each waiver
        # (keys, patterns, dates) at load with its own messages
        "x-checked-by": "fleetcheck.report.waivers",
        "x-expected": "a list of waivers",
        "items": {
            "type": "object", "description": "one waiver",
            "x-expected": "a waiver {check, hosts, reason, owner, expires}",
            "required": ["check", "reason", "expires"],
            "additionalProperties": False,
            "properties": {
                "check": _string("check id pattern (fnmatch: sshd.*)"),
                "hosts": _string("host pattern (--limit grammar)", default="all"),
                "reason": _string("why the finding is accepted"),
                "owner": _string("who accepted it"),
                "expires": {"format": "date", "description": "the last day it applies "
                            "(YYYY-MM-DD)"},
            },
        },
    },
}


def check_var(name: str, value: Any) -> str | None:
    """None when ``value`` is acceptable for variable ``name``, else what is wrong (one
    line, the var path first). Connection vars are checked here; the vars of the
    areas by the kinds they declare (fleetcheck.values), then every var by its
    declared schema (fleetcheck.varschema). A wrong value that holds a Jinja template
    says so: fleetcheck evaluates none (only a connection var's `{{ var }}`)."""
    problem = _problem(name, value)
    if problem is not None:
        template = _template_in(value)
        if template is not None and template[:20] in problem:  # the problem is the template
            problem += (f" (it holds a Jinja template, {values.shown(template, 40)}: "
                        "fleetcheck evaluates none; set the value itself)")
    return problem


def _problem(name: str, value: Any) -> str | None:
    if value is None:
        return None
    check = _CHECKS.get(name)
    if check is not None and name in _TEMPLATABLE and is_templated(value):
        check = None  # judged where it is used, resolved (HostEntry: hostvars.first)
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            return f"{name}: {exc}"
    for problem in values.problems(name, value, values.declared()):
        return problem
    from fleetcheck import varschema

    for problem in varschema.problems(name, value, first=True):
        return problem
    return None


def _template_in(value: Any, limit: int = 10_000) -> str | None:
    """The first templated string in ``value`` (walked without recursion, at most
    ``limit`` values), or None."""
    todo = [value]
    while todo and limit > 0:
        limit -= 1
        item = todo.pop()
        if is_templated(item):
            return item
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return None


def check_merged(values: dict) -> str | None:
    """What is wrong with a host's merged vars that no one definition shows (a numeric
    threshold with warn but no crit), or None: fleetcheck.varschema.merged_problems."""
    from fleetcheck import varschema

    for problem in varschema.merged_problems(values):
        return problem
    return None


def changes_merged(own: dict) -> bool:
    """Whether a host's own vars change what check_merged looks at (else the host's
    merged vars are judged with its groups', once)."""
    from fleetcheck import varschema

    return any(name in own for name in varschema.MERGED)


def check_name(name: str) -> str | None:
    """A warning (one line, the var name first) when top-level var ``name`` is not
    fleetcheck's but within a typo of one of its vars; the loaders collect these in
    Inventory.var_warnings with the file and line."""
    from fleetcheck import varschema

    return varschema.typo(name)


def with_aliases(values: dict) -> dict:
    """``values`` as written: both names of a connection setting are kept, and the
    HostEntry properties pick one with Ansible's precedence (CONNECTION_NAMES). Kept
    for the loaders, which call it on every mapping of vars they read."""
    return values
