"""What the host boots into, and the var `boot` of the whole area (boot.default_target,
boot.enabled: its schema and value kinds are declared here).

systemd: `systemctl get-default` (the target default.target names, aliases resolved:
`graphical.target`). SysV init: the `initdefault` entry of /etc/inittab (sysvinit's
inittab(5): `id:runlevels:action:process`, the runlevel of the `initdefault` line is
the one init enters at boot; without one it asks on the console). Neither (a container
whose PID 1 is tini, busybox' init, which has no runlevels): nothing to judge.

The command's first line says which it read:

    fleetcheck-boot: systemd     then get-default's line (nothing: no default.target)
    fleetcheck-boot: inittab     then /etc/inittab as it is (at most 1 MiB)
    fleetcheck-boot: none        no systemd, no /etc/inittab

A bare get-default output (one `NAME.target` line) or a bare inittab parses as such.

Runlevels and targets map as systemd maps them (systemd.special(7), runlevelN.target):
0 poweroff, 1 and S rescue, 2 3 4 multi-user, 5 graphical, 6 reboot. A target declared
on a SysV host is met by any runlevel of its target (multi-user: 2, 3 or 4; Debian boots
2, RHEL 3); a declared runlevel must be that runlevel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "boot"
VAR = "boot"
MAX_BYTES = 1 << 20
MAX_LINES = 20000
MARK = "fleetcheck-boot: "
SCRIPT = f"""if [ -d /run/systemd/system ]; then
  echo '{MARK}systemd'
  systemctl get-default 2>/dev/null || true
elif [ -r /etc/inittab ]; then
  echo '{MARK}inittab'
  head -c {MAX_BYTES} /etc/inittab
else
  echo '{MARK}none'
fi
"""
SYSTEMS = ("systemd", "inittab", "none")

# systemd.special(7): the runlevelN.target aliases
RUNLEVEL_TARGETS = {"0": "poweroff.target", "1": "rescue.target", "S": "rescue.target",
                    "2": "multi-user.target", "3": "multi-user.target",
                    "4": "multi-user.target", "5": "graphical.target",
                    "6": "reboot.target"}
# The runlevel --remediate writes into inittab for a declared target: the one systemd's
# `runlevel` reports for it (3 for multi-user, as RHEL; Debian treats 2-5 alike)
TARGET_RUNLEVEL = {"multi-user.target": "3", "graphical.target": "5", "rescue.target": "1"}
# Never made the default: the host would stop (or loop) at every boot
NEVER_DEFAULT = ("poweroff.target", "reboot.target", "halt.target", "kexec.target",
                 "emergency.target")

_TARGET = re.compile(r"[A-Za-z0-9:_.@\\-]{1,250}\.target")
_ID = re.compile(r"[A-Za-z0-9_~.+-]{0,32}")
_LEVELS = re.compile(r"[0-9SsABCabc]*")
_ACTION = re.compile(r"[a-z]{1,32}")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class InittabEntry:
    line: int
    id: str
    runlevels: str
    action: str
    process: str


@dataclass
class Inittab:
    entries: list[InittabEntry] = field(default_factory=list)

    @property
    def initdefault(self) -> str | None:
        """The runlevel init enters at boot: the last initdefault entry's (sysvinit
        reads them all; the last wins), None when there is none or it is empty."""
        found = [e for e in self.entries if e.action == "initdefault"]
        return normal_runlevel(found[-1].runlevels) if found and found[-1].runlevels \
            else None


@dataclass
class BootTarget:
    system: str                      # systemd | inittab | none
    target: str | None = None        # systemd: get-default's target
    runlevel: str | None = None      # inittab: the initdefault runlevel
    initdefault_lines: list[int] = field(default_factory=list)   # where inittab sets it


def normal_runlevel(text: str) -> str:
    return "S" if text in ("s", "S") else text


def parse_inittab(text: str, first_line: int = 1) -> Inittab:
    """inittab(5): `id:runlevels:action:process`, `#` comments, blank lines. ParseError
    on a line that is none of these, or an initdefault naming more than one runlevel."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {first_line + MAX_LINES}: more than {MAX_LINES} lines")
    out = Inittab()
    for n, line in enumerate(lines, start=first_line):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split(":", 3)
        if len(fields) != 4:
            raise ParseError(f"line {n}: expected 'id:runlevels:action:process', got "
                             f"{shown(line)}")
        ident, levels, action, process = fields
        if not _ID.fullmatch(ident):
            raise ParseError(f"line {n}: not an inittab id: {shown(ident)}")
        if not _LEVELS.fullmatch(levels):
            raise ParseError(f"line {n}: runlevels must be digits or S, got {shown(levels)}")
        if not _ACTION.fullmatch(action):
            raise ParseError(f"line {n}: not an inittab action: {shown(action)}")
        if action == "initdefault" and len(levels) > 1:
            raise ParseError(f"line {n}: initdefault names one runlevel, got {shown(levels)}")
        if action == "initdefault" and levels and normal_runlevel(levels) not in \
                RUNLEVEL_TARGETS:
            raise ParseError(f"line {n}: initdefault runlevel must be 0-6 or S, got "
                             f"{shown(levels)}")
        out.entries.append(InittabEntry(n, ident, levels, action, process))
    return out


