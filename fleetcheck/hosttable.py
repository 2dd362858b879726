"""The fleet table: ``python -m fleetcheck hosts`` lists the selected hosts with the
columns the user picks, as an aligned table, CSV or JSON.

A column is a built-in (name, address, port, user, connection, groups, become,
become_method, become_user, key_file, proxy_jump, command_timeout, offline, source,
refused: why fleetcheck would not connect to the host, see HostEntry.refused),
or any host var, dotted paths into dict vars included (``dns.master``). ``@set``
stands for a named column set from the inventory var ``fleetcheck_columns`` (usually
under ``all: vars:``), e.g. ``fleetcheck_columns: {net: [name, address, port]}`` and
``--columns @net``. A var whose name says it is a secret is never printed.

``--check-reachable`` adds ``reachable`` and ``latency_ms``: each host's SSH port is
probed in parallel (TCP connect and the SSH banner, no login).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fleetcheck.selection import filters
from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.inventory import HostEntry, InventoryError
from fleetcheck.inventory.errors import one_line

DEFAULT_COLUMNS = ("name", "address", "port", "user", "groups")
BUILTIN_COLUMNS = ("name", "address", "port", "user", "connection", "groups", "become",
                   "become_method", "become_user", "key_file", "proxy_jump",
                   "command_timeout", "offline", "source", "refused")
COLUMN_SETS_VAR = "fleetcheck_columns"
FORMATS = ("table", "csv", "json")
PROBE_COLUMNS = ("reachable", "latency_ms")
# A var whose (last) name says it holds a secret: Ansible's *_pass names
# (ansible_ssh_pass, ansible_become_pass, ansible_sudo_pass, ansible_su_pass) as well
# as *password*, *secret*, *token*, ... A "pass" followed by a letter (passenger) is not.
_SECRET = re.compile(r"pass(?:word|wd|phrase)?(?![a-z])|secret|token|api_?key|private_key$"
                     r"|vault|credential", re.I)
HIDDEN = "(hidden)"


def is_secret(name: str) -> bool:
    return bool(_SECRET.search(str(name)))


def _scrub(value: Any) -> Any:
    """A var's value with every secret-named key inside it hidden (a mapping var may
    hold a password: `db: {user: app, password: ...}`)."""
    if isinstance(value, dict):
        return {k: HIDDEN if is_secret(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _builtin(entry: HostEntry, column: str) -> Any:
    host = FleetHost(entry, ConnectOptions())
    values = {
        "name": lambda: entry.name,
        "address": lambda: entry.address,
        "port": lambda: entry.port,
        "user": lambda: entry.user,
        "connection": lambda: entry.connection,
        "groups": lambda: [g for g in entry.groups if g not in ("all", "ungrouped")],
        "become": lambda: entry.become,
        "become_method": lambda: entry.become_method if entry.become else None,
        "become_user": lambda: (entry.become_user or "root") if entry.become else None,
        "key_file": lambda: host.key_file,
        "proxy_jump": lambda: entry.proxy_jump,
        "command_timeout": lambda: host.command_timeout,
        "offline": lambda: filters.is_offline(entry),
        "source": lambda: entry.source,
        "refused": lambda: entry.refused,
    }
    return values[column]() if column in values else filters.lookup(entry, column)


def columns(spec: str | None, hosts: list[HostEntry], probe: bool = False) -> list[str]:
    """The column names ``spec`` ('name,address,@net') stands for."""
    names: list[str] = []
    for part in (spec.split(",") if spec else DEFAULT_COLUMNS):
        part = part.strip()
        if not part:
            continue
        if part.startswith("@"):
            names.extend(_column_set(part[1:], hosts))
        else:
            names.append(part)
    if not names:
        raise InventoryError(f"--columns {spec!r}: no column")
    for name in names:
        _known_column(name, hosts)
    if probe:
        names += [c for c in PROBE_COLUMNS if c not in names]
    return names


def _known_column(name: str, hosts: list[HostEntry]) -> None:
    """A column is a built-in or a var some selected host has (a dotted path into one
    too); else one line with the closest known name."""
    if name in BUILTIN_COLUMNS or name in PROBE_COLUMNS or name == "group":
        return
    if any(filters.lookup(entry, name) is not filters._MISSING for entry in hosts):
        return
    known = set(BUILTIN_COLUMNS)
    for entry in hosts:
        for key, value in entry.vars.items():
            known.add(key)
            if isinstance(value, dict):
                known.update(f"{key}.{sub}" for sub in value)
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = (f"did you mean {close[0]}?" if close else
            "not a built-in column nor a var of any selected host")
    raise InventoryError(f"--columns: unknown column {name!r} ({hint})")


def _column_set(name: str, hosts: list[HostEntry]) -> list[str]:
    sets = hosts[0].vars.get(COLUMN_SETS_VAR) if hosts else None
    if not isinstance(sets, dict) or name not in sets:
        known = ", ".join(f"@{n}" for n in sets) if isinstance(sets, dict) else "none"
        raise InventoryError(f"--columns: unknown column set @{name} (the inventory var "
                             f"{COLUMN_SETS_VAR} defines: {known})")
    value = sets[name]
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InventoryError(f"{COLUMN_SETS_VAR}.{name} must be a list of column names")
    return [v.strip() for v in value if v.strip()]


def rows(hosts: list[HostEntry], names: list[str],
         probes: dict[str, dict] | None = None) -> list[dict[str, Any]]:
    out = []
    for entry in hosts:
        row: dict[str, Any] = {}
        for name in names:
            if name in PROBE_COLUMNS and probes is not None:
                row[name] = probes[entry.name][name]
            elif any(is_secret(part) for part in name.split(".")):
                row[name] = HIDDEN
            else:
                value = _builtin(entry, name)
                row[name] = None if value is filters._MISSING else _scrub(value)
        out.append(row)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return ",".join(_text(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return one_line(value)


def render(table: list[dict[str, Any]], names: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(table, indent=2, default=str) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for row in table:
            writer.writerow([_text(row[n]) for n in names])
        return buf.getvalue()
    cells = [names] + [[_text(row[n]) for n in names] for row in table]
    widths = [max(len(line[i]) for line in cells) for i in range(len(names))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n"
                   for line in cells)


# -- reachability -----------------------------------------------------------------------
def probe_one(entry: HostEntry, timeout: float) -> dict[str, Any]:
    """TCP connect to the SSH port and read the banner; no login, no key."""
    if entry.connection == "local":
        return {"reachable": "local", "latency_ms": None}
    if entry.proxy_jump:
        return {"reachable": f"via {entry.proxy_jump}: not probed", "latency_ms": None}
    start = time.monotonic()
    try:
        with socket.create_connection((entry.address, entry.port), timeout=timeout) as sock:
            latency = (time.monotonic() - start) * 1000
            sock.settimeout(timeout)
            banner = sock.recv(256)
    except ConnectionRefusedError:
        return {"reachable": "no: connection refused", "latency_ms": None}
    except (socket.timeout, TimeoutError):
        return {"reachable": f"no: timeout after {timeout:g}s", "latency_ms": None}
    except OSError as exc:
        return {"reachable": f"no: {(exc.strerror or str(exc)).lower()}", "latency_ms": None}
    if not banner.startswith(b"SSH-"):
        return {"reachable": "no: not an SSH server", "latency_ms": round(latency, 1)}
    return {"reachable": "yes", "latency_ms": round(latency, 1)}


def probe(hosts: list[HostEntry], timeout: float = 5.0, workers: int = 32) -> dict[str, dict]:
    if not hosts:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(hosts))) as pool:
        results = pool.map(lambda e: probe_one(e, timeout), hosts)
        return {entry.name: result for entry, result in zip(hosts, results)}
