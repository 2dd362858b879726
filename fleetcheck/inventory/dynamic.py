"""Ansible's dynamic-inventory JSON (what an inventory script prints for ``--list``, and
what an HTTP source of truth serves) into the same builder the YAML loader fills.

    {
      "_meta": {"hostvars": {"web1": {"ansible_host": "10.0.0.5", "role": "web"}}},
      "all": {"vars": {"ansible_user": "root"}, "children": ["web", "db"]},
      "web": {"hosts": ["web1"], "vars": {...}, "children": [...]},
      "db": ["db1", "db2"]
    }

A group is a mapping with ``hosts`` (a list of names), ``vars`` and ``children``
(a list of group names), or, in the old short form, a bare list of host names.
``_meta.hostvars`` holds each host's own vars; a host named only there is a host
(in 'ungrouped'). Like the YAML loader, fleetcheck refuses what Ansible would
silently accept: an unknown key in a group, a host name that is not a string, vars
that are not a mapping, a connection var with a bad value.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fleetcheck.values import shown

from .build import InventoryBuilder
from .errors import MAX_NESTING, InventoryError
from .hostvars import _kind, check_name, check_var, with_aliases

GROUP_KEYS = ("hosts", "vars", "children")


class RefusedJSON(ValueError):
    """JSON that parses but that fleetcheck will not take in (see :func:`loads`)."""


def loads(text: str | bytes) -> Any:
    """``json.loads`` for untrusted text: raises json.JSONDecodeError for what is not
    JSON, RefusedJSON (one line) for an integer longer than Python reads or nesting
    deeper than MAX_NESTING, never RecursionError or a bare ValueError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise RefusedJSON(f"lists and objects nested more than {MAX_NESTING} levels deep "
                          "(the limit of an inventory)") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise RefusedJSON(f"an integer has more than {sys.get_int_max_str_digits()} "
                              "digits") from None
        raise RefusedJSON(str(exc)[:200]) from None
    check_nesting(data)
    return data


def check_nesting(data: Any) -> None:
    """RefusedJSON when lists/objects in ``data`` nest deeper than MAX_NESTING
    (walked without recursion)."""
    todo = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            items = value.values()
        elif isinstance(value, list):
            items = value
        else:
            continue
        if depth >= MAX_NESTING:
            raise RefusedJSON(f"lists and objects nested more than {MAX_NESTING} levels deep "
                              "(the limit of an inventory)")
        todo.extend((item, depth + 1) for item in items if isinstance(item, (dict, list)))


def add_json(data: Any, source: str, builder: InventoryBuilder) -> None:
    """Add one dynamic-inventory document to ``builder``; ``source`` names it in errors
    (a file, an URL without its credentials, a script)."""

    def fail(reason: str) -> InventoryError:
        return InventoryError(f"not an Ansible dynamic inventory: {reason}", source)

    try:
        check_nesting(data)
    except RefusedJSON as exc:
        raise fail(str(exc)) from None
    if not isinstance(data, dict):
        raise fail(f"the JSON document must be an object of groups, got {_kind(data)}")
    builder.add_source(source)
    meta = data.get("_meta", {})
    if not isinstance(meta, dict):
        raise fail(f"'_meta' must be an object, got {_kind(meta)}")
    hostvars = meta.get("hostvars", {})
    if not isinstance(hostvars, dict):
        raise fail(f"'_meta.hostvars' must be an object of hosts, got {_kind(hostvars)}")

    for name, group in data.items():
        if name == "_meta":
            continue
        builder.add_group(name, source)
        if isinstance(group, list):
            group = {"hosts": group}
        elif group is None:
            continue
        elif not isinstance(group, dict):
            raise fail(f"group {shown(name)} must be an object with hosts, vars or children "
                       f"(or a list of hosts), got {_kind(group)}")
        unknown = [key for key in group if key not in GROUP_KEYS]
        if unknown:
            raise fail(f"unknown key {shown(unknown[0])} in group {shown(name)} "
                       f"(expected {', '.join(GROUP_KEYS)})")
        hosts = group.get("hosts") or []
        if not isinstance(hosts, list):
            raise fail(f"hosts of group {shown(name)} must be a list of names, "
                       f"got {_kind(hosts)}")
        for host in hosts:
            _check_name(host, f"a host of group {shown(name)}", fail)
            builder.add_host(host, name, source)
        children = group.get("children") or []
        if not isinstance(children, list):
            raise fail(f"children of group {shown(name)} must be a list of group names, "
                       f"got {_kind(children)}")
        for child in children:
            _check_name(child, f"a child of group {shown(name)}", fail)
            builder.add_child(name, child, source, None)
        values = _vars(group.get("vars"), f"group {shown(name)}", source, fail, builder)
        if values:
            builder.set_group_vars(name, values)

    for host, values in hostvars.items():
        _check_name(host, "a host in '_meta.hostvars'", fail)
        if host not in builder.hosts:
            builder.add_host(host, "ungrouped", source)
        builder.set_host_vars(host, _vars(values, f"host {shown(host)}", source, fail,
                                          builder))


def _check_name(value: Any, what: str, fail) -> None:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{what} must be a non-empty string, got {_kind(value)}")


def _vars(values: Any, owner: str, source: str, fail, builder: InventoryBuilder) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise fail(f"vars of {owner} must be an object, got {_kind(values)}")
    for name, value in values.items():
        reason = check_var(name, value)
        if reason:
            raise InventoryError(f"{owner}: {reason}", source)
        warning = check_name(name)
        if warning:
            builder.var_warnings.append(str(InventoryError(f"{owner}: {warning}", source)))
    return with_aliases(values)
