"""Which services start at boot, in one round trip, through the host's own tool:

- systemd: `systemctl list-unit-files` (UNIT FILE, STATE and, since systemd 246,
  VENDOR PRESET, later PRESET; the header and the `N unit files listed.` footer);
- RHEL 6 and older (chkconfig, no update-rc.d): `chkconfig --list` (`name 0:off 1:off
  2:on ...`, then `xinetd based services:` with `name: on|off`; RHEL 7's note before);
- Debian SysV (insserv / update-rc.d layout): the S and K links of /etc/rc[0-6S].d
  (`/etc/rc2.d/S01cron`: start in runlevel 2; K: stop, what `update-rc.d NAME disable`
  leaves) and the scripts of /etc/init.d.

The command's marks:

    fleetcheck-boot: systemd       then list-unit-files' output
    fleetcheck-boot: chkconfig     then chkconfig --list's output
    fleetcheck-boot: rc.d          then one link path per line
    fleetcheck-boot: init.d        then one script name per line (after rc.d)

A bare list-unit-files or chkconfig output parses as such (by its first line).

:meth:`Enabled.state_of` says what boot does with a service: enabled, disabled,
masked, static (systemd: no [Install] section, or an alias, a generated or transient
unit: started by what needs it, it cannot be enabled itself), absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.boot import settings

NAME = "boot_enabled"
MARK = "fleetcheck-boot: "
MAX_LINES = 50000
SCRIPT = f"""if [ -d /run/systemd/system ]; then
  echo '{MARK}systemd'
  systemctl list-unit-files --no-pager 2>/dev/null | head -n {MAX_LINES - 10}
elif command -v chkconfig >/dev/null 2>&1 && ! command -v update-rc.d >/dev/null 2>&1; then
  echo '{MARK}chkconfig'
  chkconfig --list 2>/dev/null | head -n {MAX_LINES - 10}
else
  echo '{MARK}rc.d'
  for f in /etc/rc[0-6S].d/[SK][0-9][0-9]*; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
  done
  echo '{MARK}init.d'
  for f in /etc/init.d/*; do
    if [ -f "$f" ] && [ -x "$f" ]; then echo "${{f##*/}}"; fi
  done
