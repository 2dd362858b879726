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
}


def from_hostspecs(specs: list[str], base_vars: dict) -> Inventory:
    """One host per spec (comma-separated values are split as testinfra does), in group
    'all' (and 'ungrouped', like any host without a group). Every host's vars are
    ``deepcopy(base_vars)`` with the connection vars from its spec on top."""
    if isinstance(specs, str):
        specs = [specs]
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
            name, spec_vars = _parse(spec.strip())
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


def _parse(spec: str) -> tuple[str, dict[str, Any]]:
    if not spec:
        raise InventoryError("--hosts '': empty host spec")
    host, options = parse_hostspec(spec)
    connection = options.pop("connection", None) or ("local" if host is None else "paramiko")
    if connection not in SUPPORTED:
        raise InventoryError(
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
