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

from fleetcheck import values
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


def command(hostvars: Mapping[str, Any], daemons: bool = False) -> Command:
    """`daemons=True`: the form of time.synced (DAEMONS_SCRIPT below)."""
    return Command("sh -c %s fleetcheck", DAEMONS_SCRIPT if daemons else SCRIPT)


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


def parse(text: str) -> Timesync | TimeDaemons:
    """Timesync; TimeDaemons for the `daemons=True` form (its first line says so)."""
    first, _, rest = text.partition("\n")
    if first.rstrip("\r") == DAEMONS_MARK:
        return parse_daemons(text)
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


# -- which time daemon keeps the clock: command(hostvars, daemons=True) ---------------
#
# The form time.synced reads: one line per known time daemon (installed: its binary;
# service: its init script or systemd unit; running: as the service manager says, or
# pidof when there is no script), then `timedatectl show` (systemd) and `chronyc -c
# tracking` (when chronyd runs: the offset), each after its marker and only when it
# answers. It exits 0 whatever is installed: "nothing keeps time" is a finding, not an
# error of the fact.

DAEMONS_MARK = "fleetcheck: time daemons:"
TIMEDATECTL_MARK = "fleetcheck: timedatectl show:"
TRACKING_MARK = "fleetcheck: chronyc -c tracking:"
# name, process (comm), services (the first found is the one to start), binaries
DAEMONS = (
    ("chrony", "chronyd", ("chrony", "chronyd"), ("/usr/sbin/chronyd", "/sbin/chronyd")),
    ("systemd-timesyncd", "systemd-timesyncd", ("systemd-timesyncd",),
     ("/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd")),
    ("ntpd", "ntpd", ("ntpsec", "ntp", "ntpd", "openntpd"),
     ("/usr/sbin/ntpd", "/sbin/ntpd", "/usr/sbin/openntpd")),
)
DAEMONS_SCRIPT = f"""echo '{DAEMONS_MARK}'
if [ -d /run/systemd/system ]; then init=systemd; else init=sysv; fi
echo "init=$init"
chrony_running=no
report() {{
  name=$1 process=$2 services=$3; shift 3
  installed=no
  for b; do [ -x "$b" ] && installed=yes; done
  service=
  for s in $services; do
    for f in "/etc/init.d/$s" "/lib/systemd/system/$s.service" \\
             "/usr/lib/systemd/system/$s.service" "/etc/systemd/system/$s.service"; do
      if [ -e "$f" ]; then service=$s; break 2; fi
    done
  done
  if [ "$init" = systemd ] && [ -n "$service" ]; then
    systemctl is-active --quiet -- "$service" && running=yes || running=no
  elif [ "$init" = sysv ] && [ -n "$service" ] && [ -x "/etc/init.d/$service" ]; then
    service "$service" status >/dev/null 2>&1 && running=yes || running=no
  else
    pidof -- "$process" >/dev/null 2>&1 && running=yes || running=no
  fi
  [ "$name" = chrony ] && chrony_running=$running
  echo "daemon=$name installed=$installed running=$running service=$service"
}}
""" + "".join(f"report {n} {p} '{' '.join(s)}' {' '.join(b)}\n" for n, p, s, b in DAEMONS) + f"""\
if [ "$init" = systemd ] && out=$(LC_ALL=C timedatectl show 2>/dev/null) && [ -n "$out" ]
then echo '{TIMEDATECTL_MARK}'; printf '%s\\n' "$out"; fi
if [ "$chrony_running" = yes ] && command -v chronyc >/dev/null 2>&1 \\
   && out=$(LC_ALL=C chronyc -c tracking 2>/dev/null) && [ -n "$out" ]
then echo '{TRACKING_MARK}'; printf '%s\\n' "$out"; fi
exit 0
"""
DAEMON_NAMES = tuple(d[0] for d in DAEMONS)
SERVICE_NAMES = frozenset(s for d in DAEMONS for s in d[2])


@dataclass
class TimeDaemon:
    name: str               # chrony, systemd-timesyncd, ntpd
    installed: bool         # its binary is there
    running: bool
    service: str | None     # the init script / unit to start it by; None: none found


