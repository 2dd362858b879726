"""DNS as the controller sees it: the inventory's nameservers asked directly.

These are not facts of a host (nothing runs on a host): the controller sends the
queries with dnspython. Every query goes to an address the inventory names as a
nameserver, master or slave (`DnsLayout.servers`), never to this machine's resolver,
and every query has a timeout. The judging functions are pure.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.xfr
import dns.zone

from fleetcheck.inventory import hostvars as hv

DEFAULT_TIMEOUT = 2.0      # one query
DEFAULT_SYNC_WAIT = 10.0   # how long a slave may take to follow its master (NOTIFY + IXFR)


class NotAllowed(RuntimeError):
    """A query to an address the inventory does not name as a nameserver."""


def address_of(entry) -> str | None:
    """The inventory address of a host if it is an IP address (ansible_host)."""
    value = hv.address(entry.vars, entry.name) or ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def fqdn(name: str, zone: str) -> str:
    """`web1` in zone `lab.test` is `web1.lab.test.`; a dotted name is taken as is."""
    name = name.rstrip(".")
    if "." not in name:
        name = f"{name}.{zone.rstrip('.')}"
    return name.lower() + "."


@dataclass
class DnsLayout:
    """What the inventory's `dns` var says, with the servers' addresses resolved
    through the inventory (never through DNS)."""

    zone: str
    reverse_zones: list[str]
    master: str | None
    master_address: str | None
    slaves: dict[str, str | None]          # name -> address
    nameservers: list[str]
    timeout: float = DEFAULT_TIMEOUT
    sync_wait: float = DEFAULT_SYNC_WAIT
    transfer_key: str | None = None

    @classmethod
    def from_vars(cls, dnsvars: Mapping[str, Any], fleet: Mapping[str, Any]) -> DnsLayout:
        def addr(name):
            entry = fleet.get(name)
            return address_of(entry) if entry is not None else None

        reverse = dnsvars.get("reverse_zones") or dnsvars.get("reverse_zone") or []
        master = dnsvars.get("master")
        return cls(
            zone=str(dnsvars.get("zone") or ""),
            reverse_zones=[str(z) for z in ([reverse] if isinstance(reverse, str) else reverse)],
            master=master, master_address=addr(master) if master else None,
            slaves={str(s): addr(s) for s in dnsvars.get("slaves") or []},
            nameservers=[str(a) for a in dnsvars.get("nameservers") or []],
            timeout=float(dnsvars.get("timeout", DEFAULT_TIMEOUT)),
            sync_wait=float(dnsvars.get("sync_wait", DEFAULT_SYNC_WAIT)),
            transfer_key=dnsvars.get("transfer_key"),
        )

    @property
    def servers(self) -> set[str]:
        out = set(self.nameservers)
        out |= {a for a in [self.master_address, *self.slaves.values()] if a}
        return out

    @property
    def zones(self) -> list[str]:
        return [z for z in [self.zone, *self.reverse_zones] if z]

    def reverse_zone_of(self, address: str) -> str | None:
        rname = dns.reversename.from_address(address)
        best = None
        for zone in self.reverse_zones:
            if rname.is_subdomain(dns.name.from_text(zone)):
                if best is None or len(zone) > len(best):
                    best = zone
        return best


@dataclass
class Answer:
    server: str
    rcode: str                       # NOERROR, NXDOMAIN, REFUSED, ... or TIMEOUT / ERROR
    values: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.rcode in ("NOERROR", "NXDOMAIN")

    def shown(self) -> str:
        return ", ".join(self.values) if self.values else self.rcode


class Probe:
    """Queries from the controller to the inventory's nameservers only."""

    def __init__(self, layout: DnsLayout, udp: Callable = dns.query.udp_with_fallback,
                 xfr: Callable = dns.query.inbound_xfr, sleep: Callable = time.sleep,
                 clock: Callable = time.monotonic):
        self.layout = layout
        self._udp, self._xfr, self._sleep, self._clock = udp, xfr, sleep, clock

    def _allowed(self, server: str) -> str:
        if server not in self.layout.servers:
            raise NotAllowed(f"{server} is not a nameserver of the inventory "
                             f"({', '.join(sorted(self.layout.servers))})")
        return server

    def ask(self, server: str, qname: str, rdtype: str) -> Answer:
        where = self._allowed(server)
        query = dns.message.make_query(qname, rdtype)
        query.flags &= ~dns.flags.RD                     # authoritative answers only
        try:
            response = self._udp(query, where, timeout=self.layout.timeout)
        except dns.exception.Timeout:
            return Answer(server, "TIMEOUT", error=f"no answer in {self.layout.timeout:g}s")
        except (OSError, dns.exception.DNSException) as exc:
            return Answer(server, "ERROR", error=str(exc))
        if isinstance(response, tuple):                   # udp_with_fallback
            response = response[0]
        wanted = dns.rdatatype.from_text(rdtype)
        values = sorted({rd.to_text().lower() for rrset in response.answer
                         if rrset.rdtype == wanted for rd in rrset})
        return Answer(server, dns.rcode.to_text(response.rcode()), values)

    def serial(self, server: str, zone: str) -> int | None:
        answer = self.ask(server, zone, "SOA")
        if answer.rcode != "NOERROR" or not answer.values:
            return None
        return int(answer.values[0].split()[2])

    def serials(self, zone: str) -> dict[str, int | None]:
        return {s: self.serial(s, zone) for s in sorted(self.layout.servers)}

    def wait_for_sync(self, servers: list[str], zones: list[str]) -> dict[str, Any]:
        """Wait (at most layout.sync_wait seconds) until each server serves the
        master's serial of each zone; returns the last serials seen."""
        master = self.layout.master_address
        deadline = self._clock() + self.layout.sync_wait
        while True:
            seen = {}
            behind = False
            for zone in zones:
                want = self.serial(master, zone) if master else None
                seen[zone] = {"master": want}
                for server in servers:
                    got = self.serial(server, zone)
                    seen[zone][server] = got
                    behind |= want is not None and got != want
            if not behind or self._clock() >= deadline:
                return seen
            self._sleep(0.5)

    def axfr(self, server: str, zone: str) -> Answer:
        """A zone transfer WITHOUT a TSIG key: REFUSED (or another failure) is good;
        the records received when it works."""
        where = self._allowed(server)
        target = dns.zone.Zone(zone)
        try:
            self._xfr(where, target, timeout=self.layout.timeout,
                      lifetime=self.layout.timeout * 5)
        except dns.xfr.TransferError as exc:
            return Answer(server, dns.rcode.to_text(exc.rcode))
        except dns.exception.Timeout:
            return Answer(server, "TIMEOUT", error="no transfer")
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            return Answer(server, "ERROR", error=str(exc) or type(exc).__name__)
        names = sorted(str(n) for n in target.nodes)
        return Answer(server, "NOERROR", names)


