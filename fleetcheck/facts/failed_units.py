"""Services that failed: systemd's units in the `failed` state, or, on a host without
systemd, the SysV services started at boot whose init script says they died.

systemd: `systemctl list-units --failed --no-legend --plain --full`, one unit a line:
`UNIT LOAD ACTIVE SUB DESCRIPTION` (the description may hold blanks).

SysV: every service with a start link in /etc/rc2.d .. /etc/rc5.d (what boot starts;
Debian's default runlevel is 2, the others the same unless an admin changed them) is
asked for its `status`, bounded by `timeout`; the LSB exit codes (LSB 5.0, "Init
Script Actions") tell a stopped service (3) from one that died: 1 is "dead and a
/var/run pid file exists", 2 "dead and a /var/lock lock file exists". A line per
service: `NAME CODE`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "failed_units"
MAX_UNITS = 500            # lines read; a host with more is said to have more
STATUS_TIMEOUT = 10        # seconds for one init script's `status`
DEAD = {1: "dead, its pid file left", 2: "dead, its lock file left"}

# Fixed text: no inventory value reaches it.
SCRIPT = rf"""if [ -d /run/systemd/system ]; then
  echo init=systemd
  systemctl list-units --failed --no-legend --plain --full --no-pager | head -n {MAX_UNITS + 1}
else
  echo init=sysv
  for link in /etc/rc[2345].d/S[0-9][0-9]*; do
    [ -e "$link" ] || continue
    name=${{link##*/S[0-9][0-9]}}
    echo "$name"
  done | sort -u | head -n {MAX_UNITS + 1} | while read -r name; do
    [ -x "/etc/init.d/$name" ] || continue
    timeout {STATUS_TIMEOUT} "/etc/init.d/$name" status >/dev/null 2>&1 </dev/null
    echo "$name $?"
  done
fi
"""

# The var of service.failed (fleetcheck.varschema), and the kinds of its values.
VALUE_KINDS = {"service_failed.restart[]": values.unit}
VARS = {
    "service_failed": {
        "type": ["object", "null"],
        "description": "service.failed: units that failed (systemd) or SysV services "
                       "started at boot that died; null: not judged",
        "x-expected": "a mapping (like {ignore: [], restart: [rsyslog]})",
        "properties": {
            "ignore": {"type": "array", "default": [],
                       "description": "unit names or globs (fnmatch) not judged",
                       "items": {"type": "string", "description": "a unit name or glob"}},
            "restart": {"type": "array", "default": [],
                        "description": "services --remediate may restart when they failed "
                                       "(no other is touched)",
                        "items": {"type": "string", "description": "a service name"}},
        },
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck", SCRIPT)


@dataclass
class Failed:
    name: str         # the unit (nginx.service) or the SysV service (rsyslog)
    state: str        # systemd: its ACTIVE/SUB (failed/failed); SysV: what the code says


@dataclass
class FailedUnits:
    init: str                                   # systemd | sysv
    failed: list[Failed] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)   # SysV: the services asked
    truncated: bool = False                     # more than MAX_UNITS lines


_UNIT = re.compile(r"[A-Za-z0-9:_.@\\-]{1,256}")


def parse(text: str) -> FailedUnits:
    lines = text.splitlines()
    if not lines or lines[0] not in ("init=systemd", "init=sysv"):
        raise ParseError(f"line 1: expected init=systemd or init=sysv, got "
                         f"{shown(lines[0] if lines else '')}")
    out = FailedUnits(lines[0].partition("=")[2])
    body = lines[1:]
    if len(body) > MAX_UNITS:
        body, out.truncated = body[:MAX_UNITS], True
    for n, line in enumerate(body, start=2):
        if not line.strip():
            continue
        words = line.split(None, 4)
        if out.init == "systemd":
            if len(words) < 4 or not _UNIT.fullmatch(words[0]):
                raise ParseError(f"line {n}: expected 'UNIT LOAD ACTIVE SUB DESCRIPTION', "
                                 f"got {shown(line)}")
            out.failed.append(Failed(words[0], f"{words[2]}/{words[3]}"))
            continue
        if len(words) != 2 or not _UNIT.fullmatch(words[0]):
            raise ParseError(f"line {n}: expected 'SERVICE STATUS-CODE', got {shown(line)}")
        code = to_int(words[1], f"line {n}: the status code")
        out.checked.append(words[0])
        if code in DEAD:
            out.failed.append(Failed(words[0], DEAD[code]))
    return out


def findings(state: FailedUnits, hostvars: Mapping[str, Any]) -> list[Failed]:
    """The failed services service.failed reports: not one the var `services` lists
    (service.running judges those: `cron` is also cron.service), not one of
    `service_failed.ignore` (names or globs)."""
    declared = {str(n) for n in hostvars.get("services") or ()}
    conf = hostvars.get("service_failed") or {}
    ignored = [str(g) for g in conf.get("ignore") or ()]

    def names(unit: str) -> tuple[str, str]:
        return unit, unit.removesuffix(".service")

    return [f for f in state.failed
            if not declared.intersection(names(f.name))
            and not any(fnmatch.fnmatchcase(n, g) for n in names(f.name) for g in ignored)]
