"""Load averages: /proc/loadavg."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError

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
    try:
        running, total = parts[3].split("/")
        return Loadavg(float(parts[0]), float(parts[1]), float(parts[2]), int(running),
                       int(total))
    except (IndexError, ValueError):
        raise ParseError(f"loadavg line 1: not /proc/loadavg: {lines[0][:60]!r}") from None
