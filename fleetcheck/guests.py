"""The fleet table of guests: ``python -m fleetcheck guests`` lists the virtual machine
guests of the selected hypervisor hosts, one row a guest, with the columns the user
picks, as an aligned table, CSV or JSON (ctys' LIST, and ENUMERATE with --configured).

Every selected host is asked at once (a thread each, at most WORKERS), over its own
connection settings and privilege escalation (the inventory's: ansible_user,
ansible_become, ... as for the audit), for the fact `vm_guests`
(fleetcheck.facts.vm: virsh, else xl). A host with neither is no hypervisor: it has
no row, and stderr counts it; so is a host with virsh whose daemon does not answer
when it declares no guests (`vm.guests`): libvirt's client alone. A host that cannot
be reached, or a declared hypervisor that does not answer, is one line on stderr and
makes the exit status 1; the others' rows are still printed.

Columns (GUEST_COLUMNS): label (the guest's name), type (kvm, qemu, xen, ...), state,
reason, host (the hypervisor in the inventory), mac, address, nics, cport (the console
port: VNC display + 5900, or SPICE's), console (type:port), autostart, persistent,
id, uuid, vcpus, memory_mib. Running (the default) shows the guests as they run: the
live definition of a running guest, its addresses; --configured shows them as they are
configured (`virsh dumpxml --inactive`): configured NICs, vCPUs, memory and console
(a configured console with autoport has no port: "auto"). A list of values (two NICs)
is one cell, values separated by spaces.

``@set`` stands for a named set: the built-in ones (COLUMN_SETS: @cport as ctys'
TAB_CPORT, @net, @config) or one of the inventory var `fleetcheck_guest_columns`
(usually under ``all: vars:``), e.g. ``fleetcheck_guest_columns: {ops: [label, host,
state, cport]}`` and ``--columns @ops``.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fleetcheck import hosttable
from fleetcheck.inventory import HostEntry, InventoryError

GUEST_COLUMNS = ("label", "type", "state", "reason", "host", "mac", "address", "nics",
                 "cport", "console", "autostart", "persistent", "id", "uuid", "vcpus",
                 "memory_mib")
DEFAULT_COLUMNS = ("label", "type", "state", "host", "mac", "address", "cport", "autostart")
COLUMN_SETS = {
    "cport": ("label", "host", "state", "console", "cport"),
    "net": ("label", "host", "state", "mac", "address", "nics"),
    "config": ("label", "host", "type", "vcpus", "memory_mib", "nics", "cport", "autostart"),
}
COLUMN_SETS_VAR = "fleetcheck_guest_columns"
WORKERS = 32


def columns(spec: str | None, hosts: list[HostEntry]) -> list[str]:
    """The column names of --columns (sets expanded), each known, none twice."""
    out: list[str] = []
    for word in (spec.split(",") if spec else DEFAULT_COLUMNS):
        word = word.strip()
        if not word:
            continue
        names = _column_set(word[1:], hosts) if word.startswith("@") else [word]
        for name in names:
            if name not in GUEST_COLUMNS:
                raise InventoryError(f"--columns: unknown guest column {name!r}; known: "
                                     + ", ".join(GUEST_COLUMNS))
            if name not in out:
                out.append(name)
    if not out:
        raise InventoryError("--columns: no column")
    return out


def _column_set(name: str, hosts: list[HostEntry]) -> list[str]:
    for entry in hosts:
        sets = entry.vars.get(COLUMN_SETS_VAR)
        if isinstance(sets, dict) and name in sets:
            value = sets[name]   # the var's schema (inventory.hostvars) checked its shape
            return [v.strip() for v in value.split(",")] if isinstance(value, str) \
                else list(value)
    if name in COLUMN_SETS:
        return list(COLUMN_SETS[name])
    raise InventoryError(f"--columns: no column set @{name} (built in: "
                         + ", ".join("@" + s for s in COLUMN_SETS)
                         + f"; or the inventory var {COLUMN_SETS_VAR})")


def _port(console) -> Any:
    if console is None:
        return None
    if console.port:
        return console.port
    return "auto" if console.autoport else None


def guest_row(host: str, guest, configured: bool) -> dict[str, Any]:
    """One guest's cells: its live view (or configured, with --configured)."""
    view = guest.configured if configured else (guest.live or guest.configured)
    nics = view.nics if view else []
    consoles = view.consoles if view else []
    console = next((c for c in consoles if c.port or c.autoport), None) if configured \
        else next((c for c in consoles if c.port), None)
    vcpus = (view.vcpus if view and view.vcpus is not None else guest.vcpus)
    memory = (view.memory_kib if view and view.memory_kib is not None else
              guest.max_memory_kib if configured else guest.memory_kib)
    return {
        "label": guest.name,
        "type": view.type if view and view.type else None,
        "state": guest.state,
        "reason": guest.reason,
        "host": host,
        "mac": " ".join(n.mac for n in nics if n.mac) or None,
        "address": None if configured else (
            " ".join(a.address for a in guest.addresses) or None),
        "nics": " ".join(f"{n.type}:{n.source}" if n.source else n.type for n in nics) or None,
        "cport": _port(console),
        "console": f"{console.type}:{_port(console) or '-'}" if console else None,
        "autostart": guest.autostart,
        "persistent": guest.persistent,
        "id": None if configured else guest.id,
        "uuid": guest.uuid,
        "vcpus": vcpus,
        "memory_mib": None if memory is None else round(memory / 1024),
    }


