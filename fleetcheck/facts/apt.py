"""Pending updates on apt hosts: `apt-get -s upgrade` (simulated; what the fix would do).

The simulation writes nothing: no package cache files (Dir::Cache::pkgcache and
srcpkgcache set empty) and no solver log (Dir::Log::Planner /dev/null), so an audit
leaves /var as it found it. Each upgrade is an `Inst` line:

    Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64]) []

`[OLD]` is the installed version (absent for a new package), then the candidate
version and the releases it comes from as `Label:Version/Suite`, comma-separated.
An update counts as a security update when one of its suites is a `-security` suite
(Debian, Ubuntu) or its label ends in `Security`; the check can name more suites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "apt"
# Every quantifier below stops at a character the next part needs, so a hostile line
# costs linear time (a lazy `(.*?)\s*\[` before the arch was quadratic in the length
# of a line of '[' or blanks). The releases hold no '[' (`Label:Version/Suite, ...`).
INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) ([^\[\]]*)\[([^\]]+)\]\)"
                  r"(?: \[.*\])?$")
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
    not_upgraded: int = 0

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
    for n, line in enumerate(text.splitlines(), start=1):
        if line.startswith("Inst "):
            m = INST.match(line)
            if not m:
                raise ParseError(f"line {n}: cannot read the Inst line {shown(line)}")
            name, current, candidate, releases, arch = m.groups()
            sim.upgrades.append(AptUpgrade(name, current, candidate, arch,
                                           _releases(releases.rstrip(), n)))
            continue
        m = SUMMARY.match(line)
        if m:
            sim.upgraded, sim.newly_installed, sim.to_remove, sim.not_upgraded = (
                to_int(v, f"line {n}") for v in m.groups())
            summary_seen = True
    if not summary_seen:
        last = len(text.splitlines())
        raise ParseError(f"line {last}: no 'N upgraded, N newly installed, ...' summary "
                         "(truncated, or not apt-get -s output)")
    if sim.upgraded + sim.newly_installed != len(sim.upgrades):
        raise ParseError(f"line {len(text.splitlines())}: the summary says "
                         f"{sim.upgraded + sim.newly_installed} to install, the Inst lines "
                         f"{len(sim.upgrades)} (truncated?)")
    return sim
