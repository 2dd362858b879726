"""One DNS query sent FROM the host to one nameserver: `dig +time=T +tries=1
@SERVER -q NAME A` (BIND's dig; `-q` takes the name as the query name whatever it
looks like, `@` the server; both checked with their kinds first). A parametrized fact:
facts.get("dig", server=..., name=..., timeout=...).

What is read of dig's output: the header line `;; ->>HEADER<<- opcode: QUERY,
status: NOERROR, id: 4711` (the reply's rcode), the flags line (`aa` authoritative)
and the records of the ANSWER SECTION (`name ttl class type data`). No reply (dig
prints `;; connection timed out; no servers could be reached`, or `communications
error ... timed out` / `connection refused`, and exits 9) is status TIMEOUT (or
REFUSED_CONNECTION: nothing listens on port 53).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "dig"
MAX_LINES = 2000
_HEADER = re.compile(r";; ->>HEADER<<- opcode: (\w+), status: ([A-Z]+), id: \d+$")
_FLAGS = re.compile(r";; flags:([a-z ]*);")
_RECORD = re.compile(r"(\S+)\s+(\d+)\s+(IN|CH|HS)\s+([A-Z0-9]+)\s+(.*\S)\s*$")
_NO_REPLY = ("no servers could be reached", "timed out")


def command(hostvars: Mapping[str, Any], server: str = "", name: str = "",
            timeout: int = 2) -> Command:
    try:
        server = values.host(server, "the nameserver")
        name = values.dns_name(name, "the name asked")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    seconds = max(1, min(10, int(timeout)))
    return Command(f"dig +time={seconds} +tries=1 %s -q %s A", f"@{server}", name)


@dataclass
class Record:
    name: str
    type: str
    data: str


@dataclass
class Reply:
    status: str                       # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... TIMEOUT
    authoritative: bool = False
    answers: list[Record] = field(default_factory=list)

    @property
    def replied(self) -> bool:
        return self.status not in ("TIMEOUT", "REFUSED_CONNECTION")

    @property
    def addresses(self) -> list[str]:
        return [r.data for r in self.answers if r.type in ("A", "AAAA")]


def parse(text: str) -> Reply:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    reply, section = None, None
    for n, line in enumerate(lines, start=1):
        if not line.isprintable() and "\t" not in line:
            raise ParseError(f"line {n}: a control character in {shown(line)}")
        header = _HEADER.match(line)
        if header:
            if reply is not None:
                raise ParseError(f"line {n}: a second reply header")
            reply = Reply(header.group(2))
            continue
        flags = _FLAGS.match(line)
        if flags and reply is not None:
            reply.authoritative = "aa" in flags.group(1).split()
            continue
        if line.startswith(";; ") and line.endswith(" SECTION:"):
            section = line[3:-len(" SECTION:")]
            continue
        if not line.strip():
            section = None
            continue
        if section == "ANSWER" and not line.startswith(";"):
            record = _RECORD.match(line)
            if record is None or reply is None:
                raise ParseError(f"line {n}: not a resource record: {shown(line)}")
            reply.answers.append(Record(record.group(1), record.group(4), record.group(5)))
    if reply is not None:
        return reply
    if any("connection refused" in line for line in lines):
        return Reply("REFUSED_CONNECTION")
    if any(marker in line for line in lines for marker in _NO_REPLY):
        return Reply("TIMEOUT")
    raise ParseError(f"line {max(len(lines), 1)}: neither a reply header nor 'no servers "
                     "could be reached' (not dig's output?)")


def from_result(rc: int, stdout: str, stderr: str, **params: Any) -> Reply:
    if rc in (0, 9):        # 9: no reply from the server
        return parse(stdout + stderr)
    raise FactError(f"dig exited {rc}: {(stderr or stdout).strip()[-200:]}")