def ask(entry: HostEntry, options) -> tuple[Any, str | None]:
    """(the host's VmGuests, None) or (None, why it could not tell)."""
    from fleetcheck.connect.hosts import FleetHost

    host = FleetHost(entry, options)
    try:
        return host.facts.get("vm_guests"), None
    except Exception as exc:   # an unreachable host, a command that failed: one line
        reason = host.unreachable_reason or str(exc) or type(exc).__name__
        return None, " ".join(reason.split())[:300]
    finally:
        try:
            host.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


def declares_guests(entry: HostEntry) -> bool:
    """The inventory says the host is a hypervisor: it declares guests (vm.guests)."""
    conf = entry.vars.get("vm")
    return isinstance(conf, dict) and bool(conf.get("guests"))


def table(hosts: list[HostEntry], configured: bool, options,
          workers: int = WORKERS) -> tuple[list[dict[str, Any]], list[str], int]:
    """(rows in inventory order, then by guest name; the problems, one line each; how
    many hosts are no hypervisor)."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    none = 0
    if not hosts:
        return rows, problems, none
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(hosts)))) as pool:
        answers = list(pool.map(lambda e: ask(e, options), hosts))
    for entry, (found, why) in zip(hosts, answers):
        if found is None:
            problems.append(f"{entry.name}: {why}")
        elif found.tool is None:
            none += 1
        elif found.error and not declares_guests(entry):
            none += 1     # a client without a daemon (virsh installed, no libvirtd)
        elif found.error:
            problems.append(f"{entry.name}: {found.tool} ({found.uri}): {found.error}")
        else:
            rows += [guest_row(entry.name, g, configured)
                     for g in sorted(found.guests, key=lambda g: g.name)]
    return rows, problems, none


def main(args) -> int:
    from fleetcheck.connect.hosts import ConnectOptions
    from fleetcheck.selection import select

    args.fleet_inventory = args.inventory
    try:
        chosen = select(args)
        hosts = [h for h in chosen.hosts.values() if not h.refused]
        names = columns(args.columns, hosts)
    except InventoryError as exc:
        print(f"fleetcheck guests: {exc}", file=sys.stderr)
        return 4
    for note in chosen.notes:
        print(f"WARNING: {note}", file=sys.stderr)
    for entry in chosen.hosts.values():
        if entry.refused:
            print(f"fleetcheck guests: {entry.name}: not asked: {entry.refused}",
                  file=sys.stderr)
    options = ConnectOptions(accept_new=args.ssh_accept_new,
                             connect_timeout=args.connect_timeout)
    rows, problems, none = table(hosts, args.configured, options)
    sys.stdout.write(hosttable.render([{n: r[n] for n in names} for r in rows], names,
                                      args.format))
    for line in problems:
        print(f"fleetcheck guests: {line}", file=sys.stderr)
    if none:
        print(f"fleetcheck guests: {none} host{'s' if none != 1 else ''} left out: no "
              "hypervisor (no virsh or xl, or a virsh whose daemon does not answer on a "
              "host that declares no vm.guests)", file=sys.stderr)
    return 1 if problems or any(e.refused for e in chosen.hosts.values()) else 0
