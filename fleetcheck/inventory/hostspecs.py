"""An inventory from testinfra's ``--hosts`` values (``ssh://user@host:2222``, ...).

The spec is parsed by testinfra itself (``parse_hostspec`` for the scheme and query,
``BaseBackend.parse_hostspec`` for ``user:password@host:port``), so fleetcheck
understands a spec exactly as testinfra would.
"""

from __future__ import annotations

import copy
from typing import Any

from testinfra.backend import parse_hostspec
from testinfra.backend.base import BaseBackend

from .build import InventoryBuilder
from .errors import InventoryError
from .hostvars import check_var
from .model import Inventory

SUPPORTED = ("local", "paramiko", "ssh")
SOURCE = "--hosts"
# testinfra query options that have an Ansible variable; others are kept as
# vars['testinfra_options'] so nothing the user asked for is lost.
_QUERY_VARS = {
    "sudo": "ansible_become",
    "sudo_user": "ansible_become_user",
    "ssh_identity_file": "ansible_ssh_private_key_file",
    "ssh_config": "fleetcheck_ssh_config",
}


def from_hostspecs(specs: list[str], base_vars: dict, options: dict | None = None,
                   foreign: list[str] | None = None) -> Inventory:
    """One host per spec (comma-separated values are split as testinfra does), in group
    'all' (and 'ungrouped', like any host without a group). Every host's vars are
    ``deepcopy(base_vars)`` with the connection vars from its spec on top.

    ``options``: testinfra's command-line options (``connection``, ``sudo``,
    ``sudo_user``, ``ssh_identity_file``, ``ssh_config``), the defaults of every spec as
    for testinfra (a spec's own query wins). ``foreign``: when a list, a spec over a
    connection fleetcheck does not run (docker://, ansible://, ...) is appended to it
    instead of being an error: testinfra's own tests may still run over it."""
    if isinstance(specs, str):
        specs = [specs]
    options = {k: v for k, v in (options or {}).items() if v not in (None, False)}
    for name, value in base_vars.items():
        reason = check_var(name, value)
        if reason:
            raise InventoryError(f"--hosts: default vars: {reason}")

    builder = InventoryBuilder()
    builder.add_source(SOURCE)
    builder.set_group_vars("all", copy.deepcopy(base_vars))
    seen: dict[str, tuple[str, dict]] = {}
    for value in specs:
        for spec in value.split(","):
            try:
                name, spec_vars = _parse(spec.strip(), options)
            except ForeignConnection:
                if foreign is None:
                    raise
                foreign.append(spec.strip())
                continue
            if name in seen:
                if seen[name][1] == spec_vars:
                    continue
                raise InventoryError(
                    f"--hosts '{spec.strip()}': host {name!r} is also given as '{seen[name][0]}'"
                )
            seen[name] = (spec.strip(), spec_vars)
            builder.add_host(name, "all", SOURCE)
            builder.set_host_vars(name, spec_vars)
    return builder.finish()


class ForeignConnection(InventoryError):
    """A --hosts spec over a connection fleetcheck's checks do not run over."""


def _parse(spec: str, defaults: dict | None = None) -> tuple[str, dict[str, Any]]:
    if not spec:
        raise InventoryError("--hosts '': empty host spec")
    defaults = dict(defaults or {})
    # testinfra: the --connection option is the scheme of a spec that has none
    host, options = parse_hostspec(spec if "://" in spec or "connection" not in defaults
                                   else f"{defaults['connection']}://{spec}")
    for option in ("sudo", "sudo_user", "ssh_identity_file", "ssh_config"):
        if option in defaults:
            options.setdefault(option, defaults[option])
    connection = options.pop("connection", None) or ("local" if host is None else "paramiko")
    if connection not in SUPPORTED:
        raise ForeignConnection(
            f"--hosts '{spec}': connection {connection!r} is not supported "
            f"(allowed: {', '.join(SUPPORTED)})"
        )
    spec_vars: dict[str, Any] = {"ansible_connection": connection}
    if connection == "local":
        name = "local"  # testinfra's id for the local backend
    else:
        parsed = BaseBackend.parse_hostspec(host or "")
        if not parsed.name:
            raise InventoryError(f"--hosts '{spec}': no host name")
        name = parsed.name
        spec_vars["ansible_host"] = parsed.name
        if parsed.port is not None:
            reason = check_var("ansible_port", parsed.port)
            if reason:
                raise InventoryError(f"--hosts '{spec}': {reason}")
            spec_vars["ansible_port"] = int(parsed.port)
        if parsed.user:
            spec_vars["ansible_user"] = parsed.user
        if parsed.password:
            spec_vars["ansible_password"] = parsed.password
    for option, var in _QUERY_VARS.items():
        if option in options:
            spec_vars[var] = options.pop(option)
    if options:
        spec_vars["testinfra_options"] = options
    return name, spec_vars
