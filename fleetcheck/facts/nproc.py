"""Processing units available to the audit: ``nproc``.

``nproc`` prints the CPUs this process may run on (its affinity mask, OMP_NUM_THREADS
and cgroup CPU quotas aside), which is what a run queue is compared against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "nproc"


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("nproc")


@dataclass
class Nproc:
    cpus: int


def parse(text: str) -> Nproc:
    if not isinstance(text, str):
        raise ParseError("nproc: expected text")
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ParseError("line 1: empty input: nproc printed nothing")
    if len(lines) > 1:
        lineno, extra = lines[1]
        raise ParseError(f"line {lineno}: nproc prints one number, found more: {shown(extra)}")
    lineno, value = lines[0]
    if not (value.isascii() and value.isdigit()) or value.strip("0") == "":
        raise ParseError(f"line {lineno}: not a CPU count: {shown(value)}")
    return Nproc(cpus=to_int(value, f"line {lineno}: CPU count"))
