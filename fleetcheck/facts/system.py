"""What a host is, in a few words, for the report's host view: its kernel release, its
distribution and how long it has been up. No check reads it: the gathering
(fleetcheck.gather) adds it to the last batch of every host it reaches, so it costs no
round trip of its own, and a host that cannot be reached never runs it.

Our lines, one `key=value` each:

    kernel=6.1.0-26-amd64                      /proc/sys/kernel/osrelease
    uptime=501.75 638.35                       /proc/uptime (seconds up, seconds idle)
    PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"  the lines PRETTY_NAME, NAME, ID and
    ID=debian                                  VERSION_ID of /etc/os-release (else
                                               /usr/lib/os-release), quoted as there
    fleetcheck-system: end                     the last line (a cut output is an error)

os-release values are shell-quoted (os-release(5)): double quotes with backslash
escapes, single quotes, or a bare word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_float

NAME = "system"
END = "fleetcheck-system: end"
MAX_FIELD = 256
MAX_LINES = 50
OS_KEYS = ("PRETTY_NAME", "NAME", "ID", "VERSION_ID")
SCRIPT = r"""printf 'kernel=%s\n' "$(cat /proc/sys/kernel/osrelease)"
printf 'uptime=%s\n' "$(cat /proc/uptime)"
for f in /etc/os-release /usr/lib/os-release; do
  [ -r "$f" ] && { grep -E '^(PRETTY_NAME|NAME|ID|VERSION_ID)=' "$f"; break; }
done
echo 'fleetcheck-system: end'
"""
RELEASE = re.compile(r"[A-Za-z0-9._+~-]{1,256}")
_ESCAPED = re.compile(r"\\([\"\\$`])")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class System:
    kernel: str                   # the running kernel's release (uname -r)
    uptime_seconds: float
    distribution: str | None      # PRETTY_NAME, else NAME VERSION_ID, else ID; None
    os_id: str | None             # without an os-release file
    version_id: str | None


def _unquote(value: str, where: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPED.sub(r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value[:1] in ("'", '"'):
        raise ParseError(f"{where}: unbalanced quote: {shown(value)}")
    return value


def parse(text: str) -> System:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"system line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or lines[-1].strip() != END:
        raise ParseError(f"system line {len(lines) or 1}: the output is cut (no "
                         f"'{END}' line)")
    found: dict[str, str] = {}
    for number, line in enumerate(lines[:-1], start=1):
        where = f"system line {number}"
        key, sep, value = line.partition("=")
        if not sep or (key not in ("kernel", "uptime") and key not in OS_KEYS):
            raise ParseError(f"{where}: not one of this fact's lines: {shown(line)}")
        if len(value) > MAX_FIELD:
            raise ParseError(f"{where}: {key} longer than {MAX_FIELD} characters")
        if key in found:
            raise ParseError(f"{where}: {key} twice")
        found[key] = _unquote(value.strip(), where) if key in OS_KEYS else value.strip()
    kernel = found.get("kernel", "")
    if not RELEASE.fullmatch(kernel):
        raise ParseError(f"system line 1: not a kernel release: {shown(kernel)}")
    parts = found.get("uptime", "").split()
    if len(parts) != 2:
        raise ParseError(f"system line 2: not /proc/uptime: {shown(found.get('uptime', ''))}")
    uptime = to_float(parts[0], "system line 2")
    if uptime < 0:
        raise ParseError(f"system line 2: negative uptime {parts[0]}")
    name = found.get("PRETTY_NAME") or " ".join(
        v for v in (found.get("NAME"), found.get("VERSION_ID")) if v) or found.get("ID")
    return System(kernel=kernel, uptime_seconds=uptime, distribution=name or None,
                  os_id=found.get("ID") or None, version_id=found.get("VERSION_ID") or None)


def uptime_text(seconds: float) -> str:
    """`12 days 3 h`, `5 h 20 min`, `42 min`, `30 s`: the host view's uptime."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
