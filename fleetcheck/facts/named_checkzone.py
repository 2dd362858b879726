"""One zone file as named would load it: `named-checkzone -f FORMAT ZONE FILE`.

Exit 0 and `zone Z/IN: loaded serial N` + `OK`: the zone loads. Exit 1 and
`zone Z/IN: not loaded due to errors.`: it does not; the lines before say why
(`dns_master_load: FILE:LINE: ...`, `FILE:LINE: ...`, `zone Z/IN: ...`).
A secondary's copy is in raw format by default (BIND 9.9+), hence `-f`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown, to_int

NAME = "named_checkzone"
ZONE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
FORMATS = ("text", "raw", "map")

ZONE_LINE = re.compile(r"^zone (?P<zone>[^/\s]+)/(?P<cls>[A-Za-z0-9]+): (?P<msg>.+)$")
LOADED = re.compile(r"^loaded serial (?P<serial>\d+)(?: \(DNSSEC signed\))?$")
OTHER = re.compile(r"^[^\s:]+(?::\d+)?: .+$")   # `dns_master_load: ...`, `FILE[:LINE]: ...`


def command(hostvars: Mapping[str, Any], zone: str = "", file: str = "",
            format: str = "text") -> Command:
    if not ZONE_NAME.match(zone) or not file.startswith("/") or format not in FORMATS:
        raise FactError(f"named-checkzone needs a zone name, an absolute file and a format "
                        f"({FORMATS}); got {zone!r} {file!r} {format!r}")
    return Command("named-checkzone -f %s %s %s", format, zone, file)


@dataclass
class CheckZone:
    zone: str
    loaded: bool
    serial: int | None = None
    messages: list[str] = field(default_factory=list)   # every line but the verdict


def parse(text: str) -> CheckZone:
    lines = [(n, line.rstrip()) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip()]
    if not lines:
        raise ParseError("line 1: empty output: is this `named-checkzone`?")
    zone = None
    serial = None
    failed = False
    ok_line = None
    messages = []
    for n, line in lines:
        if line == "OK":
            if ok_line is not None or failed:
                raise ParseError(f"line {n}: a second verdict")
            ok_line = n
            continue
        if ok_line is not None:
            raise ParseError(f"line {n}: text after the final OK: {shown(line)}")
        match = ZONE_LINE.match(line)
        if match:
            if zone is not None and match.group("zone") != zone:
                raise ParseError(f"line {n}: a second zone {shown(match.group('zone'), 60)} "
                                 f"(first {shown(zone, 60)})")
            zone = match.group("zone")
            msg = match.group("msg")
            loaded = LOADED.match(msg)
            if loaded:
                serial = to_int(loaded.group("serial"), f"line {n}: serial")
                continue
            if msg == "not loaded due to errors.":
                failed = True
                continue
            messages.append(line)
            continue
        if failed:
            raise ParseError(f"line {n}: text after 'not loaded due to errors.': {shown(line)}")
        if not OTHER.match(line):
            raise ParseError(f"line {n}: not a named-checkzone message: {shown(line)}")
        messages.append(line)
    last = lines[-1][0]
    if zone is None:
        raise ParseError(f"line {last}: no 'zone NAME/CLASS:' line: is this named-checkzone?")
    if ok_line is not None and serial is None:
        raise ParseError(f"line {ok_line}: OK without 'loaded serial'")
    if ok_line is None and not failed:
        raise ParseError(f"line {last}: no verdict (OK or 'not loaded due to errors.'): "
                         "truncated?")
    return CheckZone(zone, loaded=ok_line is not None, serial=serial, messages=messages)


def from_result(rc: int, stdout: str, stderr: str, **params: Any) -> CheckZone:
    if rc in (0, 1):
        return parse(stdout + stderr)
    raise FactError(f"named-checkzone exited {rc}: {(stderr or stdout).strip()[:200]}")
