"""Owner, group and mode of declared paths, and world-writable files under declared
directories (vars `files_permissions` and `files_world_writable`), in one command.

    files_permissions:                  # path -> its baseline (one record each)
      /etc/shadow: {owner: root, group: [shadow, root], mode: "0640", required: true}
    files_world_writable: [/etc]        # directories scanned for world-writable files

The command is `sh -c` over the declared values, passed as arguments (never pasted):

- every declared path, one line each: `stat <raw mode in hex> <uid> <gid> <owner>
  <group> <path>` (`stat -c '%f %u %g %U %G %n'`, an lstat: a symbolic link is itself,
  never its target), or `missing <path>`;
- every declared owner and group that exists on the host (`getent passwd|group`),
  `user <name>` / `group <name>`: the fix sets only names the host knows;
- every declared directory: `scan <dir>` (or `nodir <dir>`), then `find -P DIR -xdev
  -type f -perm -0002`, one `ww <octal mode> <uid> <gid> <owner> <group> <path>` per
  file, at most MAX_LISTED per directory (the parser says the listing was cut). A
  file whose path holds a byte that is not printable ASCII (a line break, a control
  character, non-ASCII) is `wwodd ...` without its path: a path printed on one line
  is then always the file's exact path, which the fix may chmod (C locale).

A declared path is an absolute path without '..' (values.path), never an option
(`--` before it anyway); names are user/group names (values.user).
"""

from __future__ import annotations

import re
import stat as statmod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, brief, shown, to_int

NAME = "files"
MAX_LISTED = 100       # world-writable files listed per scanned directory
MAX_PATHS = 200        # declared paths (the schema's bound)
MAX_DIRS = 16          # declared directories to scan
MODE = re.compile(r"[0-7]{3,4}")
FOUND_MODE = re.compile(r"[0-7]{1,4}")   # find's %m: no leading zeros


# -- the values of the var ------------------------------------------------------------

def max_mode(value: Any, what: str = "the value") -> str:
    """A maximum mode: an octal string of 3 or 4 digits ("0640"). A number is refused:
    YAML reads an unquoted 0640 as the integer 416."""
    if not isinstance(value, str) or not MODE.fullmatch(value):
        raise values.UnsafeValue(f"{what} must be an octal mode in quotes like \"0640\", "
                                 f"got {values.describe(value)}")
    return value


def group_names(value: Any, what: str = "the value") -> Any:
    """A group name, or a non-empty list of them (each a values.user name)."""
    if isinstance(value, list):
        if not value:
            raise values.UnsafeValue(f"{what} must not be an empty list")
        for n, name in enumerate(value):
            values.user(name, f"{what}[{n}]")
        return value
    return values.user(value, what)


VALUE_KINDS = {
    "files_permissions{}": values.path,
    "files_permissions.*.owner": values.user,
    "files_permissions.*.group": group_names,
    "files_permissions.*.mode": max_mode,
    "files_world_writable[]": values.path,
}

