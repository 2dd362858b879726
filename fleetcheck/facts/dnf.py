"""Pending updates on dnf and yum hosts: `dnf -C check-update` / `yum -C check-update`
(add `--security` for the security subset: the same format).

Rows are `NAME.ARCH  [EPOCH:]VERSION-RELEASE  REPO`; a long name wraps, the rest of
its row then on the next line, indented. Before the rows come messages (`Last
metadata expiration check: ...`, `Loaded plugins: ...`, ` * base: mirror`, repo
download lines with `|`); after them an `Obsoleting Packages` section whose indented
lines are the packages being replaced. Exit status 100 means "updates available",
0 none, anything else an error. `-C` keeps the audit on the metadata cache (no
network); the check refreshes first only when the inventory allows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "dnf"
MESSAGE = re.compile(
    r"^(Last metadata expiration check|Loaded plugins|Loading mirror speeds|"
    r"Updating Subscription Management|Security:|Not using downloaded|Repository .* is "
    r"listed more than once|Failed to set locale|This system is|Determining fastest "
    r"mirrors|Limiting package lists|Importing GPG key|No packages marked|"
    r"\d+ package\(s\) needed for security|Metadata cache created|Waiting for process)")
PACKAGE = re.compile(r"^[^\s.]\S*\.[A-Za-z0-9_]+$")
# [EPOCH:]VERSION-RELEASE: the '-' is looked for apart (`[^\s:]+-[^\s:]+$` backtracked
# over every '-' of a hostile word: quadratic)
VERSION = re.compile(r"(?:\d+:)?([^\s:]+)")


def command(hostvars: Mapping[str, Any], manager: str = "dnf", security: bool = False,
            cache_only: bool = True) -> Command:
    if manager not in ("dnf", "yum"):
        raise FactError(f"not a dnf/yum manager: {manager!r}")
    return Command("%s" + (" -C" if cache_only else "") + " check-update"
                   + (" --security" if security else ""), manager)


@dataclass
class DnfUpdate:
    name: str
    arch: str
    version: str
    repo: str


@dataclass
class DnfCheckUpdate:
    updates: list[DnfUpdate] = field(default_factory=list)
    obsoleting: list[DnfUpdate] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _row(words: list[str], n: int, line: str) -> DnfUpdate:
    nevra, version, repo = words
    evr = VERSION.fullmatch(version)
    if not PACKAGE.match(nevra) or not evr or "-" not in evr[1][1:-1]:
        raise ParseError(f"line {n}: expected 'NAME.ARCH VERSION REPO', got {shown(line)}")
    name, _, arch = nevra.rpartition(".")
    return DnfUpdate(name, arch, version, repo)


def parse(text: str) -> DnfCheckUpdate:
    out = DnfCheckUpdate()
    section = out.updates
    pending: list[str] = []
    pending_line = 0
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if pending:
            words = pending + stripped.split()
            if len(words) != 3:
                raise ParseError(f"line {n}: the wrapped row of line {pending_line} does not "
                                 f"complete: {shown(line)}")
            section.append(_row(words, pending_line, " ".join(words)))
            pending = []
            continue
        if stripped.startswith("Obsoleting Packages"):
            section = out.obsoleting
            continue
        if section is out.obsoleting and line[0].isspace():
            continue  # the package being obsoleted
        if MESSAGE.match(stripped) or line.startswith(" * ") or "|" in line:
            out.messages.append(stripped)
            continue
        words = stripped.split()
        if len(words) == 3:
            section.append(_row(words, n, line))
        elif len(words) in (1, 2) and PACKAGE.match(words[0]):
            pending, pending_line = words, n
        else:
            raise ParseError(f"line {n}: expected 'NAME.ARCH VERSION REPO', got {shown(line)}")
    if pending:
        raise ParseError(f"line {pending_line}: a wrapped row is cut off at the end")
    return out


def from_result(rc: int, stdout: str, stderr: str, **params: Any) -> DnfCheckUpdate:
    if rc not in (0, 100):
        detail = (stderr or stdout).strip().splitlines()
        raise FactError(f"check-update exited {rc}" + (f": {detail[-1]}" if detail else ""))
    result = parse(stdout)
    if rc == 100 and not result.updates and not result.obsoleting:
        raise FactError("check-update exited 100 (updates available) but listed none")
    return result
