"""SMART health of every disk smartctl finds: `smartctl --scan`, then `smartctl -H -A -j`
per device (smartmontools >= 7.0: JSON); and the var `fs_smart` of fs.smart.

A lab host has no disk of its own (nor does this machine: virtio disks are not
scanned), so the lab places real smartctl JSON captured on real disks in a directory
and names it in `fs_smart.path`: each `*.json` there is read as one device's output.

The command's own lines:

    fleetcheck-smart: not installed       no smartctl
    fleetcheck-smart: device /dev/sda     then that device's JSON (or a capture's path)
    fleetcheck-smart: end

From each JSON (smartctl's schema, docs/smartctl-json in smartmontools): `device.name`,
`model_name`, `serial_number`, `smart_status.passed` (the overall-health self
assessment; absent when the device has no SMART), `smartctl.exit_status` (bit 3: disk
failing, bit 4: prefail attribute at or below threshold, bit 5: one was in the past),
the ATA attributes 5 (Reallocated_Sector_Ct), 197 (Current_Pending_Sector) and 198
(Offline_Uncorrectable) raw values, `temperature.current`, and NVMe's
`nvme_smart_health_information_log` (critical_warning, media_errors, percentage_used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.fs_common import load_json, number, path_var, sections
from fleetcheck.facts.fs_common import settings as _settings

NAME = "smart"
VAR = "fs_smart"
PREFIX = "fleetcheck-smart: "
MAX_DEVICES = 512
MAX_CAPTURE = 1024 * 1024
SCRIPT = f"""d=$1
if [ -n "$d" ]; then
  for f in "$d"/*.json; do
    [ -f "$f" ] || continue
    echo "{PREFIX}device $f"; head -c {MAX_CAPTURE} -- "$f"; echo
  done
  echo '{PREFIX}end'; exit 0
fi
command -v smartctl >/dev/null 2>&1 || {{ echo '{PREFIX}not installed'; exit 0; }}
smartctl --scan 2>/dev/null | head -n {MAX_DEVICES} | while read -r dev dash type rest; do
  case $dev in /dev/*) ;; *) continue ;; esac
  echo "{PREFIX}device $dev"
  if [ "$dash" = -d ] && [ -n "$type" ]; then
    smartctl -H -A -j -d "$type" -- "$dev"
  else
    smartctl -H -A -j -- "$dev"
  fi
done
echo '{PREFIX}end'
"""
ATTRIBUTES = {5: "reallocated", 197: "pending", 198: "offline_uncorrectable"}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT,
                   path_var(hostvars, VAR, "path", None, VARS) or "")


@dataclass
class Disk:
    name: str                       # /dev/sda (device.name), else the scan's
    model: str | None = None
    serial: str | None = None
    protocol: str | None = None     # ATA, NVMe, SCSI
    passed: bool | None = None      # smart_status.passed; None: no SMART status
    exit_status: int = 0
    reallocated: int | None = None
    pending: int | None = None
    offline_uncorrectable: int | None = None
    temperature: int | None = None
    nvme_critical_warning: int | None = None
    nvme_media_errors: int | None = None
    nvme_percentage_used: int | None = None
    messages: list[str] = field(default_factory=list)   # smartctl's own messages

    @property
    def failing_attributes(self) -> bool:
        """exit status bit 4: a prefail attribute is at or below its threshold now."""
        return bool(self.exit_status & 16)


@dataclass
class Smart:
    installed: bool = True
    disks: list[Disk] = field(default_factory=list)


def parse(text: str) -> Smart:
    parts = sections(text, PREFIX)
    if not parts:
        raise ParseError("line 1: no output")
    if parts[0][1] == "":
        if len(parts) > 1:
            raise ParseError(f"line {parts[1][0]}: a mark after a bare smartctl JSON")
        return Smart(disks=[disk(load_json(parts[0][2], 1, "smartctl"), "?", 1)])
    if parts[0][1] == "not installed":
        if len(parts) > 1 or any(line.strip() for line in parts[0][2]):
            raise ParseError(f"line 2: output after '{PREFIX}not installed'")
        return Smart(installed=False)
    if parts[-1][1] != "end" or any(line.strip() for line in parts[-1][2]):
        raise ParseError(f"line {parts[-1][0]}: no '{PREFIX}end' line at the end (cut "
                         "output?)")
    out = Smart()
    for n, mark, body in parts[:-1]:
        kind, _, name = mark.partition(" ")
        if kind != "device" or not name.startswith("/"):
            raise ParseError(f"line {n}: expected '{PREFIX}device PATH', got "
                             f"{shown(PREFIX + mark)}")
        if len(out.disks) >= MAX_DEVICES:
            raise ParseError(f"line {n}: more than {MAX_DEVICES} devices")
        out.disks.append(disk(load_json(body, n + 1, f"smartctl of {name}"), name, n + 1))
    return out


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _string(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise ParseError(f"{where}: expected a string, got {values.describe(value)[:60]}")
    return value


def disk(data: Any, fallback: str, n: int) -> Disk:
    """One device's `smartctl -j` output."""
    where = f"line {n}"
    if not isinstance(data, dict) or not isinstance(data.get("smartctl"), dict):
        raise ParseError(f"{where}: expected smartctl's JSON (an object with \"smartctl\")")
    name = _string(_get(data, "device", "name"), f"{where}: device.name") or fallback
    out = Disk(name, _string(data.get("model_name"), f"{where}: model_name"),
               _string(data.get("serial_number"), f"{where}: serial_number"),
               _string(_get(data, "device", "protocol"), f"{where}: device.protocol"))
    out.exit_status = number(_get(data, "smartctl", "exit_status"),
                             f"{where}: smartctl.exit_status") or 0
    passed = _get(data, "smart_status", "passed")
    if passed is not None and not isinstance(passed, bool):
        raise ParseError(f"{where}: smart_status.passed must be true or false")
    out.passed = passed
    for message in (_get(data, "smartctl", "messages") or [])[:50]:
        text = _string(_get(message, "string"), f"{where}: smartctl.messages")
        if text:
            out.messages.append(text)
    table = _get(data, "ata_smart_attributes", "table")
    if table is not None and not isinstance(table, list):
        raise ParseError(f"{where}: ata_smart_attributes.table must be a list")
    for attr in (table or [])[:256]:
        key = ATTRIBUTES.get(number(_get(attr, "id"), f"{where}: attribute id"))
        if key:
            raw = number(_get(attr, "raw", "value"), f"{where}: attribute {key} raw.value")
            # the raw value of these counters is 48 bits; vendors pack more above them
            setattr(out, key, None if raw is None else raw & 0xFFFFFFFFFFFF)
    out.temperature = number(_get(data, "temperature", "current"),
                             f"{where}: temperature.current", signed=True)
    nvme = data.get("nvme_smart_health_information_log")
    if isinstance(nvme, dict):
        out.nvme_critical_warning = number(nvme.get("critical_warning"),
                                           f"{where}: nvme critical_warning")
        out.nvme_media_errors = number(nvme.get("media_errors"), f"{where}: nvme media_errors")
        out.nvme_percentage_used = number(nvme.get("percentage_used"),
                                          f"{where}: nvme percentage_used")
    return out


# -- the var `fs_smart` (fs.smart) -------------------------------------------------------

VALUE_KINDS = {
    "fs_smart.path": values.path,
    "fs_smart.ignore[]": values.path,
}
_COUNT = {"type": "integer", "minimum": 0}
VARS = {
    VAR: {
        "type": "object",
        "description": "fs.smart: SMART health, bad sectors and temperature of every "
                       "disk smartctl finds; null: not judged",
        "x-expected": "a mapping (like {temperature: {warn: 50, crit: 60}})",
        "properties": {
            "reallocated_max": dict(_COUNT, default=0, description="reallocated sectors "
                                    "(attribute 5) tolerated; more: medium (the disk is "
                                    "remapping: watch it)"),
            "pending_max": dict(_COUNT, default=0, description="pending and offline-"
                                "uncorrectable sectors (197, 198) tolerated; more: high "
                                "(unreadable data now)"),
            "media_errors_max": dict(_COUNT, default=0, description="NVMe media errors "
                                     "tolerated; more: medium"),
            "temperature": {
                "type": "object", "description": "disk temperature (Celsius): warn is "
                "low, crit high",
                "properties": {"warn": {"type": "number", "default": 55,
                                        "description": "at or above: low"},
                               "crit": {"type": "number", "default": 65,
                                        "description": "at or above: high"}},
                "default": {"warn": 55, "crit": 65},
                "additionalProperties": False},
            "ignore": {"type": "array", "default": [],
                       "description": "devices not judged (/dev/sdc: a USB disk)",
                       "items": {"type": "string", "description": "a device path"}},
            "path": {"type": ["string", "null"], "default": None,
                     "description": "a directory of captured `smartctl -j` outputs "
                                    "(*.json) read instead of the host's disks (the "
                                    "lab: no real disk)"},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    return _settings(hostvars, VAR, VARS)
