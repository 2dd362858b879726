"""Pending updates on apt hosts: `apt-get -s upgrade` (simulated; what the fix would do).

The simulation writes nothing: no package cache files (Dir::Cache::pkgcache and
srcpkgcache set empty) and no solver log (Dir::Log::Planner /dev/null), so an audit
leaves /var as it found it. Each upgrade is an `Inst` line:

    Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64]) []

`[OLD]` is the installed version (absent for a new package), then the candidate
version and the releases it comes from as `Label:Version/Suite`, comma-separated.
`apt-get -s -qq upgrade` prints only these lines (and `Conf NAME (...)`, `Remv NAME
[OLD]`): no preamble and, by design of -qq, no summary; its counts are then those of
the lines (an Inst with an [OLD] version is an upgrade, without one a new package,
a Remv a removal) and `not_upgraded` is null (-qq does not say what was kept back).
Such an output is whole when every package installed is also configured (each Inst
has its Conf): a cut capture is a ParseError, as a summary that does not match is.

An update counts as a security update when one of its suites is a `-security` suite
(Debian, Ubuntu) or its label ends in `Security`; the check can name more suites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown, to_int

NAME = "apt"
# Every quantifier below stops at a character the next part needs, so a hostile line
# costs linear time (a lazy `(.*?)\s*\[` before the arch was quadratic in the length
# of a line of '[' or blanks). The releases hold no '[' (`Label:Version/Suite, ...`).
INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) ([^\[\]]*)\[([^\]]+)\]\)"
                  r"(?: \[.*\])?$")
CONF = re.compile(r"^Conf (\S+) \(")
REMOVE = re.compile(r"^(?:Remv|Purg) (\S+)(?: \[[^\]]*\])?(?: \[.*\])?$")
SUMMARY = re.compile(r"^([0-9]+) upgraded, ([0-9]+) newly installed, ([0-9]+) to remove and "
                     r"([0-9]+) not upgraded\.$")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("LC_ALL=C apt-get -s -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "
                   "-o Dir::Log::Planner=/dev/null upgrade")


@dataclass
class AptRelease:
    label: str
    version: str
    suite: str


@dataclass
class AptUpgrade:
    name: str
    current: str | None
    candidate: str
    arch: str
    releases: list[AptRelease] = field(default_factory=list)

    def security(self, suites: Iterable[str] = ()) -> bool:
        extra = set(suites)
        return any(r.suite in extra or r.suite.endswith("-security")
                   or r.label.endswith("Security") for r in self.releases)


@dataclass
class AptSimulation:
    upgrades: list[AptUpgrade] = field(default_factory=list)
    upgraded: int = 0
    newly_installed: int = 0
    to_remove: int = 0
    not_upgraded: int | None = 0  # null: not printed (apt-get -qq has no summary)

    def security(self, suites: Iterable[str] = ()) -> list[AptUpgrade]:
        suites = list(suites)
        return [u for u in self.upgrades if u.security(suites)]


def _releases(text: str, n: int) -> list[AptRelease]:
    out = []
    for part in text.split(", "):
        # Label:Version/Suite: the first ':', then the first '/', a suite without blanks
        label, colon, rest = part.strip().partition(":")
        version, slash, suite = rest.partition("/")
        if not (colon and slash and suite) or any(c.isspace() for c in suite):
            raise ParseError(f"line {n}: expected 'Label:Version/Suite', got {shown(part)}")
        out.append(AptRelease(label, version, suite))
    return out


def parse(text: str) -> AptSimulation:
    sim = AptSimulation()
    summary_seen = False
    other = None  # (line number, text) of the first line that is not Inst/Conf/Remv
    configured: set[str] = set()
    removed = 0
    lines = text.splitlines()
    for n, line in enumerate(lines, start=1):
        if line.startswith("Inst "):
            m = INST.match(line)
            if not m:
                raise ParseError(f"line {n}: cannot read the Inst line {shown(line)}")
            name, current, candidate, releases, arch = m.groups()
            sim.upgrades.append(AptUpgrade(name, current, candidate, arch,
                                           _releases(releases.rstrip(), n)))
            continue
        conf = CONF.match(line)
        if conf:
            configured.add(conf[1])
            continue
        if REMOVE.match(line):
            removed += 1
            continue
        m = SUMMARY.match(line)
        if m:
            sim.upgraded, sim.newly_installed, sim.to_remove, sim.not_upgraded = (
                to_int(v, f"line {n}") for v in m.groups())
            summary_seen = True
        elif other is None and line.strip():
            other = (n, line)
    if not summary_seen:
        if other is not None:  # apt-get without -qq: its summary is missing
            raise ParseError(f"line {len(lines)}: no 'N upgraded, N newly installed, ...' "
                             "summary (truncated, or not apt-get -s output)")
        return _quiet(sim, configured, removed, len(lines))
    if sim.upgraded + sim.newly_installed != len(sim.upgrades):
        raise ParseError(f"line {len(lines)}: the summary says "
                         f"{sim.upgraded + sim.newly_installed} to install, the Inst lines "
                         f"{len(sim.upgrades)} (truncated?)")
    return sim


def _quiet(sim: AptSimulation, configured: set[str], removed: int,
           last: int) -> AptSimulation:
    """`apt-get -s -qq` output (only Inst/Conf/Remv lines): the counts from the lines."""
    unconfigured = [u.name for u in sim.upgrades if u.name not in configured]
    if unconfigured:
        raise ParseError(f"line {last}: {shown(unconfigured[0])} is installed but never "
                         f"configured ({len(unconfigured)} without their Conf line): "
                         "truncated apt-get -s -qq output?")
    sim.upgraded = sum(1 for u in sim.upgrades if u.current is not None)
    sim.newly_installed = len(sim.upgrades) - sim.upgraded
    sim.to_remove = removed
    sim.not_upgraded = None
    return sim


def from_result(rc: int, stdout: str, stderr: str) -> AptSimulation:
    """The fact's own command is `apt-get -s upgrade` without -qq: it must exit 0 and
    end with its summary (an output without one was cut, not quiet)."""
    if rc != 0:
        detail = (stderr or stdout).strip().splitlines()
        raise FactError(f"`{command({}).render()}` exited {rc}"
                        + (f": {detail[-1]}" if detail else ""))
    sim = parse(stdout)
    if sim.not_upgraded is None:
        raise FactError("apt-get -s upgrade printed no 'N upgraded, ...' summary "
                        "(its output was cut?)")
    return sim