@dataclass
class TimeDaemons:
    init: str                                   # systemd, sysv
    daemons: list[TimeDaemon] = field(default_factory=list)
    timedatectl: Timesync | None = None         # systemd only, when it answers
    tracking: ChronyTracking | None = None      # when chronyd runs and answers

    @property
    def usable(self) -> list[TimeDaemon]:
        """The installed daemons that can run here (systemd-timesyncd only under
        systemd)."""
        return [d for d in self.daemons if d.installed
                and (d.name != "systemd-timesyncd" or self.init == "systemd")]

    @property
    def synchronized(self) -> bool | None:
        """chronyd's leap status, else the kernel's (timedatectl); None: unknown."""
        if self.tracking is not None:
            return self.tracking.synchronized
        return self.timedatectl.synchronized if self.timedatectl is not None else None


def parse_daemons(text: str) -> TimeDaemons:
    """The `daemons=True` form (see DAEMONS_SCRIPT): sections after their markers."""
    lines = text.splitlines()
    sections: dict[str, tuple[int, list[str]]] = {}
    current = None
    for n, line in enumerate(lines, start=1):
        if line in (DAEMONS_MARK, TIMEDATECTL_MARK, TRACKING_MARK):
            if line in sections:
                raise ParseError(f"line {n}: {line!r} again")
            if n == 1 and line != DAEMONS_MARK:
                break
            sections[line] = (n + 1, [])
            current = line
        elif current is not None:
            sections[current][1].append(line)
    if not lines or lines[0] != DAEMONS_MARK:
        raise ParseError(f"line 1: expected {DAEMONS_MARK!r}")
    first, body = sections[DAEMONS_MARK]
    init, daemons = _daemon_lines(body, first)
    out = TimeDaemons(init, daemons)
    if TIMEDATECTL_MARK in sections:
        first, body = sections[TIMEDATECTL_MARK]
        try:
            out.timedatectl = parse_timedatectl("\n".join(body))
        except ParseError as exc:
            raise ParseError(_renumber(str(exc), first)) from None
    if TRACKING_MARK in sections:
        first, body = sections[TRACKING_MARK]
        out.tracking = parse_chronyc_tracking("\n".join(body), first_line=first)
    return out


def _renumber(message: str, first: int) -> str:
    """`line 3: ...` of a section starting at line `first` -> its line in the output."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("line ") and head[5:].isdigit():
        return f"line {int(head[5:]) + first - 1}: {rest}"
    return message


def _daemon_lines(body: list[str], first: int) -> tuple[str, list[TimeDaemon]]:
    init = None
    daemons: list[TimeDaemon] = []
    for n, line in enumerate(body, start=first):
        if n == first:
            if line not in ("init=systemd", "init=sysv"):
                raise ParseError(f"line {n}: expected init=systemd or init=sysv, got "
                                 f"{shown(line)}")
            init = line[5:]
            continue
        fields = dict(part.partition("=")[::2] for part in line.split(" "))
        if list(fields) != ["daemon", "installed", "running", "service"] \
                or fields["daemon"] not in DAEMON_NAMES or fields["daemon"] in \
                [d.name for d in daemons] \
                or {fields["installed"], fields["running"]} - {"yes", "no"} \
                or (fields["service"] and fields["service"] not in SERVICE_NAMES):
            raise ParseError(f"line {n}: expected 'daemon=NAME installed=yes|no "
                             f"running=yes|no service=NAME', got {shown(line)}")
        daemons.append(TimeDaemon(fields["daemon"], fields["installed"] == "yes",
                                  fields["running"] == "yes", fields["service"] or None))
    if init is None:
        raise ParseError(f"line {first}: no init= line")
    return init, daemons


def max_offset(value: Any, what: str = "time_sync.max_offset_ms") -> float:
    """A positive number of milliseconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise values.UnsafeValue(f"{what} must be a positive number of milliseconds, got "
                                 f"{values.describe(value)}")
    return float(value)


# The var of time.synced: no value reaches a command; its kind is checked at load.
VALUE_KINDS = {"time_sync.max_offset_ms": max_offset}
VARS = {
    "time_sync": {
        "type": "object",
        "description": "clock synchronisation (time.synced); null: not judged (a "
                       "container whose clock is its host's)",
        "properties": {
            "max_offset_ms": {"type": "number", "exclusiveMinimum": 0, "default": 500,
                              "description": "the largest offset from NTP time, in "
                                             "milliseconds, chronyd may report"},
        },
        "additionalProperties": False,
    },
}