# ---------------------------------------------------------------- judging (pure)


def forward_reverse_problems(name: str, addresses: list[str],
                             forward: dict[str, dict[str, Answer]],
                             reverse: dict[str, dict[str, Answer]]) -> list[str]:
    """What is wrong with `name` <-> `addresses`, per nameserver.

    forward[server]["A"|"AAAA"] are the answers for the name; reverse[server][addr]
    the PTR answers for each address (inventoried, and any other A/AAAA the name has).
    """
    problems = []
    want_a = sorted(a for a in addresses if ipaddress.ip_address(a).version == 4)
    want_aaaa = sorted(a for a in addresses if ipaddress.ip_address(a).version == 6)
    for server, answers in forward.items():
        for rdtype, want in (("A", want_a), ("AAAA", want_aaaa)):
            answer = answers[rdtype]
            if not answer.ok:
                problems.append(f"{server}: {rdtype} {name}: {answer.rcode}"
                                + (f" ({answer.error})" if answer.error else ""))
            elif want and answer.values != want:
                problems.append(f"{server}: {rdtype} {name} is {answer.shown()}, "
                                f"expected {', '.join(want)}")
    for server, by_addr in reverse.items():
        for addr, answer in by_addr.items():
            if not answer.ok:
                problems.append(f"{server}: PTR {addr}: {answer.rcode}"
                                + (f" ({answer.error})" if answer.error else ""))
            elif answer.values != [name]:
                problems.append(f"{server}: PTR {addr} is {answer.shown()}, expected {name}")
    return problems


def reverse_name(address: str) -> str:
    return dns.reversename.from_address(address).to_text()
