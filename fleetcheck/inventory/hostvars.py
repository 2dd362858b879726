"""The connection variables fleetcheck understands, their checks and conversions.

Only the ``ansible_*`` variables that decide how fleetcheck reaches a host are
checked; every other variable is the checks' business. A null value means
"not set" (the default applies), so a host can unset what a group set.
"""

from __future__ import annotations

import re
from typing import Any

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
ALLOWED_CONNECTIONS = "ssh, paramiko, local, smart"

# Ansible's boolean() with strict=True.
_TRUE = {"y", "yes", "on", "1", "true", "t"}
_FALSE = {"n", "no", "off", "0", "false", "f"}

# Old names Ansible still honours. They are copied to the current name where they
# are written (see with_aliases), so a host's ansible_ssh_user beats its group's
# ansible_user exactly as a host's ansible_user would.
ALIASES = {
    "ansible_ssh_host": "ansible_host",
    "ansible_ssh_port": "ansible_port",
    "ansible_ssh_user": "ansible_user",
}


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


def to_connection(value: Any) -> str:
    if isinstance(value, str) and value.strip() in CONNECTIONS:
        return CONNECTIONS[value.strip()]
    raise ValueError(f"unknown connection {value!r} (allowed: {ALLOWED_CONNECTIONS})")


BECOME_METHODS = ("sudo", "su")


def to_become_method(value: Any) -> str:
    if isinstance(value, str) and value.strip() in BECOME_METHODS:
        return value.strip()
    raise ValueError(f"unknown become method {value!r} (allowed: {', '.join(BECOME_METHODS)})")


_JUMP_OPTION = re.compile(r"(?:-o\s*ProxyJump[= ]\s*|-J\s*)(\S+)", re.I)


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
    """``[user@]host[:port]`` (a password in it is refused: ``user:pw@`` does not match)."""
    if not isinstance(value, str) or not _JUMP.fullmatch(value.split(",")[0].strip()):
        # the value is not shown: it may hold a password (user:pw@host)
        raise ValueError(f"expected [user@]host[:port] (no password), got {_kind(value)} "
                         "that is not")
    return value


def _to_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {_describe(value)}")
    return value


def to_priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {_describe(value)}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


_CHECKS = {
    "ansible_host": _to_name,
    "ansible_ssh_host": _to_name,
    "ansible_port": to_port,
    "ansible_ssh_port": to_port,
    "ansible_user": _to_name,
    "ansible_ssh_user": _to_name,
    "ansible_become": to_bool,
    "ansible_become_user": _to_name,
    "ansible_become_method": to_become_method,
    "fleetcheck_proxy_jump": _to_jump,
    "ansible_connection": to_connection,
    "ansible_group_priority": to_priority,
}


def check_var(name: str, value: Any) -> str | None:
    """None when ``value`` is acceptable for variable ``name``, else what is wrong."""
    check = _CHECKS.get(name)
    if check is None or value is None:
        return None
    try:
        check(value)
    except ValueError as exc:
        return f"{name}: {exc}"
    return None


def with_aliases(values: dict) -> dict:
    """``values`` plus the current name of each old name it uses (unless both are set)."""
    extra = {new: values[old] for old, new in ALIASES.items() if old in values and new not in values}
    return {**values, **extra} if extra else values
