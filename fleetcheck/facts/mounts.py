"""Mounted filesystems and the ones /etc/fstab declares: `findmnt -J -l` twice.

One round trip runs `findmnt -J -l -o TARGET,SOURCE,FSTYPE,OPTIONS` (the live mounts
of the host's mount namespace, from /proc/self/mountinfo) and the same with `--fstab`
(/etc/fstab as libmount reads it), each after a marker line. findmnt exits 1 when it
finds nothing, which for --fstab is an fstab without entries (a container's
"UNCONFIGURED FSTAB", or no /etc/fstab at all): that part is then empty.

Why findmnt and not /proc/self/mountinfo and /etc/fstab parsed by hand: findmnt is
in util-linux (Essential on Debian and Ubuntu, in every RHEL-family image), its JSON
decodes the octal escapes of both files (`\\040` in a mount point) and libmount merges
the per-mount and the superblock read-only flags into OPTIONS ("ro" when either is
read-only: a filesystem the kernel remounted read-only after errors shows "ro" even
though its mount entry still says "rw"), which a hand parser would have to redo. A
findmnt without -J (util-linux before 2.27: RHEL 7) fails the live command, and the
fact is an error that says so.

The JSON is bounded (MAX_TEXT, MAX_MOUNTS, nesting) and every entry must have the
four columns as strings (`source` and `options` may be null: a pseudo filesystem, an
fstab line of three fields).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "mounts"
LIVE_MARK = "fleetcheck: findmnt live mounts:"
FSTAB_MARK = "fleetcheck: findmnt --fstab:"
COLUMNS = "TARGET,SOURCE,FSTYPE,OPTIONS"
SCRIPT = f"""command -v findmnt >/dev/null 2>&1 || {{
  echo 'fleetcheck: findmnt (util-linux) is not installed' >&2; exit 127; }}
echo '{LIVE_MARK}'
findmnt -J -l -o {COLUMNS} || exit
echo '{FSTAB_MARK}'
findmnt -J -l --fstab -o {COLUMNS} 2>/dev/null
rc=$?; [ "$rc" -le 1 ] || exit "$rc"
"""
MAX_TEXT = 8 * 1024 * 1024    # a Kubernetes node with thousands of mounts fits
MAX_MOUNTS = 20000
MAX_FIELD = 4096              # PATH_MAX
KEYS = ("target", "source", "fstype", "options")


_OPTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:=+-]{0,63}")


def mount_option(value: Any, what: str = "the mount option") -> str:
    """A mount option as findmnt prints it (`nodev`, `mode=1777`): one word, no ','."""
    text = values.word(value, what)
    if not _OPTION.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a mount option word (letters, digits, "
                                 f"'_', '.', ':', '=', '+', '-'), got {shown(text)}")
    return text


# The vars of fs.read_only: no value reaches a command (the fact takes none), but each
# has a kind, checked at load (fleetcheck.values).
VALUE_KINDS = {
    "fs_baseline.remounted_ro.ignore[]": values.path,
    "fs_baseline.mount_options.mounts{}": values.path,
    "fs_baseline.mount_options.mounts.*[]": mount_option,
}
# The schema of the var (fleetcheck.varschema); its keys are the rules, each an item of
# fs.read_only.
_SEVERITY = {"type": "string", "enum": ["critical", "high", "medium", "low", "info"],
             "description": "the severity of a finding of this rule"}
VARS = {
    "fs_baseline": {
        "type": "object",
        "description": "filesystem rules of fs.read_only, one item each (a rule null: "
                       "not judged)",
        "properties": {
            "remounted_ro": {
                "type": "object",
                "description": "a filesystem /etc/fstab mounts read-write is mounted "
                               "read-only (remounted after errors; high)",
                "properties": {
                    "ignore": {"type": "array", "default": [],
                               "description": "mount points (glob patterns) not judged",
                               "items": {"type": "string", "description": "a mount "
                                         "point or a glob (/mnt/*)"}},
                },
                "additionalProperties": False,
            },
            "mount_options": {
                "type": "object",
                "description": "mount points and the options each must be mounted with "
                               "(CIS: /tmp, /var/tmp, /dev/shm nodev,nosuid,noexec)",
                "properties": {
                    "severity": dict(_SEVERITY, default="low"),
                    "require_separate": {
                        "type": "boolean", "default": False,
                        "description": "a declared mount point that is not a filesystem "
                                       "of its own fails (CIS wants /tmp separate)"},
                    "mounts": {
                        "type": "object", "x-key": "an absolute mount point",
                        "description": "mount point: the options it must have",
                        "x-expected": "a mapping of mount point: [option, ...]",
                        "patternProperties": {"^/": {
                            "type": "array", "description": "the options it must have",
                            "items": {"type": "string", "description": "a mount "
                                      "option (nodev)"}}},
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], rule: str) -> dict[str, Any] | None:
    """The rule's settings with their defaults; None when the rule is null (off)."""
    conf = (hostvars.get("fs_baseline") or {}).get(rule)
    if conf is None:
        return None
    rule_schema = VARS["fs_baseline"]["properties"][rule]["properties"]
    merged = {key: sub.get("default") for key, sub in rule_schema.items()
              if "default" in sub}
    if isinstance(conf, dict):
        merged.update({k: v for k, v in conf.items() if v is not None})
    return merged


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck", SCRIPT)


