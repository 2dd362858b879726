"""Load averages: /proc/loadavg."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_float, to_int

NAME = "loadavg"


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat /proc/loadavg")


@dataclass
class Loadavg:
    load1: float
    load5: float
    load15: float
    running: int
    total: int


def parse(text: str) -> Loadavg:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ParseError(f"loadavg line {len(lines) or 1}: expected one line, got {len(lines)}")
    parts = lines[0].split()
    running, slash, total = parts[3].partition("/") if len(parts) == 5 else ("", "", "")
    if not slash:
        raise ParseError(f"loadavg line 1: not /proc/loadavg: {shown(lines[0])}")
    where = "loadavg line 1"
    return Loadavg(to_float(parts[0], where), to_float(parts[1], where),
                   to_float(parts[2], where), to_int(running, where), to_int(total, where))
