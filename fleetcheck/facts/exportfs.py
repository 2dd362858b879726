"""The kernel's export table: `exportfs -v`, on hosts that run the kernel NFS server.

Each export is `PATH<blanks>CLIENT(OPTS)`, or PATH alone on its line with the client
on the next, indented (a long path); `<world>` is every client. On a host without
kernel nfsd (no /proc/fs/nfsd/exports: e.g. nfs-ganesha) the table means nothing and
the fact says `active: false`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, brief, shown
from fleetcheck.facts.exports import Export, ExportClient, _options

NAME = "exportfs"
NO_NFSD = 100
CLIENT = re.compile(r"^(\S+?)\(([^()]*)\)$")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("if [ -e /proc/fs/nfsd/exports ]; then exportfs -v; "
                   "else echo 'no kernel nfsd' >&2; exit %s; fi", NO_NFSD)


@dataclass
class ExportTable:
    active: bool = True
    exports: list[Export] = field(default_factory=list)

    def clients(self, path: str) -> list[ExportClient]:
        return [c for e in self.exports if e.path == path for c in e.clients]


def parse(text: str) -> ExportTable:
    table = ExportTable()
    current: Export | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        words = line.split()
        if not line[0].isspace():
            if not words[0].startswith("/"):
                raise ParseError(f"line {n}: expected an export path, got {shown(line)}")
            current = Export(words[0], [], n)
            table.exports.append(current)
            words = words[1:]
        elif current is None:
            raise ParseError(f"line {n}: a client line before any export path")
        for word in words:
            m = CLIENT.match(word)
            if not m:
                raise ParseError(f"line {n}: expected CLIENT(OPTIONS), got {shown(word)}")
            host = "*" if m.group(1) == "<world>" else m.group(1)
            current.clients.append(ExportClient(host, _options(m.group(2), n)))
    for e in table.exports:
        if not e.clients:
            raise ParseError(f"line {e.line}: export {brief(e.path, 60)} has no client")
    return table


def from_result(rc: int, stdout: str, stderr: str) -> ExportTable:
    if rc == NO_NFSD:
        return ExportTable(active=False)
    if rc != 0:
        raise FactError(f"exportfs -v exited {rc}: {stderr.strip()[:200]}")
    return parse(stdout)
