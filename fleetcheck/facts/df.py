"""Filesystem usage: `df -PT` (blocks) or `df -Pi` (inodes), POSIX output format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError

NAME = "df"


def command(hostvars: Mapping[str, Any], inodes: bool = False) -> Command:
    return Command("LC_ALL=C df -Pi" if inodes else "LC_ALL=C df -PT")


@dataclass
class Filesystem:
    source: str
    mount: str
    fstype: str | None      # only in the blocks form (-T)
    total: int              # 1K blocks, or inodes
    used: int
    available: int
    used_pct: int | None    # None when the filesystem reports no inodes ("-")


@dataclass
class Df:
    inodes: bool
    filesystems: list[Filesystem] = field(default_factory=list)

    def by_mount(self) -> dict[str, Filesystem]:
        return {fs.mount: fs for fs in self.filesystems}


def parse(text: str) -> Df:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Filesystem"):
        raise ParseError("df line 1: expected the 'Filesystem ...' header")
    header = lines[0].split()
    inodes = "Inodes" in header
    typed = "Type" in header
    if not inodes and "1024-blocks" not in header:
        raise ParseError(f"df line 1: not `df -P` output: {lines[0][:60]!r}")
    out = Df(inodes=inodes)
    width = 6 if typed else 5
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(None, width)
        if len(parts) != width + 1:
            raise ParseError(f"df line {n}: expected {width + 1} columns, got {line[:60]!r}")
        source, rest = parts[0], parts[1:]
        fstype = rest.pop(0) if typed else None
        total, used, avail, pct, mount = rest
        try:
            used_pct = None if pct == "-" else int(pct.rstrip("%"))
            out.filesystems.append(Filesystem(source, mount, fstype, _num(total), _num(used),
                                              _num(avail), used_pct))
        except ValueError:
            raise ParseError(f"df line {n}: not numbers: {line[:60]!r}") from None
    return out


def _num(text: str) -> int:
    return 0 if text == "-" else int(text)
