"""Clock synchronisation: `timedatectl show`, or `chronyc -c tracking` without systemd.

`timedatectl show` prints one `Property=value` line per property of systemd-timedated
(booleans as yes/no): Timezone, LocalRTC, CanNTP, NTP, NTPSynchronized, TimeUSec,
RTCTimeUSec. NTPSynchronized is the kernel's view (adjtimex: STA_UNSYNC clear), so it
holds whichever daemon (timesyncd, chronyd, ntpd) keeps the clock.

Without systemd (no timedatectl, or it fails: "System has not been booted with systemd
as init system") the command asks chronyd, after a marker line, with `chronyc -c
tracking`: one CSV line of 14 fields (reference ID, reference name, stratum, ref time,
system time offset, last offset, RMS offset, frequency, residual freq, skew, root
delay, root dispersion, update interval, leap status). When neither answers the
command fails and the fact is a FactError, as for any command that fails.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_float, to_int

NAME = "timesync"
CHRONY_MARK = "fleetcheck: no timedatectl show; chronyc -c tracking:"
SCRIPT = f"""if out=$(LC_ALL=C timedatectl show 2>/dev/null) && [ -n "$out" ]; then
  printf '%s\\n' "$out"
elif command -v chronyc >/dev/null 2>&1; then
  echo '{CHRONY_MARK}'; LC_ALL=C chronyc -c tracking
else
  echo 'fleetcheck: neither timedatectl show nor chronyc -c tracking answered' >&2
  exit 127
fi
"""
# systemd property names
KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*")
BOOLEANS = {"yes": True, "no": False}
# chronyc's leap status words (chronyc(1), tracking)
LEAP_STATUSES = {"Normal", "Insert second", "Delete second", "Not synchronised"}
CHRONY_FIELDS = 14


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck", SCRIPT)


@dataclass
class ChronyTracking:
    reference_id: str       # 8 hex digits; 00000000 when not synchronised
    reference_name: str     # the server's name or address, may be empty
    stratum: int
    offset: float           # "System time": seconds, signed as chronyc -c prints it
    leap_status: str        # Normal, Insert second, Delete second, Not synchronised

    @property
    def synchronized(self) -> bool:
        return self.leap_status != "Not synchronised"


@dataclass
class Timesync:
    source: str                     # timedatectl, chronyc
    ntp_enabled: bool | None        # NTP=
    synchronized: bool | None       # NTPSynchronized=; chrony: leap status
    can_ntp: bool | None            # CanNTP=
    timezone: str | None            # Timezone= (None: absent or empty)
    local_rtc: bool | None          # LocalRTC=
    raw: dict[str, str] = field(default_factory=dict)   # every timedatectl property
    chrony: ChronyTracking | None = None


def parse(text: str) -> Timesync:
    first, _, rest = text.partition("\n")
    if first.rstrip("\r") == CHRONY_MARK:
        tracking = parse_chronyc_tracking(rest, first_line=2)
        return Timesync("chronyc", None, tracking.synchronized, None, None, None, {},
                        tracking)
    return parse_timedatectl(text)


def parse_timedatectl(text: str) -> Timesync:
    raw: dict[str, str] = {}
    lines: dict[str, int] = {}
    n = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not KEY.fullmatch(key):
            raise ParseError(f"line {n}: expected Property=value, got {shown(line)}")
        if key in raw:
            raise ParseError(f"line {n}: {key}= again (first on line {lines[key]})")
        raw[key] = value
        lines[key] = n
    if "NTPSynchronized" not in raw:
        raise ParseError(f"line {max(n, 1)}: no NTPSynchronized= line: not `timedatectl "
                         f"show` output")

    def boolean(key: str) -> bool | None:
        if key not in raw:
            return None
        if raw[key] not in BOOLEANS:
            raise ParseError(f"line {lines[key]}: {key}= expected yes or no, got "
                             f"{shown(raw[key])}")
        return BOOLEANS[raw[key]]

    return Timesync("timedatectl", boolean("NTP"), boolean("NTPSynchronized"),
                    boolean("CanNTP"), raw.get("Timezone") or None, boolean("LocalRTC"),
                    raw)


def parse_chronyc_tracking(text: str, first_line: int = 1) -> ChronyTracking:
    """One line of `chronyc -c tracking`; `first_line` numbers it in messages."""
    found = [(n, line) for n, line in enumerate(text.splitlines(), start=first_line)
             if line.strip()]
    if len(found) != 1:
        n = found[1][0] if found else first_line
        raise ParseError(f"line {n}: expected one line of `chronyc -c tracking`, got "
                         f"{len(found)}")
    n, line = found[0]
    where = f"line {n}"
    fields = line.rstrip("\r").split(",")
    if len(fields) != CHRONY_FIELDS:
        raise ParseError(f"{where}: expected {CHRONY_FIELDS} comma-separated fields, got "
                         f"{len(fields)}: {shown(line)}")
    ref_id, ref_name, stratum = fields[0], fields[1], fields[2]
    if len(ref_id) != 8 or not all(c in string.hexdigits for c in ref_id):
        raise ParseError(f"{where}: expected a reference ID of 8 hex digits, got "
                         f"{shown(ref_id)}")
    names = ("ref time", "system time", "last offset", "RMS offset", "frequency",
             "residual freq", "skew", "root delay", "root dispersion", "update interval")
    numbers = [_signed(value, f"{where}: {name}") for name, value in zip(names, fields[3:13])]
    leap = fields[13]
    if leap not in LEAP_STATUSES:
        raise ParseError(f"{where}: unknown leap status {shown(leap)}")
    return ChronyTracking(ref_id, ref_name, to_int(stratum, f"{where}: stratum"),
                          numbers[1], leap)


def _signed(text: str, where: str) -> float:
    """A decimal with an optional sign (chronyc prints offsets and frequencies signed)."""
    if text[:1] in ("-", "+"):
        value = to_float(text[1:], where)
        return -value if text[0] == "-" else value
    return to_float(text, where)
