"""autofs: the maps the master map (/etc/auto.master, its +dir: and +map includes) makes
autofs read, as `automount -m` dumps them, and whether the daemon runs; and the var
`fs_automount` of fs.automount.

`automount -m` (autofs 5, lib/master.c master_show_mounts) reads every map without the
daemon and without mounting anything:

    autofs dump map information
    ===========================

    global options: none configured
    Mount point: /srv/lab-auto

    source(s):

      instance type(s): file
      map: /etc/auto.lab

      data | -fstype=tmpfs,size=1m :tmpfs
      share | -fstype=nfs,ro files1:/srv/share

or, for a mount point, `failed to read map` (a missing map file, a program map not
executable, an LDAP server down), `no map sources found`, `no keys found in map`; or
`no master map entries found`. A key's entry is shown as the map holds it, not parsed:
an entry without a location (`share -fstype=nfs,ro`) is dumped and fails at mount time.
The lookup modules' complaints go to stderr.

The command's own lines:

    fleetcheck-automount: not installed     no automount binary: nothing else follows
    fleetcheck-automount: pid N             one per running automount process
    fleetcheck-automount: dump              then `automount -m`'s stdout, and its stderr
                                            lines prefixed `fleetcheck-automount: stderr: `
    fleetcheck-automount: end

A bare `automount -m` output (no mark) parses as such, with the daemon unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.fs_common import sections, settings as _settings

NAME = "automount"
VAR = "fs_automount"
PREFIX = "fleetcheck-automount: "
MAX_LINES = 200000
SCRIPT = f"""command -v automount >/dev/null 2>&1 || {{ echo '{PREFIX}not installed'; exit 0; }}
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = automount ] && echo "{PREFIX}pid ${{d#/proc/}}"
done
echo '{PREFIX}dump'
{{ automount -m 2>&1 1>&3 | sed 's/^/{PREFIX}stderr: /' >&3; }} 3>&1
echo '{PREFIX}end'
"""
_TITLE = "autofs dump map information"
_KEY = re.compile(r"  (\S+) \| (.*)")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class MapSource:
    type: str | None = None                 # `type: ...` (a master map's map type)
    instances: list[str] = field(default_factory=list)   # `instance type(s): file`
    maps: list[str] = field(default_factory=list)        # `map: /etc/auto.lab`
    arguments: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)   # key -> its entry, as written


@dataclass
class MountPoint:
    path: str
    failed: str | None = None               # `failed to read map`, `no map sources found`
    sources: list[MapSource] = field(default_factory=list)

    def entry(self, key: str) -> str | None:
        """The first source's entry for `key` (autofs uses the first that has it)."""
        for source in self.sources:
            if key in source.keys:
                return source.keys[key]
        return None


@dataclass
class Automount:
    installed: bool = True
    pids: list[int] | None = None           # None: not looked at (a bare dump)
    global_options: str | None = None
    mounts: list[MountPoint] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)   # the lookup modules' stderr

    def mount(self, path: str) -> MountPoint | None:
        wanted = path.rstrip("/") or "/"
        return next((m for m in self.mounts if m.path == wanted), None)


def location_of(entry: str) -> str | None:
    """What an entry mounts, after its options (`-fstype=nfs,ro files1:/x` ->
    `files1:/x`); None when nothing follows the options: autofs cannot mount it."""
    words = entry.split()
    rest = [w for w in words if not w.startswith("-")]
    return " ".join(rest) if rest else None


def parse(text: str) -> Automount:
    parts = sections(text, PREFIX, MAX_LINES)
    if parts and parts[0][1] == "":
        if len(parts) > 1:
            raise ParseError(f"line {parts[1][0]}: a mark after a bare automount -m dump")
        return _dump(list(enumerate(parts[0][2], start=1)), Automount())
    if not parts:
        raise ParseError("line 1: no output (expected automount -m's dump)")
    if parts[0][1] == "not installed":
        if len(parts) > 1 or any(line.strip() for line in parts[0][2]):
            raise ParseError(f"line 2: output after '{PREFIX}not installed'")
        return Automount(installed=False)
    out = Automount(pids=[])
    if parts[-1][1] != "end":
        raise ParseError(f"line {parts[-1][0]}: no '{PREFIX}end' line at the end (cut "
                         "output?)")
    dump: list[tuple[int, str]] | None = None
    for n, mark, body in parts:
        kind, _, arg = mark.partition(" ")
        numbered = [(n + 1 + i, line) for i, line in enumerate(body)]
        if kind == "pid" and not any(line.strip() for line in body):
            out.pids.append(to_int(arg, f"line {n}: pid"))
        elif kind == "stderr:":
            out.messages.append(arg)
            if dump is not None:
                dump.extend(numbered)      # stderr came in the middle of the dump
            elif any(line.strip() for line in body):
                raise ParseError(f"line {n + 1}: dump lines before '{PREFIX}dump'")
        elif kind == "dump" and dump is None:
            dump = numbered
        elif kind == "end":
            if any(line.strip() for line in body):
                raise ParseError(f"line {n + 1}: output after '{PREFIX}end'")
        else:
            raise ParseError(f"line {n}: unexpected {shown(PREFIX + mark)}")
    if dump is None:
        raise ParseError(f"line {parts[-1][0]}: no '{PREFIX}dump' section")
    return _dump(dump, out)


