"""Kernel parameters: `sysctl -e KEY...` -> {key: value} (absent keys are missing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError

NAME = "sysctl"
# What `sysctl -e` prints (keys as the kernel names them; `*` in a glob form).
KEY = re.compile(r"[A-Za-z0-9_.\-/*]+")
# The vars whose values reach this fact's command (checked at load: fleetcheck.values).
VALUE_KINDS = {"sysctl{}": values.sysctl_key}


def command(hostvars: Mapping[str, Any], keys: tuple[str, ...] = ()) -> Command:
    if not keys:
        keys = tuple(hostvars.get("sysctl", {}) or ())
    try:
        for key in keys:
            values.sysctl_key(key)
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    # `--`: no key is read as an option, even one that got past the checks above
    return Command("sysctl -e --" + " %s" * len(keys), *keys) if keys else Command("true")


@dataclass
class Sysctl:
    values: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> Sysctl:
    values = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        if not sep or not KEY.fullmatch(key):
            raise ParseError(f"line {n}: expected 'key = value', got {line[:60]!r}")
        values[key] = value.strip()
    return Sysctl(values)


def normalize(value: Any) -> str:
    """sysctl prints multi-value parameters with tabs; compare on single spaces."""
    return " ".join(str(value).split())
