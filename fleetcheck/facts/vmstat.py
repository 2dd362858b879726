"""Virtual memory, CPU and run-queue samples: ``vmstat INTERVAL COUNT``.

Columns are read by the names in vmstat's header, not by position: procps 3.3 and
4.x differ (4.x adds ``gu``, the guest CPU time, at least in wide mode), ``-a``
prints ``inact``/``active`` instead of ``buff``/``cache``, ``-w`` only widens the
columns, and ``-t`` adds a date and time (under a header naming the time zone).

Every number is an integer as vmstat prints it. With the default unit the memory
columns are KiB (``-S`` changes the unit and is not detectable from the output, so
the command never passes it). ``si``/``so`` are KiB/s swapped in/out, ``bi``/``bo``
blocks/s from/to block devices, ``in``/``cs`` interrupts and context switches per
second, the ``cpu_*`` fields percentages of CPU time.

The first data line is vmstat's average since boot (``since_boot``); ``Vmstat.live``
drops it. vmstat repeats its two header lines every screenful of samples (also when
writing to a pipe); repeated headers are skipped, and must name the same columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, brief, shown, to_int

NAME = "vmstat"

DEFAULT_INTERVAL = 1
DEFAULT_SAMPLES = 6


def _positive_int(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"capacity.vmstat.{what} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"capacity.vmstat.{what} must be a positive integer, got {value!r}")
    return number


def command(hostvars: Mapping[str, Any]) -> Command:
    capacity = hostvars.get("capacity") or {}
    cfg = (capacity.get("vmstat") or {}) if isinstance(capacity, Mapping) else {}
    interval = _positive_int(cfg.get("interval", DEFAULT_INTERVAL), "interval")
    samples = _positive_int(cfg.get("samples", DEFAULT_SAMPLES), "samples")
    return Command("LC_ALL=C vmstat %s %s", interval, samples)


@dataclass
class VmstatSample:
    runnable: int
    blocked: int
    swpd_kb: int
    free_kb: int
    buff_kb: int | None
    cache_kb: int | None
    inact_kb: int | None
    active_kb: int | None
    swap_in_kbps: int
    swap_out_kbps: int
    blocks_in: int
    blocks_out: int
    interrupts: int
    context_switches: int
    cpu_user: int
    cpu_system: int
    cpu_idle: int
    cpu_iowait: int | None
    cpu_stolen: int | None
    cpu_guest: int | None
    since_boot: bool
    timestamp: str | None = None  # "2026-11-21 13:49:53" with -t, in `Vmstat.timezone`


@dataclass
class Vmstat:
    samples: list[VmstatSample] = field(default_factory=list)
    timezone: str | None = None  # the zone vmstat -t names in its header

    @property
    def live(self) -> list[VmstatSample]:
        """The samples taken during the run: without the since-boot averages
        (unless that is the only sample there is)."""
        live = [s for s in self.samples if not s.since_boot]
        return live or list(self.samples)


# vmstat column -> field name
_COLUMNS = {
    "r": "runnable", "b": "blocked",
    "swpd": "swpd_kb", "free": "free_kb", "buff": "buff_kb", "cache": "cache_kb",
    "inact": "inact_kb", "active": "active_kb",
    "si": "swap_in_kbps", "so": "swap_out_kbps",
    "bi": "blocks_in", "bo": "blocks_out",
    "in": "interrupts", "cs": "context_switches",
    "us": "cpu_user", "sy": "cpu_system", "id": "cpu_idle",
    "wa": "cpu_iowait", "st": "cpu_stolen", "gu": "cpu_guest",
}
_REQUIRED = ("r", "b", "swpd", "free", "si", "so", "bi", "bo", "in", "cs", "us", "sy", "id")
_OPTIONAL_FIELDS = ("buff_kb", "cache_kb", "inact_kb", "active_kb",
                    "cpu_iowait", "cpu_stolen", "cpu_guest")
_GROUP_HEADER = re.compile(r"^-*procs-*\s")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")


def _fail(lineno: int, reason: str, line: str | None = None) -> ParseError:
    quoted = f": {shown(line.strip())}" if line is not None and line.strip() else ""
    return ParseError(f"line {lineno}: {reason}{quoted}")


def _read_header(lineno: int, line: str, group_line: str | None) -> tuple[list[str], str | None]:
    names = line.split()
    timezone = None
    timestamped = group_line is not None and "timestamp" in group_line
    if timestamped:
        if names[-1] in _COLUMNS:
            raise _fail(lineno, "vmstat -t header without a time zone column", line)
        timezone = names.pop()
    unknown = [n for n in names if n not in _COLUMNS]
    if unknown:
        raise _fail(lineno, f"unknown vmstat column(s) {brief(', '.join(unknown), 60)}", line)
    missing = [n for n in _REQUIRED if n not in names]
    if missing:
        raise _fail(lineno, f"vmstat header lacks column(s) {', '.join(missing)}", line)
    if len(set(names)) != len(names):
        raise _fail(lineno, "vmstat header repeats a column", line)
    return names, timezone


def parse(text: str) -> Vmstat:
    """Parse `vmstat [-a] [-w] [-t] INTERVAL COUNT` output; ParseError otherwise."""
    if not isinstance(text, str):
        raise ParseError("vmstat: expected text")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ParseError("line 1: empty input: no vmstat header")
    result = Vmstat()
    columns: list[str] | None = None
    group_line: str | None = None
    header_text: str | None = None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if _GROUP_HEADER.match(line):
            if columns is not None and group_line is not None and line.split() != group_line.split():
                raise _fail(lineno, "repeated vmstat header differs from the first", raw)
            group_line = group_line or line
            continue
        tokens = line.split()
        if tokens[:2] == ["r", "b"]:
            if columns is None:
                if group_line is None:
                    raise _fail(lineno, "vmstat column header without the 'procs ---' line above it", raw)
                columns, result.timezone = _read_header(lineno, line, group_line)
                header_text = line
            elif tokens != header_text.split():  # type: ignore[union-attr]
                raise _fail(lineno, "repeated vmstat header differs from the first", raw)
            continue
        if columns is None:
            raise _fail(lineno, "not vmstat output: expected the 'procs ---' header", raw)
        expected = len(columns) + (2 if result.timezone is not None else 0)
        if len(tokens) != expected:
            raise _fail(lineno, f"{len(tokens)} values for {expected} columns", raw)
        values: dict[str, Any] = {name: None for name in _OPTIONAL_FIELDS}
        for name, token in zip(columns, tokens):
            if not (token.isascii() and token.isdigit()):
                raise _fail(lineno, f"column {name}: {shown(token, 40)} is not a count", raw)
            values[_COLUMNS[name]] = to_int(token, f"line {lineno}: column {name}")
        timestamp = None
        if result.timezone is not None:
            date, time = tokens[-2], tokens[-1]
            if not (_DATE.match(date) and _TIME.match(time)):
                raise _fail(lineno, f"bad timestamp {shown(date + ' ' + time)}", raw)
            timestamp = f"{date} {time}"
        result.samples.append(VmstatSample(**values, since_boot=not result.samples,
                                           timestamp=timestamp))
    if columns is None:
        raise ParseError(f"line {len(lines)}: truncated: no vmstat column header")
    if not result.samples:
        raise ParseError(f"line {len(lines)}: truncated: vmstat printed no sample")
    return result
