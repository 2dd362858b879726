"""Memory and swap: /proc/meminfo (values in kB)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "meminfo"
REQUIRED = ("MemTotal", "MemFree", "SwapTotal", "SwapFree")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat /proc/meminfo")


@dataclass
class Meminfo:
    total_kb: int
    free_kb: int
    available_kb: int      # MemAvailable; estimated as free+buffers+cached on old kernels
    swap_total_kb: int
    swap_free_kb: int

    @property
    def available_pct(self) -> float:
        return round(100.0 * self.available_kb / self.total_kb, 1) if self.total_kb else 0.0

    @property
    def swap_used_pct(self) -> float:
        used = self.swap_total_kb - self.swap_free_kb
        return round(100.0 * used / self.swap_total_kb, 1) if self.swap_total_kb else 0.0


def parse(text: str) -> Meminfo:
    values: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not parts or not parts[0].isdigit():  # isdigit: also '²', see to_int
            raise ParseError(f"meminfo line {n}: expected 'Key: value kB', got {shown(line)}")
        values[key.strip()] = to_int(parts[0], f"meminfo line {n}: {shown(key.strip())}")
    missing = [k for k in REQUIRED if k not in values]
    if missing:
        raise ParseError(f"meminfo line {len(text.splitlines())}: missing {', '.join(missing)}")
    available = values.get("MemAvailable", values["MemFree"] + values.get("Buffers", 0)
                           + values.get("Cached", 0))
    return Meminfo(values["MemTotal"], values["MemFree"], available, values["SwapTotal"],
                   values["SwapFree"])