def _dump(numbered: list[tuple[int, str]], out: Automount) -> Automount:
    body = [(n, line.rstrip()) for n, line in numbered if line.strip()]
    first = numbered[0][0] if numbered else 1
    if body and body[0][1] == _TITLE:
        if len(body) < 2 or set(body[1][1]) != {"="}:
            raise ParseError(f"line {body[0][0]}: the title without its underline")
        body = body[2:]
    elif not body or not body[0][1].startswith(("Mount point: ", "global options: ")):
        raise ParseError(f"line {body[0][0] if body else first}: not automount -m's dump "
                         f"(expected {_TITLE!r}), got {shown(body[0][1]) if body else 'nothing'}")
    mount: MountPoint | None = None
    source: MapSource | None = None
    for n, line in body:
        if line.startswith("global options: "):
            out.global_options = line[len("global options: "):]
        elif line.startswith("global options will"):
            continue
        elif line == "no master map entries found":
            if out.mounts:
                raise ParseError(f"line {n}: {line!r} after a mount point")
        elif line.startswith("Mount point: "):
            path = line[len("Mount point: "):]
            if not path.startswith("/"):
                raise ParseError(f"line {n}: a mount point must be absolute: {shown(path)}")
            mount, source = MountPoint(path), None
            out.mounts.append(mount)
        elif mount is None:
            raise ParseError(f"line {n}: {shown(line)} before any 'Mount point:'")
        elif line == "source(s):":
            continue
        elif line.strip() in ("failed to read map", "no map sources found"):
            mount.failed = line.strip()
        elif line.startswith(("  type: ", "  instance type(s): ")):
            label, _, value = line.strip().partition(": ")
            source = MapSource()
            if label == "type":
                source.type = value.strip()
            else:
                source.instances = value.split()
            mount.sources.append(source)
        elif source is None:
            raise ParseError(f"line {n}: {shown(line)} before the map's source type")
        elif re.fullmatch(r"  map(\[\d+\])?: .+", line):
            source.maps.append(line.split(": ", 1)[1])
        elif re.fullmatch(r"  arguments(\[\d+\])?: .+", line):
            source.arguments.extend(line.split(": ", 1)[1].split())
        elif line.strip() in ("no keys found in map",
                              "duplicate indirect map entry will be ignored at run time"):
            continue
        elif _KEY.fullmatch(line):
            key, entry = _KEY.fullmatch(line).groups()
            if len(source.keys) >= MAX_LINES:
                raise ParseError(f"line {n}: too many keys")
            source.keys.setdefault(key, entry)
        else:
            raise ParseError(f"line {n}: not a line of automount -m's dump: {shown(line)}")
    return out


# -- the var `fs_automount` (fs.automount) ---------------------------------------------

_MAP_KEY = re.compile(r"[^\s|#\"']{1,255}")


def map_key(value: Any, what: str = "the autofs key") -> str:
    """A key of an autofs map as the dump prints it: one word, no '|', no quote."""
    text = values.word(value, what)
    if not _MAP_KEY.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be one word without '|', '#' or quotes, "
                                 f"got {shown(text)}")
    return text


VALUE_KINDS = {
    "fs_automount.maps{}": values.path,
    "fs_automount.maps.*[]": map_key,
}
VARS = {
    VAR: {
        "type": "object",
        "description": "fs.automount: autofs runs where it has maps, every map of the "
                       "master map reads, the declared keys resolve; null: not judged",
        "x-expected": "a mapping (like {maps: {/home: ['*']}})",
        "properties": {
            "running": {"type": "boolean", "default": True,
                        "description": "the automount daemon must run when autofs is "
                                       "installed and its master map has a mount point "
                                       "(false: not judged, e.g. where the kernel has no "
                                       "autofs filesystem)"},
            "maps": {"type": "object", "x-key": "an absolute mount point (/- for direct "
                     "maps)", "default": {},
                     "description": "mount point -> the keys its maps must resolve (a "
                                    "key with a location to mount)",
                     "x-expected": "a mapping of mount point: [key, ...]",
                     "patternProperties": {"^/": {
                         "type": "array", "description": "keys that must resolve",
                         "items": {"type": "string", "description": "a map key (home, "
                                   "'*')"}}},
                     "additionalProperties": False},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    return _settings(hostvars, VAR, VARS)
