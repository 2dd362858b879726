"""Which service manager the host runs: picked once per host, used by every service
fact and action (systemd, else SysV `service`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown

NAME = "init"


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi")


@dataclass
class Init:
    system: str  # systemd | sysv


def parse(text: str) -> Init:
    value = text.strip()
    if value not in ("systemd", "sysv"):
        raise ParseError(f"line 1: expected systemd or sysv, got {shown(value)}")
    return Init(value)