_NAME = {"type": "string", "description": "a user or group name"}
VARS = {
    "files_permissions": {
        "type": "object",
        "description": "owner, group and maximum mode of system files (files.permissions, "
                       "one record per path): path -> {owner, group, mode, required}; a "
                       "path that does not exist is not judged unless required; null "
                       "turns a path off",
        "x-expected": "a mapping of absolute path: {owner, group, mode}",
        "x-key": "an absolute path",
        "maxProperties": MAX_PATHS,
        "patternProperties": {
            "^/": {
                "type": "object",
                "description": "the baseline of one path",
                "x-expected": "a mapping {owner, group, mode, required}",
                "properties": {
                    "owner": dict(_NAME, description="the owner it must have"),
                    "group": {
                        "type": ["string", "array"],
                        "items": _NAME,
                        "minItems": 1,
                        "x-expected": "a group name or a list of them",
                        "description": "the group, or the groups allowed; the fix sets "
                                       "the first that exists on the host",
                    },
                    "mode": {
                        "type": "string", "pattern": "^[0-7]{3,4}$",
                        "x-expected": "an octal mode in quotes, like \"0640\" (YAML "
                                      "reads 0640 unquoted as a number)",
                        "description": "the maximum mode: no permission bit beyond it "
                                       "(fewer bits pass)",
                    },
                    "required": {"type": "boolean", "default": False,
                                 "description": "a missing path is a finding"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "files_world_writable": {
        "type": "array",
        "maxItems": MAX_DIRS,
        "items": {"type": "string", "description": "an absolute directory path"},
        "x-expected": "a list of absolute directory paths (like [/etc])",
        "description": "directories scanned (one file system each, symbolic links not "
                       "followed) for world-writable regular files (files.world_writable)",
    },
}


@dataclass(frozen=True)
class Rule:
    """The baseline of one path, from its entry in `files_permissions`."""
    owner: str | None = None
    groups: tuple[str, ...] = ()
    mode: int | None = None       # the maximum mode (permission bits, 07777)
    required: bool = False


def rules(hostvars: Mapping[str, Any]) -> dict[str, Rule]:
    """path -> Rule of the declared paths (a null entry turns its path off)."""
    declared = hostvars.get("files_permissions")
    if not isinstance(declared, Mapping):
        return {}
    out = {}
    for path, entry in declared.items():
        if not isinstance(entry, Mapping):
            continue
        group = entry.get("group")
        mode = entry.get("mode")
        out[str(path)] = Rule(entry.get("owner"),
                              tuple(group) if isinstance(group, list) else
                              (group,) if group is not None else (),
                              int(mode, 8) if mode is not None else None,
                              bool(entry.get("required", False)))
    return out


def scanned_dirs(hostvars: Mapping[str, Any]) -> list[str] | None:
    """The directories of `files_world_writable`, or None when not declared."""
    dirs = hostvars.get("files_world_writable")
    return list(dirs) if isinstance(dirs, list) else None


# -- the command ----------------------------------------------------------------------

STAT_SCRIPT = """for p; do
  if [ -e "$p" ] || [ -L "$p" ]; then
    LC_ALL=C stat -c 'stat %f %u %g %U %G %n' -- "$p" || exit 2
  else
    printf 'missing %s\\n' "$p"
  fi
done
"""
NAMES_SCRIPT = """for n; do
  case $n in
    u:*) getent passwd -- "${n#u:}" >/dev/null && printf 'user %s\\n' "${n#u:}" ;;
    g:*) getent group -- "${n#g:}" >/dev/null && printf 'group %s\\n' "${n#g:}" ;;
  esac
done
exit 0
"""
SCAN_SCRIPT = f"""for d; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then
    printf 'scan %s\\n' "$d"
    LC_ALL=C find -P "$d" -xdev -type f -perm -0002 \\( -path '*[![:print:]]*' \\
      -printf 'wwodd %m %U %G %u %g\\n' -o -printf 'ww %m %U %G %u %g %p\\n' \\) \\
      | head -n {MAX_LISTED + 1}
  else
    printf 'nodir %s\\n' "$d"
  fi
done
exit 0
"""


def _script(script: str, args: list[str]) -> tuple[str, list[str]]:
    return "sh -c %s fleetcheck" + " %s" * len(args), [script, *args]


def command(hostvars: Mapping[str, Any]) -> Command:
    # the load's check again (fleetcheck.values), on what reaches the command
    for name in VARS:
        for problem in values.problems(name, hostvars.get(name), VALUE_KINDS):
            raise FactError(problem)
    declared = rules(hostvars)
    dirs = scanned_dirs(hostvars) or []
    names: list[str] = []
    for rule in declared.values():
        for name in ([f"u:{rule.owner}"] if rule.owner else []) + \
                [f"g:{g}" for g in rule.groups]:
            if name not in names:
                names.append(name)
    parts, args = [], []
    for script, of in ((STAT_SCRIPT, list(declared)), (NAMES_SCRIPT, names),
                       (SCAN_SCRIPT, dirs)):
        if of:
            template, more = _script(script, of)
            parts.append(template)
            args.extend(more)
    return Command(" && ".join(parts), *args) if parts else Command("true")


# -- the fact -------------------------------------------------------------------------

@dataclass
class PathState:
    exists: bool
    kind: str | None = None        # file, directory, symlink, other
    mode: int | None = None        # permission bits (07777)
    uid: int | None = None
    gid: int | None = None
    owner: str | None = None       # as stat names them (UNKNOWN: no name)
    group: str | None = None


@dataclass
class WorldWritable:
    path: str | None               # None: a path with a byte that is not printable ASCII
    mode: int
    uid: int
    gid: int
    owner: str
    group: str
    directory: str                 # the scanned directory it was found under


@dataclass
class Files:
    paths: dict[str, PathState] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)     # declared owners that exist
    groups: list[str] = field(default_factory=list)    # declared groups that exist
    scanned: list[str] = field(default_factory=list)
    missing_dirs: list[str] = field(default_factory=list)
    world_writable: list[WorldWritable] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # listings cut at MAX_LISTED


KINDS = {statmod.S_IFREG: "file", statmod.S_IFDIR: "directory", statmod.S_IFLNK: "symlink"}


def _path(text: str, where: str) -> str:
    if not text.startswith("/"):
        raise ParseError(f"{where}: expected an absolute path, got {shown(text)}")
    return text


def _name(text: str, where: str) -> str:
    if not text or not text.isprintable() or len(text) > 256:
        raise ParseError(f"{where}: expected a user or group name, got {shown(text)}")
    return text


def _stat(rest: str, where: str) -> tuple[str, PathState]:
    fields = rest.split(" ", 5)
    if len(fields) != 6 or not re.fullmatch(r"[0-9a-f]{1,8}", fields[0]):
        raise ParseError(f"{where}: expected 'stat HEXMODE UID GID OWNER GROUP PATH', got "
                         f"{shown(rest)}")
    raw = int(fields[0], 16)
    return _path(fields[5], where), PathState(
        True, KINDS.get(statmod.S_IFMT(raw), "other"), statmod.S_IMODE(raw),
        to_int(fields[1], f"{where}: uid"), to_int(fields[2], f"{where}: gid"),
        _name(fields[3], where), _name(fields[4], where))


def _found(rest: str, where: str, directory: str, odd: bool) -> WorldWritable:
    fields = rest.split(" ", 4 if odd else 5)
    if len(fields) != (5 if odd else 6) or not FOUND_MODE.fullmatch(fields[0]):
        raise ParseError(f"{where}: expected 'MODE UID GID OWNER GROUP"
                         f"{'' if odd else ' PATH'}', got {shown(rest)}")
    path = None if odd else _path(fields[5], where)
    if path is not None and not (path == directory or path.startswith(
            directory.rstrip("/") + "/")):
        raise ParseError(f"{where}: {brief(path)} is not under {brief(directory)}")
    return WorldWritable(path, int(fields[0], 8), to_int(fields[1], f"{where}: uid"),
                         to_int(fields[2], f"{where}: gid"), _name(fields[3], where),
                         _name(fields[4], where), directory)


def parse(text: str) -> Files:
    out = Files()
    directory = None
    listed = 0
    for n, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        where = f"line {n}"
        tag, _, rest = line.partition(" ")
        if tag == "stat":
            path, state = _stat(rest, where)
            if path in out.paths:
                raise ParseError(f"{where}: {brief(path)} again")
            out.paths[path] = state
        elif tag == "missing":
            out.paths[_path(rest, where)] = PathState(False)
        elif tag in ("user", "group"):
            (out.users if tag == "user" else out.groups).append(_name(rest, where))
        elif tag == "scan":
            directory, listed = _path(rest, where), 0
            out.scanned.append(directory)
        elif tag == "nodir":
            out.missing_dirs.append(_path(rest, where))
            directory = None
        elif tag in ("ww", "wwodd"):
            if directory is None:
                raise ParseError(f"{where}: a world-writable file before any 'scan' line")
            listed += 1
            if listed > MAX_LISTED:
                if directory not in out.truncated:
                    out.truncated.append(directory)
                continue
            out.world_writable.append(_found(rest, where, directory, tag == "wwodd"))
        else:
            raise ParseError(f"{where}: unknown line {shown(line)}")
    return out


# -- judging a path against its baseline (the check and the fix) ----------------------

def octal(mode: int | None) -> str | None:
    return None if mode is None else f"{mode:04o}"


def extra_bits(rule: Rule, state: PathState) -> int:
    """The permission bits the path has beyond its maximum mode."""
    if rule.mode is None or state.mode is None:
        return 0
    return state.mode & ~rule.mode & 0o7777


def problems(rule: Rule, state: PathState | None) -> list[str]:
    """What is wrong with a path against its baseline (empty: nothing, or missing
    and not required)."""
    if state is None or not state.exists:
        return ["required but missing"] if rule.required else []
    if state.kind == "symlink":
        return ["is a symbolic link (not followed: its target is not judged)"]
    out = []
    if rule.owner is not None and state.owner != rule.owner:
        out.append(f"owner {state.owner}, expected {rule.owner}")
    if rule.groups and state.group not in rule.groups:
        out.append(f"group {state.group}, expected {' or '.join(rule.groups)}")
    extra = extra_bits(rule, state)
    if extra:
        out.append(f"mode {octal(state.mode)} has {octal(extra)} beyond {octal(rule.mode)}")
    return out


def exposes(rule: Rule, state: PathState | None) -> bool:
    """Whether someone the baseline keeps out may write the path, or read a path the
    baseline keeps from others (a wrong owner; a wrong group with write, or with read
    where others get nothing; others with write; others with read where the maximum
    gives them nothing: /etc/shadow's hashes)."""
    if state is None or not state.exists or state.kind == "symlink" or state.mode is None:
        return False
    secret = rule.mode is not None and not rule.mode & 0o007
    extra = extra_bits(rule, state)
    if rule.owner is not None and state.owner != rule.owner:
        return True
    if rule.groups and state.group not in rule.groups and (
            state.mode & 0o020 or (secret and state.mode & 0o040)):
        return True
    return bool(extra & 0o002 or (secret and extra & 0o004))
