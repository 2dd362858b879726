"""slapd's own verdict on its configuration: `slaptest -u` (the configuration is read
and checked as slapd would at start; -u: a database that cannot be opened is not an
error, so the test never touches the data) of the cn=config directory (`-F`,
ldap.config_valid.config_dir, Debian's /etc/ldap/slapd.d by default) or of a
slapd.conf (`-f`, ldap.config_valid.config_file). slaptest is slapd itself (a link to
it): where it is missing, slapd is not installed.

Our lines, around slaptest's output (its stderr and stdout together):

    fleetcheck-slaptest: not installed           (no slaptest: the only line)
    fleetcheck-slaptest: slaptest -u -F /etc/ldap/slapd.d
    <its messages>                               `olcDbDirectory: value #0: invalid
                                                 path: ...`; the last line `config file
                                                 testing succeeded` when it passes
    fleetcheck-slaptest: exit N
    fleetcheck-slaptest: end

slaptest may pass (exit 0) and still print what it repaired or could not check: a
`checksum error` (an LDIF of slapd.d edited by hand), an `UNKNOWN attributeDescription
... inserted` (a misspelt attribute: the setting meant is not in effect). Those are
the warnings (every message but the success line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.ldap import DEFAULTS, settings

NAME = "slaptest"
MARK = "fleetcheck-slaptest: "
END = MARK + "end"
MAX_LINES = 10000
MAX_MESSAGES = 100
MAX_MESSAGE = 500
SUCCEEDED = "config file testing succeeded"
# $1: -F or -f (fixed by the code), $2: the directory or file (an absolute path)
SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
command -v slaptest >/dev/null 2>&1 || {{ echo '{MARK}not installed'; exit 0; }}
echo "{MARK}slaptest -u $1 $2"
slaptest -u "$1" "$2" 2>&1 </dev/null
echo "{MARK}exit $?"
echo '{END}'
"""
_COMMAND = re.compile(r"slaptest -u -([Ff]) (/.*)")


def command(hostvars: Mapping[str, Any]) -> Command:
    conf = settings(hostvars, "config_valid") or {}
    if conf.get("config_file"):
        return Command("sh -c %s slaptest -f %s", SCRIPT,
                       values.path(conf["config_file"], "ldap.config_valid.config_file"))
    return Command("sh -c %s slaptest -F %s", SCRIPT,
                   values.path(conf.get("config_dir") or DEFAULTS["config_dir"],
                               "ldap.config_valid.config_dir"))


@dataclass
class Slaptest:
    installed: bool = True
    command: str | None = None          # what ran: `slaptest -u -F /etc/ldap/slapd.d`
    config: str | None = None           # the directory or file tested
    exit: int | None = None
    messages: list[str] = field(default_factory=list)   # slaptest's lines, in order
    succeeded: bool = False             # `config file testing succeeded` was printed

    @property
    def valid(self) -> bool:
        return self.exit == 0

    def errors(self) -> list[str]:
        """The messages but the success line."""
        return [m for m in self.messages if m != SUCCEEDED]


def parse(text: str) -> Slaptest:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if lines == [MARK + "not installed"]:
        return Slaptest(installed=False)
    if not lines or not lines[0].startswith(MARK):
        raise ParseError(f"line 1: expected {MARK!r}, got {shown(lines[0] if lines else '')}")
    if lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    found = _COMMAND.fullmatch(lines[0][len(MARK):])
    if not found:
        raise ParseError(f"line 1: not the slaptest command line: {shown(lines[0])}")
    out = Slaptest(command=lines[0][len(MARK):], config=found.group(2))
    for n, line in enumerate(lines[1:-1], start=2):
        if line.startswith(MARK):
            word = line[len(MARK):]
            if not word.startswith("exit ") or out.exit is not None or n != len(lines) - 1:
                raise ParseError(f"line {n}: unexpected {shown(line)}")
            out.exit = to_int(word[5:], f"line {n}")
            continue
        message = line.rstrip("\r").strip()
        if not message:
            continue
        if message == SUCCEEDED:
            out.succeeded = True
        if len(out.messages) < MAX_MESSAGES:
            out.messages.append(message[:MAX_MESSAGE])
    if out.exit is None:
        raise ParseError(f"line {len(lines)}: no exit line")
    return out
