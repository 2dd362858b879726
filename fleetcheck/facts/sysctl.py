"""Kernel parameters: `sysctl -e KEY...` -> {key: value} (absent keys are missing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "sysctl"
# What `sysctl -e` prints (keys as the kernel names them; `*` in a glob form).
KEY = re.compile(r"[A-Za-z0-9_.\-/*]+")
MAX_VALUE = 4096   # a page: what a /proc/sys write takes


def persisted_value(value: Any, what: str = "the value") -> str:
    """The value of a `key = value` line of sysctl.d(5) (and of `sysctl -w key=value`):
    a string or a number (a YAML boolean is refused: the kernel wants 0/1), no line
    break or control character, not only blanks. sysctl.d splits a line at its first
    '=' and trims blanks, and ``#``/``;`` start a comment only at the start of a line,
    so '=', '#' and ';' inside a value are data."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise values.UnsafeValue(f"{what} must be a number or a string (0/1, not a boolean), "
                                 f"got {values.describe(value)}")
    text = values.text(str(value), what, max_len=MAX_VALUE)
    if not text.strip():
        raise values.UnsafeValue(f"{what} must not be blank")
    return text


# The vars whose values reach this fact's command, `sysctl -w` and the sysctl.d file
# (checked at load: fleetcheck.values): every key and every value of `sysctl`.
VALUE_KINDS = {"sysctl{}": values.sysctl_key, "sysctl.*": persisted_value}


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
            raise ParseError(f"line {n}: expected 'key = value', got {shown(line)}")
        values[key] = value.strip()
    return Sysctl(values)


def normalize(value: Any) -> str:
    """sysctl prints multi-value parameters with tabs; compare on single spaces."""
    return " ".join(str(value).split())
