"""LVM (LPIC-2 204.3): the var `lvm` of the whole area (its schema and value kinds),
and what the three report facts share (lvm_vgs, lvm_lvs, lvm_pvs): the command that
runs `vgs`/`lvs`/`pvs --reportformat json` with explicit fields and fixed units, and
the reading of lvm2's JSON report.

lvm2's JSON (`--reportformat json`, lvm2 >= 2.02.158; lib/report/report.c) is

    {
        "report": [
            {
                "vg": [
                    {"vg_name":"fcvg", "vg_size":"125829120", ...}
                ]
            }
        ]
        ,
        "log": [ ... ]          only with log/report_command_log=1
    }

Every value is a string: sizes in the units asked for (`--units b --nosuffix`: bytes,
digits only; other captures carry a unit, `4.00m`, `<19.00g`, `1073741824B`: lower
case is powers of 1024, upper case of 1000, `<`/`>` mark a rounded value), percents
as `12.50` or `""` where the field does not apply, counts as digits. The report is
read by field name: a capture with other fields parses too, a missing required field
is a ParseError.

Where a host's reports cannot be the real ones (the lab's hosts other than files1,
which runs lvm2 on loop devices: lab/faults/lvm.py), the var `lvm.report_dir` names a
directory of captured reports (vgs.json, lvs.json, pvs.json) that the facts read
instead of running the tools, as raid.mdstat_path does for /proc/mdstat. A fix never
acts on a capture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown, var_setting
from fleetcheck.facts.capacity import threshold

VAR = "lvm"
MARK_CAPTURE = "fleetcheck-lvm: capture"
MARK_ABSENT = "fleetcheck-lvm: not installed"
MAX_TEXT = 8 * 1024 * 1024
MAX_ROWS = 20000
REPORTS = ("vgs", "lvs", "pvs")
FIELDS = {
    "vgs": "vg_name,vg_attr,vg_size,vg_free,vg_extent_size,pv_count,lv_count,snap_count,"
           "vg_missing_pv_count",
    "lvs": "lv_name,vg_name,lv_attr,lv_size,lv_layout,pool_lv,origin,data_percent,"
           "metadata_percent,lv_active",
    "pvs": "pv_name,vg_name,pv_attr,pv_size,pv_free,pv_missing",
}
# $1: the report (vgs, lvs, pvs); $2: the capture directory or ''; $3: the fields.
# Bounded: a report is at most MAX_TEXT bytes.
SCRIPT = f"""r=$1 d=$2 f=$3
if [ -n "$d" ]; then
  echo '{MARK_CAPTURE}'
  head -c {MAX_TEXT} -- "$d/$r.json"
  exit
fi
if ! command -v "$r" >/dev/null 2>&1; then
  PATH=$PATH:/usr/sbin:/sbin
  command -v "$r" >/dev/null 2>&1 || {{ echo '{MARK_ABSENT}'; exit 0; }}
fi
LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1 "$r" --reportformat json --units b --nosuffix \\
  $([ "$r" = lvs ] && echo -a) -o "$f" </dev/null | head -c {MAX_TEXT}
