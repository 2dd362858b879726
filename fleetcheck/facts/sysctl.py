"""Kernel parameters: `sysctl -e KEY...` -> {key: value} (absent keys are missing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError

NAME = "sysctl"
KEY = re.compile(r"^[A-Za-z0-9_.\-/*]+$")


def command(hostvars: Mapping[str, Any], keys: tuple[str, ...] = ()) -> Command:
    if not keys:
        keys = tuple(hostvars.get("sysctl", {}) or ())
    bad = [k for k in keys if not KEY.match(str(k))]
    if bad:
        raise FactError(f"not a sysctl key: {bad[0]!r}")
    return Command("sysctl -e" + " %s" * len(keys), *keys) if keys else Command("true")


@dataclass
class Sysctl:
    values: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> Sysctl:
    values = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        if not sep or not KEY.match(key):
            raise ParseError(f"line {n}: expected 'key = value', got {line[:60]!r}")
        values[key] = value.strip()
    return Sysctl(values)


def normalize(value: Any) -> str:
    """sysctl prints multi-value parameters with tabs; compare on single spaces."""
    return " ".join(str(value).split())
