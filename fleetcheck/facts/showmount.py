"""What NFS clients are offered: `showmount -e ADDRESS`, run on the CONTROLLER against
the host's inventory address (ansible_host) only.

    Export list for 10.0.0.5:
    /srv/nfs/shared  10.0.0.0/24,client1
    /srv/nfs/archive *

A failed probe (mountd not answering) is a value with `ok: false`, not an error: the
exports are then not offered, which is what the check reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown

NAME = "showmount"
RUNS_ON = "controller"


def command(hostvars: Mapping[str, Any], address: str = "") -> Command:
    return Command("showmount -e %s", address)


@dataclass
class ShowmountExport:
    path: str
    clients: list[str] = field(default_factory=list)


@dataclass
class Showmount:
    ok: bool = True
    exports: list[ShowmountExport] = field(default_factory=list)
    error: str | None = None

    def clients(self, path: str) -> list[str] | None:
        for e in self.exports:
            if e.path == path:
                return e.clients
        return None


def parse(text: str) -> Showmount:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Export list for "):
        got = lines[0] if lines else ""
        raise ParseError(f"line 1: expected 'Export list for HOST:', got {shown(got)}")
    out = Showmount()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        path, _, clients = line.rstrip().rpartition(" ")
        path = path.strip()
        if not path.startswith("/") or not clients:
            raise ParseError(f"line {n}: expected 'PATH CLIENT[,CLIENT...]', got {shown(line)}")
        out.exports.append(ShowmountExport(path, [c for c in clients.split(",") if c]))
    return out


def from_result(rc: int, stdout: str, stderr: str, address: str = "") -> Showmount:
    if rc != 0:
        detail = (stderr.strip() or stdout.strip()).splitlines()
        return Showmount(ok=False, error=f"showmount -e {address} exited {rc}"
                         + (f": {detail[-1]}" if detail else ""))
    return parse(stdout)