exit "${{PIPESTATUS[0]}}"
"""

# lvm2's names: letters, digits and + _ . - (not starting with '-'); lib/misc/lvm-string.c
_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,127}")


def lv_path(value: Any, what: str = "the value") -> str:
    """`VG/LV` as lvchange takes it: two lvm2 names (letters, digits, + _ . -, not
    starting with '-'), never an option, never a path."""
    text = values.text(value, what, max_len=257)
    vg, sep, lv = text.partition("/")
    if not sep or not _NAME.fullmatch(vg) or not _NAME.fullmatch(lv) or vg in (".", "..") \
            or lv in (".", ".."):
        raise values.UnsafeValue(f"{what} must be VG/LV (lvm names: letters, digits, "
                                 f"'+', '_', '.', '-'), got {values.shown(text)}")
    return text


def vg_name(value: Any, what: str = "the value") -> str:
    text = values.text(value, what, max_len=128)
    if not _NAME.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a volume group name, got "
                                 f"{values.shown(text)}")
    return text


VALUE_KINDS = {
    "lvm.report_dir": values.path,
    "lvm.lv_active.declared[]": lv_path,
    "lvm.lv_active.ignore[]": values.text,
}

_GLOBS = {"type": "array", "items": {"type": "string", "description": "a glob of VG/LV "
                                     "(`vg0/*`, `*/scratch`)"}, "default": []}
_VG_THRESHOLDS = {
    "free_pct": threshold("free space % of the VG (lower is worse)", 10, 5),
    "free_gib": threshold("free space, GiB (lower is worse)"),
}

VARS = {
    "lvm": {
        "type": "object",
        "description": "LVM (lvm.*): what `vgs`, `lvs` and `pvs` must show; a key null "
                       "turns its check off",
        "properties": {
            "report_dir": {"type": ["string", "null"], "default": None,
                           "description": "a directory of captured reports (vgs.json, "
                           "lvs.json, pvs.json) read instead of running the tools (the "
                           "lab: no device-mapper); --remediate never acts on them"},
            "vg_free": {
                "type": "object", "description": "lvm.vg_free: free space per volume "
                "group (room for snapshots, pvmove and growth)",
                "properties": {
                    **_VG_THRESHOLDS,
                    "vgs": {"type": "object", "description": "per-VG thresholds: glob of "
                            "VG names -> {free_pct, free_gib}",
                            "additionalProperties": {
                                "type": "object", "description": "the thresholds of the "
                                "VGs the pattern matches", "additionalProperties": False,
                                "properties": {
                                    "free_pct": threshold("free space % of the VG"),
                                    "free_gib": threshold("free space, GiB")}}},
                },
                "additionalProperties": False,
            },
            "lv_active": {
                "type": "object", "description": "lvm.lv_active: logical volumes active",
                "properties": {
                    "all": {"type": "boolean", "default": True,
                            "description": "every visible LV must be active (hidden "
                            "ones, [name], and those flagged activation-skip excepted)"},
                    "declared": dict(_GLOBS, items={
                        "type": "string", "description": "VG/LV"},
                        description="LVs that must exist and be active; --remediate "
                        "activates these (lvchange -ay)"),
                    "ignore": dict(_GLOBS, description="LVs (globs of VG/LV) not judged "
                                   "by `all`"),
                },
                "additionalProperties": False,
            },
            "thin": {
                "type": "object", "description": "lvm.thin: thin pools' data and "
                "metadata use (a full pool stops every thin LV in it)",
                "properties": {
                    "data_pct": threshold("data space used % of a thin pool", 80, 90),
                    "metadata_pct": threshold("metadata used % of a thin pool", 80, 90),
                },
                "additionalProperties": False,
            },
            "snapshots": {
                "type": "object", "description": "lvm.snapshots: classic (COW) "
                "snapshots filling up (a full one is invalidated)",
                "properties": {
                    "used_pct": threshold("COW space used % of a snapshot", 80, 90),
                },
                "additionalProperties": False,
            },
            "pv_missing": {"type": "boolean", "default": True,
                           "description": "lvm.pv_missing: judge missing physical "
                           "volumes (false: off)"},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """`lvm.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)


def report_dir(hostvars: Mapping[str, Any]) -> str | None:
    chosen = settings(hostvars, "report_dir")
    if chosen is None:
        return None
    try:
        return values.path(chosen, "lvm.report_dir")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None


def command_for(report: str, hostvars: Mapping[str, Any]) -> Command:
    return Command("bash -c %s fleetcheck %s %s %s", SCRIPT, report,
                   report_dir(hostvars) or "", FIELDS[report])


# -- reading a report -------------------------------------------------------------------

_SIZE = re.compile(r"([<>]?)([0-9]{1,30}(?:\.[0-9]{1,10})?) ?([bBsSkKmMgGtTpP]?)")
_UNITS = {"": 1, "b": 1, "B": 1, "s": 512, "S": 512}
for _i, _u in enumerate("kmgtp", start=1):
    _UNITS[_u] = 1024 ** _i
    _UNITS[_u.upper()] = 1000 ** _i
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,10})?")


def read(text: str, key: str) -> tuple[bool, bool, list[tuple[int, dict[str, str]]]]:
    """(lvm2 installed, read from a capture, [(line, row)]) of one report's text; the
    rows of report[*][key], each with the line it starts on (for the messages)."""
    if len(text) > MAX_TEXT:
        raise ParseError(f"line 1: more than {MAX_TEXT} characters")
    lines = text.split("\n")
    first = lines[0].strip() if lines else ""
    capture = first == MARK_CAPTURE
    if first == MARK_ABSENT:
        rest = "\n".join(lines[1:]).strip()
        if rest:
            raise ParseError(f"line 2: output after {MARK_ABSENT!r}: {shown(rest)}")
        return False, False, []
    body = "\n".join(lines[1:]) if capture else text
    offset = 1 if capture else 0
    if not body.strip():
        raise ParseError(f"line {offset + 1}: empty output: no lvm2 JSON report")
    try:
        doc = json.loads(body)
    except RecursionError:
        raise ParseError(f"line {offset + 1}: JSON nested too deep") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"line {exc.lineno + offset}: not lvm2's JSON report: "
                         f"{exc.msg}") from None
    except ValueError as exc:   # a number of more than 4300 digits
        raise ParseError(f"line {offset + 1}: not lvm2's JSON report: "
                         f"{shown(str(exc), 80)}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("report"), list):
        raise ParseError(f"line {offset + 1}: expected {{\"report\": [...]}}, got "
                         f"{shown(body.strip(), 60)}")
    rows: list[tuple[int, dict[str, str]]] = []
    for part in doc["report"]:
        if not isinstance(part, dict):
            raise ParseError(f"line {offset + 1}: a report entry is not an object")
        found = part.get(key, [])
        if not isinstance(found, list):
            raise ParseError(f"line {offset + 1}: report {key!r} is not a list")
        for row in found:
            if not isinstance(row, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in row.items()):
                raise ParseError(f"line {_line_of(lines, row, offset)}: a {key} row must "
                                 f"be an object of strings, got {shown(str(row), 60)}")
            rows.append((_line_of(lines, row, offset), row))
            if len(rows) > MAX_ROWS:
                raise ParseError(f"line {offset + 1}: more than {MAX_ROWS} rows")
    return True, capture, rows


def _line_of(lines: list[str], row: Any, offset: int) -> int:
    """The line a row is written on (lvm2 writes one row a line): the first line that
    holds its first value, else the report's first."""
    if isinstance(row, dict) and row:
        first_key, first_value = next(iter(row.items()))
        needle = json.dumps({first_key: first_value})[1:-1].replace(": ", ":")
        for n, line in enumerate(lines, start=1):
            if needle in line.replace('": "', '":"'):
                return n
    return offset + 1


def field(row: dict[str, str], name: str, n: int, *, required: bool = False) -> str | None:
    if name not in row:
        if required:
            raise ParseError(f"line {n}: no {name!r} field in {shown(str(row), 60)}")
        return None
    return row[name]


def size(row: dict[str, str], name: str, n: int, *, required: bool = False) -> float | None:
    """A size field in bytes (None when absent or empty): bytes as lvm2 printed them
    with --units b --nosuffix, else converted from the unit printed."""
    text = field(row, name, n, required=required)
    if text is None or not text.strip():
        if required:
            raise ParseError(f"line {n}: {name} is empty")
        return None
    found = _SIZE.fullmatch(text.strip())
    if not found:
        raise ParseError(f"line {n}: {name} is not a size: {shown(text)}")
    number = float(found.group(2)) * _UNITS[found.group(3)]
    return int(number) if number.is_integer() else round(number, 1)


def percent(row: dict[str, str], name: str, n: int) -> float | None:
    text = field(row, name, n)
    if text is None or text == "":
        return None
    if not _PERCENT.fullmatch(text.strip()) or float(text) > 100:
        raise ParseError(f"line {n}: {name} is not a percentage: {shown(text)}")
    return float(text)


def count(row: dict[str, str], name: str, n: int) -> int | None:
    text = field(row, name, n)
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise ParseError(f"line {n}: {name} is not a count: {shown(text)}")
    return int(text)


def name(row: dict[str, str], key: str, n: int, *, allow_empty: bool = False,
         hidden: bool = False) -> str:
    text = field(row, key, n, required=True)
    if allow_empty and text == "":
        return text
    bare = text[1:-1] if hidden and text.startswith("[") and text.endswith("]") else text
    if not _NAME.fullmatch(bare):
        raise ParseError(f"line {n}: {key} is not an lvm name: {shown(text)}")
    return text


def attr(row: dict[str, str], key: str, n: int, length: int) -> str | None:
    text = field(row, key, n)
    if text is None:
        return None
    if not (length - 4 <= len(text) <= length) or not text.isascii() or not text.isprintable():
        raise ParseError(f"line {n}: {key} is not lvm attributes: {shown(text)}")
    return text.ljust(length, "-")
