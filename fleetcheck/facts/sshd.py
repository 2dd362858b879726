"""The sshd configuration in effect: `sshd -T` (keywords in lower case)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import re

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError

NAME = "sshd"
_DIRECTIVE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


def directive(value, what: str = "the value"):
    """An sshd_config keyword (PermitRootLogin): letters and digits only, so it can
    neither be an option nor break the line it is written on."""
    text = values.word(value, what)
    if not _DIRECTIVE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an sshd_config keyword: letters and digits (like PermitRootLogin), "
                                 f"got {values.shown(text)}")
    return text


# The vars whose values reach sshd_config (checked at load: fleetcheck.values).
VALUE_KINDS = {"sshd{}": directive}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sshd -T")


@dataclass
class SshdConfig:
    settings: dict[str, str] = field(default_factory=dict)   # first value of each keyword
    repeated: dict[str, list[str]] = field(default_factory=dict)  # every value, when several

    def get(self, keyword: str) -> str | None:
        return self.settings.get(keyword.lower())


def parse(text: str) -> SshdConfig:
    cfg = SshdConfig()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if not key.isalnum() or key.lower() != key:
            raise ParseError(f"line {n}: expected 'keyword value', got {line[:60]!r}")
        if key in cfg.settings:
            cfg.repeated.setdefault(key, [cfg.settings[key]]).append(value)
        else:
            cfg.settings[key] = value
    if not cfg.settings:
        raise ParseError("line 1: empty output: is this `sshd -T`?")
    return cfg
