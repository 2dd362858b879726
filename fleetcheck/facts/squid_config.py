"""Squid's own verdict on its configuration and the directives it read, in one round
trip: `squid -k parse -f CONFIG` (bounded by timeout(1), its output cut at 5000
lines) and whether the daemon runs.

`squid -k parse` reads the configuration as a start would (every `include`d file)
and logs, on stderr, one `Processing: DIRECTIVE` line per directive it read (comments
and continuations gone, the included files' in place), then its messages (`ERROR:`,
`WARNING:`, `FATAL:`, and the `Bungled` line of a directive it cannot read); it
exits non-zero on a fatal error (an unknown directive is an ERROR it goes on after).
The directives of the Processing lines are the configuration in effect: the acls and
http_access rules are read from them, not from the file.

Whether Squid runs: the process in the pid file `pid_filename` names (the last one in
the file, else Debian's /run/squid.pid) answers kill -0. Our lines:

    fleetcheck-squid: not installed            (no squid binary: the only line)
    fleetcheck-squid: config /etc/squid/squid.conf
    fleetcheck-squid: running yes|no
    fleetcheck-squid: parse
    <squid -k parse's output>
    fleetcheck-squid: exit N
    fleetcheck-squid: end

Text without our first line is `squid -k parse`'s output alone (a capture).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.squid import DEFAULTS, SquidConf, directive, settings

NAME = "squid_config"
MARK = "fleetcheck-squid: "
END = MARK + "end"
MAX_LINES = 5000
MAX_MESSAGES = 100
SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
command -v squid >/dev/null 2>&1 || {{ echo '{MARK}not installed'; exit 0; }}
conf="$1"
echo "{MARK}config $conf"
pf=$(sed -n 's/^[[:space:]]*pid_filename[[:space:]][[:space:]]*\\([^[:space:]]*\\).*/\\1/p' \
  "$conf" 2>/dev/null | tail -n 1)
[ -n "$pf" ] || pf=/run/squid.pid
pid=$(head -n 1 "$pf" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo '{MARK}running yes'
else echo '{MARK}running no'; fi
echo '{MARK}parse'
t=; command -v timeout >/dev/null 2>&1 && t="timeout 60"
out=$($t squid -k parse -f "$conf" 2>&1 </dev/null); rc=$?
[ -n "$out" ] && printf '%s\\n' "$out" | head -n {MAX_LINES}
echo "{MARK}exit $rc"
echo '{END}'
"""
# `2024/05/01 10:00:00| Processing: acl x src 10.0.0.0/8` (a kid's `kid1|` too)
_LOGGED = re.compile(r"(?:[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8}(?:\.[0-9]+)?(?: kid[0-9]+)?\| ?)?"
                     r"(.*)")
_PROCESSING = "Processing: "
_FILE = "Processing Configuration File: "
# Squid's errors: `ERROR: ...`, `FATAL: Bungled FILE line N: ...`, `FILE(N): unrecognized:
# 'name'` (an unknown directive: Squid goes on without it, and exits 1)
_ERROR = re.compile(r"(?:ERROR|FATAL)\b.*|\S{1,4096}\([0-9]{1,9}\): .*")
_WARNING = re.compile(r"(?:WARNING|UPGRADE WARNING)\b.*")
# what every run prints, and the statistics of a fatal exit
_NOISE = re.compile(r"Startup: .*|Initializing https:// proxy context|Not currently OK to "
                    r"rewrite swap log\.|storeDirWriteCleanLogs: .*|Squid Cache \(Version "
                    r"[^)]*\): Terminated abnormally\.|CPU Usage: .*|Maximum Resident Size: "
                    r".*|Page faults with physical i/o: .*")


def command(hostvars: Mapping[str, Any]) -> Command:
    conf = (settings(hostvars) or DEFAULTS)["config"]
    return Command("sh -c %s sh %s", SCRIPT, values.require(values.path, conf,
                                                             "proxy_squid.config"))


@dataclass
class SquidConfig:
    installed: bool = True
    config: str | None = None
    running: bool | None = None
    exit: int | None = None
    config_files: list[str] = field(default_factory=list)   # in the order read
    processed: list[str] = field(default_factory=list)   # each directive, as read
    errors: list[str] = field(default_factory=list)      # ERROR, FATAL, FILE(N): lines
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # any other line (ACL not found)

    @property
    def directives(self) -> SquidConf:
        """The processed directives (the configuration in effect)."""
        return SquidConf([directive(text, n) for n, text in enumerate(self.processed, 1)])

    @property
    def valid(self) -> bool:
        return self.exit == 0 and not self.errors


def parse(text: str) -> SquidConfig:
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES + 10:
        raise ParseError(f"line {MAX_LINES + 11}: more than {MAX_LINES} lines")
    if lines == [MARK + "not installed"]:
        return SquidConfig(installed=False)
    out = SquidConfig()
    if not lines or not lines[0].startswith(MARK):
        _output(lines, 1, out)
        return out
    if lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    body: list[str] | None = None
    start = 0
    for n, line in enumerate(lines[:-1], start=1):
        if body is not None and not line.startswith(MARK):
            body.append(line)
            continue
        if not line.startswith(MARK):
            raise ParseError(f"line {n}: a line before our first section: {shown(line)}")
        word = line[len(MARK):]
        if word.startswith("config ") and out.config is None:
            out.config = word[len("config "):]
        elif word in ("running yes", "running no") and out.running is None:
            out.running = word == "running yes"
        elif word == "parse" and body is None and out.exit is None:
            body, start = [], n + 1
        elif re.fullmatch(r"exit [0-9]{1,3}", word) and body is not None:
            out.exit = int(word.split()[1])
            _output(body, start, out)
            body = None
        else:
            raise ParseError(f"line {n}: unexpected {shown(line)}")
    if out.exit is None or out.running is None or out.config is None:
        raise ParseError(f"line {len(lines)}: the config, running or exit line is missing")
    return out


def _output(lines: list[str], start: int, out: SquidConfig) -> None:
    """squid -k parse's lines: the directives, the files read, the messages."""
    for n, line in enumerate(lines, start=start):
        text = _LOGGED.fullmatch(line).group(1).strip()
        if text.startswith(_PROCESSING):
            try:
                words = directive(text[len(_PROCESSING):], n).args
            except ParseError as exc:
                raise ParseError(f"line {n}: {str(exc).split(': ', 1)[1]}") from None
            name = text[len(_PROCESSING):].split()[0]
            if len(out.processed) < MAX_LINES:
                out.processed.append(" ".join([name, *words]))
        elif text.startswith(_FILE):
            out.config_files.append(re.sub(r" \(depth [0-9]+\)$", "", text[len(_FILE):]))
        elif not text or _NOISE.fullmatch(text):
            continue
        else:
            target = (out.errors if _ERROR.fullmatch(text) else
                      out.warnings if _WARNING.fullmatch(text) else out.notes)
            if len(target) < MAX_MESSAGES:
                target.append(text[:500])