fi
true
"""
SECTIONS = ("systemd", "chkconfig", "rc.d", "init.d")
SYSV_RUNLEVELS = ("2", "3", "4", "5")

# systemctl(1), is-enabled's table: what each unit file state means at boot
SYSTEMD_STATES = {
    "enabled": "enabled", "enabled-runtime": "enabled",
    "disabled": "disabled", "linked": "disabled", "linked-runtime": "disabled",
    "masked": "masked", "masked-runtime": "masked",
    "static": "static", "indirect": "static", "generated": "static",
    "transient": "static", "alias": "static", "bad": "bad",
}
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".path", ".target", ".mount",
                 ".automount", ".swap", ".slice", ".scope", ".device")
_UNIT = re.compile(r"[A-Za-z0-9:_.@\\-]{1,256}")
_SERVICE = re.compile(r"[A-Za-z0-9_.@:+-]{1,256}")
_LINK = re.compile(r"/etc/rc([0-6S])\.d/([SK])([0-9]{2})(.+)")
_LEVEL = re.compile(r"([0-6]):(on|off)")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Enabled:
    system: str                                       # systemd | chkconfig | rc.d
    units: dict[str, str] = field(default_factory=dict)        # systemd: unit -> state
    levels: dict[str, dict[str, bool]] = field(default_factory=dict)  # SysV: runlevel -> start
    xinetd: dict[str, bool] = field(default_factory=dict)      # chkconfig: xinetd services
    scripts: list[str] | None = None                  # rc.d: /etc/init.d's scripts

    def unit_name(self, name: str) -> str:
        """The unit a service name means (ssh: ssh.service), or the SysV name
        (ssh.service: ssh)."""
        if self.system == "systemd":
            return name if name.endswith(UNIT_SUFFIXES) else name + ".service"
        return name.removesuffix(".service")

    def state_of(self, name: str, runlevels: Iterable[str]) -> tuple[str, str]:
        """(enabled | disabled | masked | static | bad | absent, what was seen) of a
        service at boot; `runlevels` are those boot enters (SysV: the default, or 2-5
        when unknown; rcS.d always runs)."""
        unit = self.unit_name(name)
        if self.system == "systemd":
            state = self.units.get(unit)
            if state is None and "@" in unit:
                prefix, _, rest = unit.partition("@")
                template = f"{prefix}@{rest[rest.rfind('.'):]}" if "." in rest else None
                if template and template in self.units:
                    state = self.units[template]
                    return SYSTEMD_STATES.get(state, "bad"), f"{template} {state}"
            if state is None:
                return "absent", f"no unit file {unit}"
            return SYSTEMD_STATES.get(state, "bad"), f"{unit} {state}"
        if unit in self.xinetd:
            on = self.xinetd[unit]
            return ("enabled" if on else "disabled"), f"xinetd {'on' if on else 'off'}"
        levels = self.levels.get(unit)
        wanted = list(runlevels) + (["S"] if self.system == "rc.d" else [])
        if levels is None:
            if self.scripts is not None and unit in self.scripts:
                return "disabled", f"/etc/init.d/{unit} has no rc link"
            what = "not in chkconfig --list" if self.system == "chkconfig" else \
                f"no /etc/init.d/{unit}"
            return "absent", what
        started = [lvl for lvl in wanted if levels.get(lvl)]
        seen = " ".join(f"{lvl}:{'on' if on else 'off'}" for lvl, on in sorted(levels.items()))
        return ("enabled" if started else "disabled"), seen

    def has_links(self, name: str) -> bool:
        """SysV: the service has rc links (update-rc.d enable/disable toggles them)."""
        return bool(self.levels.get(self.unit_name(name)))


def parse(text: str) -> Enabled:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    numbered = list(enumerate(lines, start=1))
    if numbered and numbered[0][1].startswith(MARK):
        system = numbered[0][1][len(MARK):]
        if system not in SECTIONS[:3]:
            raise ParseError(f"line 1: unknown source {shown(system)}")
        numbered = numbered[1:]
    else:
        first = next((line for _, line in numbered if line.strip()), "")
        system = "systemd" if first.startswith("UNIT FILE") else "chkconfig"
    out = Enabled(system)
    if system == "systemd":
        _systemd(out, numbered)
    elif system == "chkconfig":
        _chkconfig(out, numbered)
    else:
        _rcd(out, numbered)
    return out


def _systemd(out: Enabled, numbered) -> None:
    footer = False
    for n, line in numbered:
        words = line.split()
        if not words:
            continue
        if footer:
            raise ParseError(f"line {n}: a line after the footer: {shown(line)}")
        if line.startswith("UNIT FILE"):
            if words[2:3] != ["STATE"] or out.units:
                raise ParseError(f"line {n}: not list-unit-files' header: {shown(line)}")
            continue
        if re.fullmatch(r"[0-9]+ unit files? listed\.", line.strip()):
            footer = True
            continue
        if len(words) not in (2, 3):
            raise ParseError(f"line {n}: expected 'UNIT STATE [PRESET]', got {shown(line)}")
        unit, state = words[0], words[1]
        if not _UNIT.fullmatch(unit) or "." not in unit:
            raise ParseError(f"line {n}: not a unit name: {shown(unit)}")
        if state not in SYSTEMD_STATES:
            raise ParseError(f"line {n}: unknown unit file state {shown(state)}")
        if len(words) == 3 and words[2] not in ("enabled", "disabled", "ignored", "-"):
            raise ParseError(f"line {n}: unknown preset {shown(words[2])}")
        out.units[unit] = state


def _chkconfig(out: Enabled, numbered) -> None:
    section = "services"
    for n, line in numbered:
        stripped = line.strip()
        if not stripped:
            continue
        if section == "note":
            if not line[:1].isspace():
                section = "services"
            else:
                continue
        if stripped.startswith("Note: This output shows SysV services only"):
            section = "note"
            continue
        if stripped == "xinetd based services:":
            section = "xinetd"
            continue
        words = stripped.split()
        if line[:1].isspace() and len(words) == 2 and words[0].endswith(":"):
            name, state = words[0][:-1], words[1]        # xinetd's: `  rsync:  on`
            if not _SERVICE.fullmatch(name) or state not in ("on", "off"):
                raise ParseError(f"line {n}: expected 'name: on|off', got {shown(line)}")
            out.xinetd[name] = state == "on"
            continue
        if section == "xinetd":
            raise ParseError(f"line {n}: expected an xinetd service 'name: on|off', got "
                             f"{shown(line)}")
        if len(words) != 8 or not _SERVICE.fullmatch(words[0]):
            raise ParseError(f"line {n}: expected 'name 0:off 1:off ... 6:off', got "
                             f"{shown(line)}")
        levels = {}
        for i, word in enumerate(words[1:]):
            found = _LEVEL.fullmatch(word)
            if not found or found.group(1) != str(i):
                raise ParseError(f"line {n}: expected {i}:on or {i}:off, got {shown(word)}")
            levels[found.group(1)] = found.group(2) == "on"
        out.levels[words[0]] = levels


def _rcd(out: Enabled, numbered) -> None:
    section = "rc.d"
    for n, line in numbered:
        if line == MARK + "init.d":
            if out.scripts is not None:
                raise ParseError(f"line {n}: {line!r} twice")
            out.scripts, section = [], "init.d"
            continue
        if not line.strip():
            continue
        if section == "init.d":
            if not _SERVICE.fullmatch(line):
                raise ParseError(f"line {n}: not an init script name: {shown(line)}")
            out.scripts.append(line)
            continue
        found = _LINK.fullmatch(line)
        if not found or not _SERVICE.fullmatch(found.group(4)):
            raise ParseError(f"line {n}: expected an rc link (/etc/rc2.d/S01cron), got "
                             f"{shown(line)}")
        level, kind, _, name = found.groups()
        levels = out.levels.setdefault(name, {})
        levels[level] = levels.get(level, False) or kind == "S"


# -- what boot.enabled expects (the check and its fix read it alike) -------------------

def expectations(hostvars: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """({service: implicit | enabled | disabled}, contradictions): boot.enabled,
    boot.disabled, and the `services` (implicit: enabled) unless boot.services_enabled
    is false; declared both enabled and disabled is a contradiction; disabled wins over
    the implicit."""
    conf = settings(hostvars)
    want: dict[str, str] = {}
    if conf.get("services_enabled", True):
        for name in hostvars.get("services") or ():
            want[str(name)] = "implicit"
    clashes = []
    for name in conf.get("enabled") or ():
        want[str(name)] = "enabled"
    for name in conf.get("disabled") or ():
        if want.get(str(name)) == "enabled":
            clashes.append(str(name))
        want[str(name)] = "disabled"
    return want, clashes


def boot_runlevels(enabled: Enabled, boot) -> tuple[str, ...]:
    """The runlevels whose rc links boot runs (SysV): the `boot` fact's initdefault,
    else 2-5; () on systemd."""
    if enabled.system == "systemd":
        return ()
    level = boot.runlevel if boot is not None and boot.system == "inittab" else None
    return (level,) if level else SYSV_RUNLEVELS


def judge(want: Mapping[str, str], enabled: Enabled, runlevels) -> tuple[list, dict, list]:
    """(problems as (service, what to do: enable | disable | None for the admin,
    message), state per service, services not judged)."""
    found, states, skipped = [], {}, []
    for name, how in want.items():
        state, seen = enabled.state_of(name, runlevels)
        states[name] = f"{state} ({seen})"
        if how == "disabled":
            if state == "enabled":
                found.append((name, "disable", f"{name} starts at boot, declared disabled "
                              f"({seen})"))
        elif state in ("enabled", "static"):
            continue
        elif state == "disabled":
            found.append((name, "enable", f"{name} does not start at boot ({seen})"))
        elif how == "implicit" and state == "absent":
            skipped.append(name)
        elif state == "masked":
            found.append((name, None, f"{name} is masked: it cannot start at boot ({seen})"))
        elif state == "absent":
            found.append((name, None, f"{name} has no unit or init script: it cannot "
                          f"start at boot ({seen})"))
        else:
            found.append((name, None, f"{name}: unit file state {seen}"))
    return found, states, skipped