def parse(text: str) -> BootTarget:
    lines = text.splitlines()
    system, start = None, 1
    if lines and lines[0].startswith(MARK):
        system = lines[0][len(MARK):]
        if system not in SYSTEMS:
            raise ParseError(f"line 1: unknown source {shown(system)}")
        start = 2
    rest = lines[start - 1:]
    if system is None:
        words = [line.strip() for line in rest if line.strip()]
        system = "systemd" if len(words) == 1 and words[0].endswith(".target") \
            else "inittab"
    if system == "none":
        for n, line in enumerate(rest, start=start):
            if line.strip():
                raise ParseError(f"line {n}: nothing expected after {lines[0]!r}: "
                                 f"{shown(line)}")
        return BootTarget("none")
    if system == "systemd":
        target = None
        for n, line in enumerate(rest, start=start):
            if not line.strip():
                continue
            if target is not None:
                raise ParseError(f"line {n}: a second default target: {shown(line)}")
            if not _TARGET.fullmatch(line.strip()):
                raise ParseError(f"line {n}: expected a target (multi-user.target), got "
                                 f"{shown(line)}")
            target = line.strip()
        return BootTarget("systemd", target=target)
    tab = parse_inittab("\n".join(rest), first_line=start)
    return BootTarget("inittab", runlevel=tab.initdefault,
                      initdefault_lines=[e.line for e in tab.entries
                                         if e.action == "initdefault"])


# -- what was declared ---------------------------------------------------------------

def declared_target(value: Any) -> tuple[str | None, str | None]:
    """(runlevel, target) of a declared `boot.default_target`: a runlevel (3, "3",
    "S", runlevel3.target) gives both; a target (multi-user, graphical.target) gives
    (None, the target with `.target`)."""
    text = str(value).strip()
    if text in ("s", "S") or (len(text) == 1 and text in RUNLEVEL_TARGETS):
        level = normal_runlevel(text)
        return level, RUNLEVEL_TARGETS[level]
    name = text if text.endswith(".target") else text + ".target"
    found = re.fullmatch(r"runlevel([0-6])\.target", name)
    if found:
        return found.group(1), RUNLEVEL_TARGETS[found.group(1)]
    return None, name


def canonical_target(name: str | None) -> str | None:
    """A target as systemd resolves it (runlevel3.target: multi-user.target)."""
    if name is None:
        return None
    found = re.fullmatch(r"runlevel([0-6])\.target", name)
    return RUNLEVEL_TARGETS[found.group(1)] if found else name


def target_value(value: Any, what: str = "the default target") -> str:
    """A declared default target: a runlevel (0-6, S) or a target name, never an
    option, no '/'."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = values.word(value, what)
    _, target = declared_target(text)
    if not _TARGET.fullmatch(target):
        raise values.UnsafeValue(f"{what} must be a runlevel (0-6, S) or a systemd target "
                                 f"(multi-user, graphical.target), got {shown(text)}")
    return text


# The vars whose values reach a command or a file (checked at load: fleetcheck.values).
VALUE_KINDS = {
    "boot.default_target": target_value,
    "boot.enabled[]": values.unit,
    "boot.disabled[]": values.unit,
}

_UNITS = {"type": "array", "items": {"type": "string", "description": "a systemd unit "
          "(ssh, cron.service, docker.socket) or SysV service (an /etc/init.d script)"},
          "x-expected": "a list of service names (like [ssh, cron])"}
VARS = {
    VAR: {
        "type": "object",
        "description": "the boot (boot.default_target, boot.enabled); a key null turns "
                       "its part off",
        "x-expected": "a mapping (like {default_target: multi-user, enabled: [ssh]})",
        "properties": {
            "default_target": {
                "type": ["string", "integer"],
                "x-expected": "a target (multi-user, graphical.target) or a runlevel (3)",
                "description": "boot.default_target: what the host boots into: a systemd "
                               "target or a SysV runlevel (0-6, S), mapped as systemd maps "
                               "them (2-4 multi-user, 5 graphical, 1 rescue); null: not "
                               "judged"},
            "enabled": dict(_UNITS, default=[], description="boot.enabled: services that "
                            "must start at boot (systemctl is-enabled, or a start link in "
                            "/etc/rc<default runlevel>.d or rcS.d, or chkconfig on)"),
            "disabled": dict(_UNITS, default=[], description="boot.enabled: services that "
                             "must not start at boot (masked counts as disabled)"),
            "services_enabled": {"type": "boolean", "default": True,
                                 "description": "every service of the var `services` "
                                 "(service.running) must start at boot too: one that must "
                                 "run comes back after a reboot (one the host has no unit "
                                 "or init script for is left to service.running)"},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> Mapping[str, Any]:
    """The var `boot` ({} when unset or not a mapping)."""
    conf = hostvars.get(VAR)
    return conf if isinstance(conf, Mapping) else {}
