"""`findmnt --verify`: libmount's own check of /etc/fstab (util-linux >= 2.29), run by
fs.mounted's fix before it mounts anything; and the var `fs_mounted` of fs.mounted
(its schema and value kinds; the mounts themselves are fleetcheck/facts/mounts.py's).

Its output (misc-utils/findmnt-verify.c), stdout and stderr together:

    /srv/lab-scratch                       a target (the fstab entry being checked)
       [E] unreachable on boot required target: No such file or directory
       [W] unreachable source: /dev/sdb1: No such file or directory
       [ ] FS options: size=4m             (--verbose only: information)
    findmnt: /etc/fstab: parse error at line 5 -- ignored
    1 parse error, 4 errors, 6 warnings    the summary (stderr), or
    Success, no errors or warnings detected

It exits 1 when it found an error or a parse error. An [E] on an entry means `mount`
would fail on it or on boot (a missing mount point, a missing required source); a
parse error means a line of fstab is skipped by everything that reads it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.mounts import mount_option, normal_target

NAME = "fstab_verify"
VAR = "fs_mounted"
MAX_LINES = 20000
_SUMMARY = re.compile(r"(\d+) parse errors?, (\d+) errors?, (\d+) warnings?")
_SUCCESS = "Success, no errors or warnings detected"
_ITEM = re.compile(r"\s+\[([EW ])\] (.*)")
_MESSAGE = re.compile(r"findmnt: (.*)")


def judged_fstab(mounts, conf: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(mount point, fstab entry) of each entry fs.mounted judges, and its fix mounts:
    not swap, not `noauto`, an absolute mount point that `ignore` does not match."""
    ignore = [normal_target(p) for p in conf.get("ignore") or []]
    for entry in mounts.fstab:
        target = normal_target(entry.target)
        if entry.fstype == "swap" or not target.startswith("/") or "noauto" in entry.options:
            continue
        if not any(fnmatch.fnmatchcase(target, p) for p in ignore):
            yield target, entry


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("findmnt --verify 2>&1; true")


@dataclass
class Entry:
    target: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class FstabVerify:
    entries: list[Entry] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)   # findmnt: ... (parse errors)
    parse_errors: int = 0
    errors: int = 0
    warnings: int = 0

    @property
    def clean(self) -> bool:
        """No error and no parse error (warnings allowed: an NFS source not reachable
        from here, a filesystem type not detected without the device)."""
        return not self.parse_errors and not self.errors

    def problems(self) -> list[str]:
        out = [m for m in self.messages if "parse error" in m]
        out += [f"{e.target}: {text}" for e in self.entries for text in e.errors]
        return out


def parse(text: str) -> FstabVerify:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    out = FstabVerify()
    summary = False
    last: list[str] | None = None     # the list the previous [E]/[W] line went to
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not line.isprintable() or len(line) > 8192:
            raise ParseError(f"line {n}: not a line of findmnt --verify: {shown(line)}")
        if line == _SUCCESS or _SUMMARY.fullmatch(line):
            if summary:
                raise ParseError(f"line {n}: a second summary line")
            summary = True
            found = _SUMMARY.fullmatch(line)
            if found:
                out.parse_errors, out.errors, out.warnings = (to_int(g, f"line {n}: count")
                                                              for g in found.groups())
            continue
        item = _ITEM.fullmatch(line)
        if item:
            if not out.entries:
                raise ParseError(f"line {n}: [{item.group(1)}] before any fstab target")
            kind, what = item.groups()
            last = {"E": out.entries[-1].errors, "W": out.entries[-1].warnings}.get(kind)
            if last is not None:
                last.append(what)
            continue
        message = _MESSAGE.fullmatch(line)
        if message:
            out.messages.append(message.group(1))
        elif line[0].isspace() and last is not None and line.startswith("       "):
            last[-1] += " " + line.strip()     # a message continued on the next line
        elif line[0].isspace():
            raise ParseError(f"line {n}: expected '   [E] ...' or '   [W] ...', got "
                             f"{shown(line)}")
        else:
            out.entries.append(Entry(line))
            last = None
    if not summary:
        raise ParseError(f"line {max(len(lines), 1)}: no summary line (\"N parse errors, "
                         "N errors, N warnings\" or \"Success, ...\"): cut output?")
    counted = sum(len(e.errors) for e in out.entries)
    if counted > out.errors:
        raise ParseError(f"line {len(lines)}: the summary counts {out.errors} errors, the "
                         f"entries show {counted}")
    return out


# -- the var `fs_mounted` (fs.mounted) ----------------------------------------------------

# The options whose absence in the kernel's table shows: mount(8) passes them as flags
# and /proc/self/mountinfo lists them again (a filesystem's own options, size=8m, are
# printed by the kernel in its own units: not compared).
JUDGED_OPTIONS = ["ro", "nodev", "nosuid", "noexec", "noatime"]

VALUE_KINDS = {
    "fs_mounted.ignore[]": values.path,
    "fs_mounted.options[]": mount_option,
}
VARS = {
    VAR: {
        "type": "object",
        "description": "fs.mounted: every /etc/fstab entry that is not noauto (nor swap) "
                       "is mounted, with its options; null: not judged",
        "x-expected": "a mapping (like {ignore: [/mnt/*]})",
        "properties": {
            "ignore": {"type": "array", "default": [],
                       "description": "mount points (glob patterns) not judged",
                       "items": {"type": "string", "description": "a mount point or a "
                                 "glob (/mnt/*)"}},
            "options": {"type": "array", "default": JUDGED_OPTIONS,
                        "description": "the fstab options that must show on the live "
                        "mount when fstab gives them (rw/ro: fstab ro must be ro; a rw "
                        "entry mounted ro is fs.read_only's)",
                        "items": {"type": "string", "description": "a mount option "
                                  "(nodev)"}},
        },
        "additionalProperties": False,
    },
}
