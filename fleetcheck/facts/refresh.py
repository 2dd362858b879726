"""Refreshing the package lists, when the inventory allows it (`updates.refresh_lists`):
`apt-get update`, `dnf makecache`, `yum makecache fast`. The fact is the outcome.

This is the one fact that changes the host (the lists under /var/lib/apt/lists or
the dnf/yum cache); it is gathered only when the var asks for it, and it talks to the
host's configured repositories, whatever they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "refresh"
# apt: only the lists are refreshed; the binary caches (pkgcache.bin) are not rebuilt
COMMANDS = {"apt": "LC_ALL=C apt-get -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "
                   "update", "dnf": "dnf -q makecache",
            "yum": "yum -q makecache fast"}
APT_LINE = re.compile(r"^(Get|Hit|Ign|Err):\d+ |^(W|E|N): |^Reading package lists|"
                      r"^Fetched |^Building dependency tree|^Reading state information|"
                      r"^All packages are up to date|^\d+ packages? can be upgraded|^ ")


def command(hostvars: Mapping[str, Any], manager: str = "apt") -> Command:
    if manager not in COMMANDS:
        raise FactError(f"no refresh command for {manager!r}")
    return Command(COMMANDS[manager])


@dataclass
class Refresh:
    ok: bool = True
    fetched: int = 0
    errors: list[str] = field(default_factory=list)


def parse(text: str) -> Refresh:
    """`apt-get update` output."""
    out = Refresh()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if not APT_LINE.match(line):
            raise ParseError(f"line {n}: not an apt-get update line: {shown(line)}")
        if line.startswith(("Err:", "E: ", "W: ")):
            out.errors.append(line.strip())
        elif line.startswith(("Get:", "Hit:")):
            out.fetched += 1
    out.ok = not any(e.startswith(("Err:", "E: ")) for e in out.errors)
    return out


def from_result(rc: int, stdout: str, stderr: str, manager: str = "apt") -> Refresh:
    errors = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if manager != "apt":
        return Refresh(rc == 0, 0, errors if rc else [])
    result = parse(stdout)
    result.errors += [e for e in errors if e not in result.errors]
    result.ok = result.ok and rc == 0 and not any(e.startswith("E:") for e in errors)
    return result
