"""Postfix's configuration in effect and its own verdict on it, in one round trip:
`postconf -n` (the parameters main.cf sets), `postfix check` (the configuration, the
queue and the files' owners and modes) and whether the master daemon runs.

Our lines, between Postfix's outputs:

    fleetcheck-postfix: not installed           (no postconf: the only line)
    fleetcheck-postfix: config_directory /etc/postfix
    fleetcheck-postfix: running yes|no          the master's pid file names a live process
    fleetcheck-postfix: postconf -n
    <its output and messages>                   `name = value`; `postconf: warning: ...`
    fleetcheck-postfix: postconf exit N
    fleetcheck-postfix: postfix check
    <its messages>
    fleetcheck-postfix: check exit N tty yes|no
    fleetcheck-postfix: end

`postfix check` logs its warnings through postlog, which writes to stderr only when
stderr is a terminal (else to syslog alone): the command runs it under script(1) for a
pseudo-terminal where it can (`tty yes`; its CR LF line ends are read as LF). Text
without our first line is `postconf -n`'s output alone (a capture).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.postfix import parse_main_cf

NAME = "postfix_config"
MARK = "fleetcheck-postfix: "
END = MARK + "end"
MAX_LINES = 100000
MAX_MESSAGES = 100
SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
command -v postconf >/dev/null 2>&1 || {{ echo '{MARK}not installed'; exit 0; }}
echo "{MARK}config_directory $(postconf -h config_directory 2>/dev/null)"
q=$(postconf -h queue_directory 2>/dev/null) || q=/var/spool/postfix
pid=$(head -n 1 "$q/pid/master.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -0 $pid 2>/dev/null; then echo '{MARK}running yes'
else echo '{MARK}running no'; fi
echo '{MARK}postconf -n'
postconf -n 2>&1 </dev/null
echo "{MARK}postconf exit $?"
echo '{MARK}postfix check'
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
  script -qec 'postfix check' /dev/null 2>&1 </dev/null; rc=$?; tty=yes
else
  postfix check 2>&1 </dev/null; rc=$?; tty=no
fi
echo "{MARK}check exit $rc tty $tty"
echo '{END}'
"""
# `postconf: warning: ...`, `postfix/postfix-script: fatal: ...`: a program's message
_MESSAGE = re.compile(r"[a-z0-9_./-]{1,64}: (?:warning|fatal|error|panic|info): .*")
_EXIT = re.compile(r"postconf exit ([0-9]{1,3})")
_CHECK_EXIT = re.compile(r"check exit ([0-9]{1,3}) tty (yes|no)")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class PostfixConfig:
    installed: bool = True
    config_directory: str | None = None
    running: bool | None = None
    parameters: dict[str, str] = field(default_factory=dict)   # postconf -n
    postconf_exit: int | None = None
    postconf_messages: list[str] = field(default_factory=list)
    check_exit: int | None = None
    check_messages: list[str] = field(default_factory=list)
    check_tty: bool | None = None

    @property
    def main_cf(self) -> str:
        return f"{(self.config_directory or '/etc/postfix').rstrip('/')}/main.cf"

    def warnings(self) -> list[str]:
        """Every message of postconf and postfix check, each once, in order."""
        return list(dict.fromkeys(self.postconf_messages + self.check_messages))


def parse(text: str) -> PostfixConfig:
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or not lines[0].startswith(MARK):
        out = PostfixConfig()
        out.parameters = _parameters(lines, 1, out.postconf_messages)
        return out
    if lines == [MARK + "not installed"]:
        return PostfixConfig(installed=False)
    if lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    out = PostfixConfig()
    section, start, body = None, 0, []
    for n, line in enumerate(lines[:-1], start=1):
        if not line.startswith(MARK):
            if section is None:
                raise ParseError(f"line {n}: a line before our first section: {shown(line)}")
            body.append(line)
            continue
        word = line[len(MARK):]
        if word.startswith("config_directory "):
            out.config_directory = word.split(" ", 1)[1] or None
        elif word in ("running yes", "running no"):
            out.running = word == "running yes"
        elif word in ("postconf -n", "postfix check"):
            section, start, body = word, n + 1, []
        elif _EXIT.fullmatch(word) and section == "postconf -n":
            out.postconf_exit = int(_EXIT.fullmatch(word).group(1))
            out.parameters = _parameters(body, start, out.postconf_messages)
            section = "done"
        elif _CHECK_EXIT.fullmatch(word) and section == "postfix check":
            found = _CHECK_EXIT.fullmatch(word)
            out.check_exit, out.check_tty = int(found.group(1)), found.group(2) == "yes"
            out.check_messages = [m.strip() for m in body if m.strip()][:MAX_MESSAGES]
            section = "done"
        else:
            raise ParseError(f"line {n}: unexpected {shown(line)}")
    if out.postconf_exit is None or out.check_exit is None or out.running is None:
        raise ParseError(f"line {len(lines)}: the postconf, postfix check or running line "
                         "is missing")
    return out


def _parameters(lines: list[str], start: int, messages: list[str]) -> dict[str, str]:
    """`postconf -n`'s parameters; its messages (warnings, a fatal error) go to
    `messages`; anything else is a ParseError naming its line."""
    config = []
    for n, line in enumerate(lines, start=start):
        if _MESSAGE.fullmatch(line.strip()) and not re.match(r"[A-Za-z0-9_]+ =", line):
            if len(messages) < MAX_MESSAGES:
                messages.append(line.strip())
            config.append("")   # keep the numbering
            continue
        if line[:1] in (" ", "\t") and line.strip():
            raise ParseError(f"line {n}: postconf -n prints no continuation line: "
                             f"{shown(line)}")
        config.append(line)
    try:
        return parse_main_cf("\n".join(config)).effective()
    except ParseError as exc:
        found = re.match(r"line ([0-9]+): (.*)", str(exc))
        if not found:
            raise
        raise ParseError(f"line {int(found.group(1)) + start - 1}: {found.group(2)}") from None
