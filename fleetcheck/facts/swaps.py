"""Active swap (/proc/swaps, or the file the var `fs_swap.path` names) and the swap
entries of /etc/fstab, in one round trip; and the var `fs_swap` of fs.swap.

Swap is global kernel state: the lab's hosts share one kernel (this machine's, with no
swap), so the lab places a real captured /proc/swaps on each host and names it in
`fs_swap.path`, as kernel.modules_path does for /proc/modules.

/proc/swaps (mm/swapfile.c, swap_show): a header line, then one line per swap area,

    Filename                Type        Size      Used    Priority
    /dev/dm-2               partition   67022844  490788  -2

the path padded to 40 columns (blanks, tabs and backslashes in it escaped as octal:
\\040), the type `partition` or `file`, size and use in KiB, the priority (negative
when none was given: the kernel counts down from -2).

The command's own lines mark what it read:

    fleetcheck-swap: swaps              then the file as it is
    fleetcheck-swap: fstab              `findmnt -J -l --fstab -t swap -o SOURCE,OPTIONS`
    fleetcheck-swap: evaluated          the same with --evaluate (UUID= -> /dev/...)
    fleetcheck-swap: real SOURCE        then `readlink -f` of that evaluated source
    fleetcheck-swap: end

A bare /proc/swaps (no mark) parses as such, with fstab unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.fs_common import load_json, path_var, sections, settings as _settings

NAME = "swaps"
VAR = "fs_swap"
DEFAULT_PATH = "/proc/swaps"
PREFIX = "fleetcheck-swap: "
HEADER = re.compile(r"Filename\s+Type\s+Size\s+Used\s+Priority\s*")
MAX_AREAS = 1024
SCRIPT = f"""f=$1
echo '{PREFIX}swaps'
cat -- "$f" || exit
if command -v findmnt >/dev/null 2>&1; then
  echo '{PREFIX}fstab'
  findmnt -J -l --fstab -t swap -o SOURCE,OPTIONS 2>/dev/null
  echo '{PREFIX}evaluated'
  findmnt -J -l --fstab --evaluate -t swap -o SOURCE,OPTIONS 2>/dev/null
  findmnt -n -r --fstab --evaluate -t swap -o SOURCE 2>/dev/null | while IFS= read -r s; do
    case $s in /*) [ -e "$s" ] && echo "{PREFIX}real $s" && readlink -f -- "$s" ;; esac
  done
fi
echo '{PREFIX}end'
"""


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT,
                   path_var(hostvars, VAR, "path", DEFAULT_PATH, VARS))


@dataclass
class SwapArea:
    path: str
    type: str              # partition | file (zram: partition)
    size_kib: int
    used_kib: int
    priority: int


@dataclass
class FstabSwap:
    source: str            # as written (UUID=..., /dev/sda2, /swapfile)
    device: str | None     # evaluated and resolved (/dev/dm-1); None: not found
    options: list[str] = field(default_factory=list)

    @property
    def noauto(self) -> bool:
        return "noauto" in self.options

    @property
    def priority(self) -> int | None:
        for option in self.options:
            if option.startswith("pri="):
                text = option[4:]
                negative = text.startswith("-")
                digits = text[1:] if negative else text
                if digits.isascii() and digits.isdigit() and len(digits) < 6:
                    return -int(digits) if negative else int(digits)
        return None


@dataclass
class Swaps:
    active: list[SwapArea] = field(default_factory=list)
    fstab: list[FstabSwap] | None = None     # None: fstab not read (a bare capture)

    @property
    def total_kib(self) -> int:
        return sum(a.size_kib for a in self.active)

    def area(self, *names: str | None) -> SwapArea | None:
        """The active area at any of these paths (a device as fstab names it, or as
        the kernel does)."""
        wanted = {n for n in names if n}
        return next((a for a in self.active if a.path in wanted), None)


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_proc(lines: list[str], first: int) -> list[SwapArea]:
    body = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
    if not body or not HEADER.fullmatch(body[0][1]):
        raise ParseError(f"line {body[0][0] if body else first}: expected /proc/swaps' "
                         f"header 'Filename Type Size Used Priority', got "
                         f"{shown(body[0][1]) if body else 'nothing'}")
    if len(body) > MAX_AREAS + 1:
        raise ParseError(f"line {body[MAX_AREAS + 1][0]}: more than {MAX_AREAS} swap areas")
    out = []
    for n, line in body[1:]:
        fields = line.split()
        if len(fields) != 5:
            raise ParseError(f"line {n}: expected 'path type size used priority', got "
                             f"{shown(line)}")
        path, kind, size, used, prio = fields
        if not path.startswith("/") or kind not in ("partition", "file"):
            raise ParseError(f"line {n}: expected an absolute path and partition|file, "
                             f"got {shown(line)}")
        negative = prio.startswith("-")
        priority = to_int(prio[1:] if negative else prio, f"line {n}: priority")
        out.append(SwapArea(_unescape(path), kind, to_int(size, f"line {n}: size"),
                            to_int(used, f"line {n}: used"),
                            -priority if negative else priority))
    return out


def _fstab(lines: list[str], first: int) -> list[tuple[str | None, list[str]]]:
    if not any(line.strip() for line in lines):
        return []          # findmnt finds no swap entry (exit 1, nothing printed)
    data = load_json(lines, first, "findmnt --fstab")
    if not isinstance(data, dict) or not isinstance(data.get("filesystems"), list) \
            or set(data) != {"filesystems"}:
        raise ParseError(f"line {first}: expected {{\"filesystems\": [...]}}")
    out = []
    for entry in data["filesystems"][:MAX_AREAS + 1]:
        if not isinstance(entry, dict) or set(entry) != {"source", "options"} or \
                not all(v is None or (isinstance(v, str) and len(v) <= 4096)
                        for v in entry.values()):
            raise ParseError(f"line {first}: expected entries of source, options (strings), "
                             f"got {shown(entry, 60)}")
        out.append((entry["source"], [o for o in (entry["options"] or "").split(",") if o]))
    if len(out) > MAX_AREAS:
        raise ParseError(f"line {first}: more than {MAX_AREAS} fstab swap entries")
    return out


def parse(text: str) -> Swaps:
    parts = sections(text, PREFIX)
    if not parts or parts[0][1] == "":
        lines = parts[0][2] if parts else []
        if len(parts) > 1:
            raise ParseError(f"line {parts[1][0]}: a mark after a bare /proc/swaps")
        return Swaps(parse_proc(lines, 1))
    marks = [mark.split(" ", 1)[0] for _, mark, _ in parts]
    if marks[0] != "swaps" or marks[-1] != "end":
        raise ParseError(f"line {parts[0][0]}: expected '{PREFIX}swaps' first and "
                         f"'{PREFIX}end' last (cut output?)")
    out = Swaps()
    raw: list | None = None
    evaluated: list | None = None
    real: dict[str, str] = {}
    for n, mark, body in parts:
        kind, _, arg = mark.partition(" ")
        if kind == "swaps":
            out.active = parse_proc(body, n + 1)
        elif kind == "fstab":
            raw = _fstab(body, n + 1)
        elif kind == "evaluated":
            evaluated = _fstab(body, n + 1)
        elif kind == "real":
            got = [line for line in body if line.strip()]
            if len(got) != 1 or not got[0].startswith("/") or not arg.startswith("/"):
                raise ParseError(f"line {n}: expected one resolved path after "
                                 f"'{PREFIX}real {shown(arg)}'")
            real[arg] = got[0]
        elif kind == "end":
            if any(line.strip() for line in body):
                raise ParseError(f"line {n + 1}: output after '{PREFIX}end'")
        else:
            raise ParseError(f"line {n}: unknown mark {shown(mark)}")
    if raw is not None:
        if evaluated is None or len(evaluated) != len(raw):
            raise ParseError(f"line {len(text.splitlines())}: the fstab swap entries and "
                             "their evaluated sources differ in number")
        out.fstab = []
        for (source, options), (device, _) in zip(raw, evaluated):
            if source is None:
                continue
            out.fstab.append(FstabSwap(source, real.get(device, device) if device else None,
                                       options))
    return out


# -- the var `fs_swap` (fs.swap) -------------------------------------------------------

def swap_path(value: Any, what: str = "the swap device") -> str:
    return values.path(value, what)


VALUE_KINDS = {
    "fs_swap.path": values.path,
    "fs_swap.devices{}": swap_path,
}
VARS = {
    VAR: {
        "type": "object",
        "description": "fs.swap: swap active as declared (fstab's swap entries, the "
                       "declared devices, the total); null: not judged",
        "x-expected": "a mapping (like {required: true, min_total_mb: 2048})",
        "properties": {
            "required": {"type": "boolean", "default": False,
                         "description": "at least one swap area must be active"},
            "fstab": {"type": "boolean", "default": True,
                      "description": "every /etc/fstab swap entry that is not noauto is "
                                     "active, with its pri= (--remediate: swapon)"},
            "devices": {"type": "object", "x-key": "an absolute path (/dev/dm-1, /swapfile)",
                        "description": "swap areas that must be active, as /proc/swaps "
                                       "names them: path -> priority (null: any)",
                        "x-expected": "a mapping of path: priority or null",
                        "patternProperties": {"^/": {
                            "type": ["integer", "null"],
                            "description": "the priority it must have (null: any)"}},
                        "additionalProperties": False},
            "min_total_mb": {"type": ["number", "null"], "minimum": 0,
                             "description": "the active swap must total at least this "
                                            "(MiB)"},
            "path": {"type": "string", "default": DEFAULT_PATH,
                     "description": "the list of active swap areas to read; a lab or a "
                                    "test places a captured copy elsewhere and names it "
                                    "here (then --remediate never runs swapon)"},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    return _settings(hostvars, VAR, VARS)
