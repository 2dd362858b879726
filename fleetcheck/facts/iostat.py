"""Per-device I/O over a sample: `iostat -dxy -o JSON INTERVAL 1` (sysstat >= 11.x).

`-d` devices only, `-x` extended statistics, `-y` no report of the averages since boot:
one report over INTERVAL seconds (the var `capacity.iostat.interval`, 1 to 10). The
JSON (sysstat's iostat.c / json output) is

    {"sysstat": {"hosts": [{"nodename": ..., "statistics": [
        {"disk": [{"disk_device": "vda", "r/s": 0.00, "w/s": 1.00, ...,
                   "r_await": 0.00, "w_await": 0.00, "aqu-sz": 0.00, "util": 0.00}]}
    ]}]}}

Fields by name, as sysstat spells them across versions: `r_await`/`w_await` (12.x; 11.x
also printed `await`), `aqu-sz` (12.x; 11.x `avgqu-sz`), `util` (JSON has no `%`),
throughput in `rkB/s` or `rMB/s` (-m). A `-c`-less report also carries `avg-cpu`,
ignored. A statistics entry holds one sample; each is kept.

No sysstat: the command prints one line, `fleetcheck-iostat: not installed`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.capacity import threshold

NAME = "iostat"
MARK_ABSENT = "fleetcheck-iostat: not installed"
DEFAULT_INTERVAL = 2
MAX_INTERVAL = 10
MAX_TEXT = 4 * 1024 * 1024
MAX_DEVICES = 10000
SCRIPT = f"""command -v iostat >/dev/null 2>&1 || {{ echo '{MARK_ABSENT}'; exit 0; }}
LC_ALL=C S_TIME_FORMAT=ISO iostat -dxy -o JSON "$1" 1 </dev/null | head -c {MAX_TEXT}
"""
_DEVICE = re.compile(r"[A-Za-z0-9_.:+@!][A-Za-z0-9_.:+@!/-]{0,127}")


def interval(hostvars: Mapping[str, Any]) -> int:
    capacity = hostvars.get("capacity")
    conf = capacity.get("iostat") if isinstance(capacity, Mapping) else None
    value = conf.get("interval", DEFAULT_INTERVAL) if isinstance(conf, Mapping) else None
    if value is None:
        value = DEFAULT_INTERVAL
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_INTERVAL:
        raise ValueError(f"capacity.iostat.interval must be an integer 1..{MAX_INTERVAL}, "
                         f"got {value!r}")
    return value


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT, interval(hostvars))


@dataclass
class DeviceStat:
    device: str
    reads_per_s: float
    writes_per_s: float
    util_pct: float
    queue_size: float | None          # aqu-sz: average queue length
    r_await_ms: float | None
    w_await_ms: float | None

    @property
    def iops(self) -> float:
        return round(self.reads_per_s + self.writes_per_s, 2)

    @property
    def await_ms(self) -> float | None:
        """The worse of the read and write wait (ms per request, queue included)."""
        known = [v for v in (self.r_await_ms, self.w_await_ms) if v is not None]
        return max(known) if known else None


@dataclass
class Iostat:
    installed: bool = True
    nodename: str = ""
    samples: list[list[DeviceStat]] = field(default_factory=list)


def parse(text: str) -> Iostat:
    if len(text) > MAX_TEXT:
        raise ParseError(f"line 1: more than {MAX_TEXT} characters")
    if text.strip() == MARK_ABSENT:
        return Iostat(installed=False)
    if not text.strip():
        raise ParseError("line 1: empty output: no iostat JSON")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ParseError("line 1: JSON nested too deep") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"line {exc.lineno}: not iostat's JSON: {exc.msg}") from None
    except ValueError as exc:   # a number of more than 4300 digits
        raise ParseError(f"line 1: not iostat's JSON: {shown(str(exc), 80)}") from None
    lines = text.split("\n")
    hosts = doc.get("sysstat", {}).get("hosts") if isinstance(doc, dict) and isinstance(
        doc.get("sysstat"), dict) else None
    if not isinstance(hosts, list) or len(hosts) != 1 or not isinstance(hosts[0], dict):
        raise ParseError("line 1: expected {\"sysstat\": {\"hosts\": [one host]}}")
    host = hosts[0]
    stats = host.get("statistics")
    if not isinstance(stats, list):
        raise ParseError(f"line {_line(lines, 'statistics')}: no 'statistics' list")
    out = Iostat(nodename=str(host.get("nodename", "")))
    count = 0
    for entry in stats:
        if not isinstance(entry, dict) or not isinstance(entry.get("disk"), list):
            raise ParseError(f"line {_line(lines, 'statistics')}: a statistics entry "
                             f"without a 'disk' list: {shown(str(entry), 60)}")
        sample = []
        for disk in entry["disk"]:
            count += 1
            if count > MAX_DEVICES:
                raise ParseError(f"line 1: more than {MAX_DEVICES} device rows")
            sample.append(_device(lines, disk))
        out.samples.append(sample)
    return out


def _line(lines: list[str], needle: str) -> int:
    for n, line in enumerate(lines, start=1):
        if needle in line:
            return n
    return 1


def _device(lines: list[str], disk: Any) -> DeviceStat:
    if not isinstance(disk, dict):
        raise ParseError(f"line {_line(lines, 'disk')}: a disk entry is not an object")
    name = disk.get("disk_device")
    if not isinstance(name, str) or not _DEVICE.fullmatch(name):
        raise ParseError(f"line {_line(lines, 'disk_device')}: not a device name: "
                         f"{shown(str(name))}")
    n = _line(lines, f'"disk_device": "{name}"')

    def number(*keys: str, required: bool = True) -> float | None:
        for key in keys:
            if key in disk:
                value = disk[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not math.isfinite(value) or value < 0:
                    raise ParseError(f"line {n}: {name} {key} is not a number >= 0: "
                                     f"{shown(str(value))}")
                return float(value)
        if required:
            raise ParseError(f"line {n}: {name} has no {' or '.join(keys)}")
        return None

    r_await = number("r_await", "await", required=False)
    w_await = number("w_await", "await", required=False)
    util = number("util", "%util")
    if util > 100.5:
        raise ParseError(f"line {n}: {name} util {util:g} is above 100")
    return DeviceStat(name, number("r/s"), number("w/s"), min(util, 100.0),
                      number("aqu-sz", "avgqu-sz", required=False), r_await, w_await)


VARS = {
    "capacity": {
        "type": "object", "description": "thresholds of the capacity checks (capacity.*)",
        "properties": {
            "iostat": {
                "type": "object", "description": "capacity.iostat: `iostat -dxy -o JSON "
                "INTERVAL 1`, one sample per device",
                "properties": {
                    "interval": {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL,
                                 "default": DEFAULT_INTERVAL,
                                 "description": "seconds the sample lasts"},
                    "util_pct": threshold("time the device was busy, % (on SSD/NVMe, "
                                          "which serve requests in parallel, 100 is not "
                                          "saturation)", 80, 95),
                    "await_ms": threshold("the worse of r_await and w_await, ms per "
                                          "request (queue included)", 50, 200),
                    "queue_size": threshold("aqu-sz, the average queue length", 8, 32),
                    "min_iops": {"type": "number", "minimum": 0, "default": 5,
                                 "description": "await is judged only on a device doing "
                                 "at least this many requests/s (one slow request of an "
                                 "idle disk is no finding)"},
                    "ignore": {"type": "array", "default": ["loop*", "ram*", "zram*",
                                                            "sr*", "fd*"],
                               "items": {"type": "string", "description": "a glob of "
                                         "device names"},
                               "description": "devices not judged"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}
