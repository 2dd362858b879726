"""What a client sees: `smbclient -L //ADDRESS -N -g`, run on the CONTROLLER against
the host's inventory address (ansible_host) only, anonymously.

`-g` prints one `Type|Name|Comment` line per share (Disk, IPC, Printer) and, when
SMB1 browsing answers, Server|/Workgroup| lines; anything else is a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.inventory import hostvars as hv

NAME = "smbclient"
RUNS_ON = "controller"
TYPES = {"Disk", "IPC", "Printer", "Server", "Workgroup"}


def address(hostvars: Mapping[str, Any], name: str = "") -> str:
    return hv.address(hostvars, name) or name


def command(hostvars: Mapping[str, Any], address: str = "") -> Command:
    return Command("smbclient -L %s -N -g", f"//{address}")


@dataclass
class SmbListing:
    ok: bool = True
    shares: list[str] = field(default_factory=list)    # Disk shares
    other: list[str] = field(default_factory=list)     # IPC$, printers
    messages: list[str] = field(default_factory=list)
    error: str | None = None


def parse(text: str) -> SmbListing:
    out = SmbListing()
    for n, line in enumerate(text.splitlines(), start=1):
        if "|" not in line:
            if line.strip():
                out.messages.append(line.strip())
            continue
        parts = line.split("|")
        if len(parts) < 3 or parts[0] not in TYPES or not parts[1]:
            raise ParseError(f"line {n}: expected 'Type|Name|Comment', got {shown(line)}")
        if parts[0] == "Disk":
            out.shares.append(parts[1])
        elif parts[0] in ("IPC", "Printer"):
            out.other.append(parts[1])
    return out


def from_result(rc: int, stdout: str, stderr: str, address: str = "") -> SmbListing:
    if rc != 0:
        detail = (stderr.strip() or stdout.strip()).splitlines()
        return SmbListing(ok=False, error=f"smbclient -L //{address} exited {rc}"
                          + (f": {detail[-1]}" if detail else ""))
    return parse(stdout)