@dataclass
class Mount:
    target: str             # the mount point (fstab: `none` or `swap` for swap)
    source: str | None      # /dev/vda1, tmpfs, UUID=... (fstab as written)
    fstype: str
    options: list[str] = field(default_factory=list)

    @property
    def read_only(self) -> bool:
        """Mounted read-only: `ro`, or ext4's `emergency_ro` (from Linux 6.12 ext4
        marks a filesystem it stopped writing after errors so, and leaves `rw`)."""
        return "ro" in self.options or "emergency_ro" in self.options


@dataclass
class Mounts:
    live: list[Mount] = field(default_factory=list)
    fstab: list[Mount] = field(default_factory=list)

    def mounted(self, target: str) -> Mount | None:
        """The mount a path's users see at `target` (the last one mounted there: a
        mount over another hides it), or None when `target` is no mount point."""
        wanted = normal_target(target)
        found = None
        for mount in self.live:
            if normal_target(mount.target) == wanted:
                found = mount
        return found


def normal_target(target: str) -> str:
    """`/srv/data/` and `/srv/data` are one mount point (fstab may hold either)."""
    return target.rstrip("/") or "/"


def parse(text: str) -> Mounts:
    if len(text) > MAX_TEXT:
        raise ParseError(f"line 1: {len(text)} characters of output (at most {MAX_TEXT})")
    lines = text.splitlines()
    marks = {mark: [n for n, line in enumerate(lines) if line.rstrip("\r") == mark]
             for mark in (LIVE_MARK, FSTAB_MARK)}
    for mark, where in marks.items():
        if not where:
            n = 1 if mark == LIVE_MARK else max(len(lines), 1)
            raise ParseError(f"line {n}: no line {mark!r} (the output is cut, or not "
                             f"this fact's command's)")
        if len(where) > 1:
            raise ParseError(f"line {where[1] + 1}: the line {mark!r} again")
    live_at, fstab_at = marks[LIVE_MARK][0], marks[FSTAB_MARK][0]
    if live_at != 0 or fstab_at < live_at:
        raise ParseError(f"line 1: expected {LIVE_MARK!r} first, then {FSTAB_MARK!r}")
    live = _section(lines[1:fstab_at], 2, required=True)
    fstab = _section(lines[fstab_at + 1:], fstab_at + 2, required=False)
    return Mounts(live, fstab)


def _section(lines: list[str], first: int, required: bool) -> list[Mount]:
    """The `{"filesystems": [...]}` of one findmnt run; `first` numbers its first line."""
    body = "\n".join(lines)
    if not body.strip():
        if required:
            raise ParseError(f"line {first}: no findmnt output for the live mounts")
        return []
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"line {first + exc.lineno - 1}: not findmnt's JSON: "
                         f"{exc.msg}") from None
    except RecursionError:
        raise ParseError(f"line {first}: JSON nested too deeply") from None
    if not isinstance(data, dict) or set(data) != {"filesystems"} \
            or not isinstance(data["filesystems"], list):
        raise ParseError(f"line {first}: expected {{\"filesystems\": [...]}}, got "
                         f"{shown(body, 60)}")
    entries = data["filesystems"]
    if len(entries) > MAX_MOUNTS:
        raise ParseError(f"line {first}: {len(entries)} filesystems (at most {MAX_MOUNTS})")
    # the line of each entry, for messages: findmnt writes each `"target":` on a line
    starts = [first + n for n, line in enumerate(lines)
              if line.lstrip().startswith('"target"')]
    return [_mount(entry, starts[i] if i < len(starts) else first)
            for i, entry in enumerate(entries)]


def _mount(entry: Any, n: int) -> Mount:
    where = f"line {n}"
    if not isinstance(entry, dict) or set(entry) != set(KEYS):
        raise ParseError(f"{where}: expected an entry of {', '.join(KEYS)}, got "
                         f"{shown(entry, 60)}")
    got: dict[str, str | None] = {}
    for key in KEYS:
        value = entry[key]
        if value is None and key in ("source", "options"):
            got[key] = None
            continue
        if not isinstance(value, str) or not value or len(value) > MAX_FIELD:
            raise ParseError(f"{where}: {key} must be a string of 1 to {MAX_FIELD} "
                             f"characters, got {values.describe(value)[:80]}")
        got[key] = value
    options = [o for o in (got["options"] or "").split(",") if o]
    return Mount(got["target"], got["source"], got["fstype"], options)
