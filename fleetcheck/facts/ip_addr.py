"""The host's interfaces with their state, MTU and addresses: `ip -j addr show`
(iproute2's JSON, one object per link: `ifname`, `flags`, `mtu`, `operstate`,
`addr_info` [{family, local, prefixlen, ...}]), and the vars of the whole network area
(net.interfaces, net.routes, net.resolvers, net.hostname: their schema and value kinds
are declared here; net.listening's are in fleetcheck.facts.listening).

`flags` are the kernel's IFF_* names: UP is the administrative state (`ip link set
dev X up`), LOWER_UP the carrier; NO-CARRIER shows an UP link without it. `operstate`
is RFC 2863's (UP, DOWN, LOWERLAYERDOWN, DORMANT, UNKNOWN: a loopback or a driver that
does not report it). iproute2 before 5.x printed an empty object `{}` after some
links with --brief: such objects are skipped.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "ip_addr"
MAX_CHARS = 4_000_000
MAX_LINKS = 10_000
IFNAME = re.compile(r"[^\s/:]{1,15}")     # the kernel's dev_valid_name, at most IFNAMSIZ-1


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("ip -j addr show")


@dataclass
class Address:
    family: str           # inet, inet6
    local: str            # 10.0.0.5
    prefixlen: int

    @property
    def cidr(self) -> str:
        return f"{self.local}/{self.prefixlen}"


@dataclass
class Link:
    name: str
    flags: list[str] = field(default_factory=list)
    mtu: int | None = None
    operstate: str = "UNKNOWN"
    addresses: list[Address] = field(default_factory=list)

    @property
    def admin_up(self) -> bool:
        return "UP" in self.flags

    @property
    def carrier(self) -> bool:
        """A carrier: LOWER_UP, and an operational state that is not down."""
        return ("LOWER_UP" in self.flags and "NO-CARRIER" not in self.flags
                and self.operstate not in ("DOWN", "LOWERLAYERDOWN", "NOTPRESENT"))

    def has_address(self, cidr: str) -> bool:
        want = ipaddress.ip_interface(cidr)
        return any(ipaddress.ip_interface(a.cidr) == want for a in self.addresses)


@dataclass
class IpAddr:
    links: list[Link] = field(default_factory=list)

    def link(self, name: str) -> Link | None:
        return next((lk for lk in self.links if lk.name == name), None)


def load_json_arrays(text: str, what: str) -> list[list[Any]]:
    """One or more JSON arrays one after another (blanks between), as `ip -j` prints
    them: a ParseError naming the line on anything else."""
    if len(text) > MAX_CHARS:
        raise ParseError(f"line 1: {len(text)} characters of {what} (at most {MAX_CHARS})")
    decoder, arrays, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            break
        line = text.count("\n", 0, i) + 1
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise ParseError(f"line {exc.lineno}: not JSON ({exc.msg}): {what}") from None
        except (RecursionError, ValueError):   # nested too deep, a number too long
            raise ParseError(f"line {line}: JSON nested too deep or a number too long: "
                             f"{what}") from None
        if not isinstance(value, list):
            raise ParseError(f"line {line}: expected a JSON array of {what}, got "
                             f"{type(value).__name__}")
        arrays.append(value)
    if not arrays:
        raise ParseError(f"line 1: no output (expected a JSON array of {what})")
    return arrays


def _str(obj: Mapping, key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or not value.isprintable() or len(value) > 256:
        raise ParseError(f"{where}: {key} must be a printable string, got {shown(value)}")
    return value


def _int(obj: Mapping, key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ParseError(f"{where}: {key} must be a number, got {shown(value)}")
    return value


def _address(info: Any, where: str) -> Address | None:
    if not isinstance(info, dict):
        raise ParseError(f"{where}: an addr_info entry is not an object: {shown(info)}")
    family = info.get("family")
    if family not in ("inet", "inet6"):
        return None          # a link-layer or other family ip may list
    local = _str(info, "local", where)
    prefixlen = _int(info, "prefixlen", where)
    try:
        addr = ipaddress.ip_address(local)
    except ValueError:
        raise ParseError(f"{where}: local is not an IP address: {shown(local)}") from None
    if prefixlen is None or prefixlen > addr.max_prefixlen:
        raise ParseError(f"{where}: bad prefixlen {shown(prefixlen)} for {local}")
    return Address(family, local, prefixlen)


def parse(text: str) -> IpAddr:
    out = IpAddr()
    for array in load_json_arrays(text, "links (ip -j addr)"):
        for obj in array:
            where = f"line 1: link {len(out.links) + 1}"
            if obj == {}:
                continue
            if not isinstance(obj, dict):
                raise ParseError(f"{where}: not an object: {shown(obj)}")
            if len(out.links) >= MAX_LINKS:
                raise ParseError(f"{where}: more than {MAX_LINKS} links")
            name = _str(obj, "ifname", where)
            flags = obj.get("flags", [])
            if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
                raise ParseError(f"{where}: flags must be a list of names: {shown(flags)}")
            infos = obj.get("addr_info", [])
            if not isinstance(infos, list):
                raise ParseError(f"{where}: addr_info must be a list: {shown(infos)}")
            addresses = [a for a in (_address(i, f"{where} ({brief_name(name)})")
                                     for i in infos) if a is not None]
            out.links.append(Link(name, list(flags), _int(obj, "mtu", where),
                                  _str(obj, "operstate", where, "UNKNOWN"), addresses))
    return out


def brief_name(name: str) -> str:
    return name if IFNAME.fullmatch(name) else shown(name, 20)


# -- the vars of the area ------------------------------------------------------------------

def ifname(value: Any, what: str = "the interface name") -> str:
    """A network interface name as the kernel takes it: 1-15 characters, no blank, '/'
    or ':', never an option (it reaches `ip link set dev NAME up`)."""
    text = values.word(value, what)
    if not IFNAME.fullmatch(text) or text in (".", ".."):
        raise values.UnsafeValue(f"{what} must be an interface name (1-15 characters, no "
                                 f"blank, '/' or ':'), got {shown(text)}")
    return text


def cidr(value: Any, what: str = "the address") -> str:
    """An interface address with its prefix length: 10.0.0.5/24, 2001:db8::5/64."""
    text = values.text(value, what, max_len=64)
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        raise values.UnsafeValue(f"{what} must be an address with its prefix length "
                                 f"(10.0.0.5/24), got {shown(text)}") from None
    if "/" not in text:
        raise values.UnsafeValue(f"{what} needs its prefix length (/24), got {shown(text)}")
    return text


def network(value: Any, what: str = "the destination") -> str:
    """A route's destination: `default` or a network (10.0.0.0/8, 2001:db8::/32)."""
    text = values.text(value, what, max_len=64)
    if text == "default":
        return text
    try:
        ipaddress.ip_network(text)
    except ValueError:
        raise values.UnsafeValue(f"{what} must be `default` or a network with its prefix "
                                 f"(10.0.0.0/8; host bits zero), got {shown(text)}") from None
    return text


def ip(value: Any, what: str = "the address") -> str:
    text = values.text(value, what, max_len=64)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise values.UnsafeValue(f"{what} must be an IP address, got {shown(text)}") from None
    return text


ROUTE_TYPES = ("unicast", "blackhole", "unreachable", "prohibit")

VALUE_KINDS = {
    "net_interfaces{}": ifname,
    "net_interfaces.*.addresses[]": cidr,
    "net_routes.routes[].to": network,
    "net_routes.routes[].via": ip,
    "net_routes.routes[].dev": ifname,
    "net_resolvers.nameservers[]": ip,
    "net_resolvers.path": values.path,
    "net_resolvers.name": values.dns_name,
    "net_hostname.domain": values.dns_name,
}

VARS = {
    "net_interfaces": {
        "type": "object",
        "description": "net.interfaces: interface -> what it must be (`ip -j addr`); "
                       "null: not judged",
        "x-expected": "a mapping of interface: {state, addresses, mtu}",
        "x-key": "an interface name (eth0, bond0, ens3)",
        "patternProperties": {r"^[^\s/:]{1,15}$": {
            "type": ["object", "null"], "description": "one declared interface",
            "properties": {
                "state": {"enum": ["up", "down"], "default": "up",
                          "description": "up: administratively up with a carrier; down: "
                                         "administratively down (an unused port)"},
                "addresses": {"type": "array", "default": [],
                              "items": {"type": "string", "description": "an address with "
                                        "its prefix length (10.0.0.5/24)"},
                              "x-expected": "a list of addresses (like [10.0.0.5/24])",
                              "description": "addresses it must hold (others may be there "
                                             "too)"},
                "mtu": {"type": "integer", "minimum": 68, "maximum": 65536,
                        "description": "its MTU (9000 for jumbo frames)"},
            },
            "additionalProperties": False}},
        "additionalProperties": False,
    },
    "net_routes": {
        "type": "object",
        "description": "net.routes: the main routing table (`ip -j route`); null: not judged",
        "properties": {
            "default": {"type": "boolean", "default": True,
                        "description": "a default route (IPv4 or IPv6) must be present"},
            "routes": {
                "type": "array", "default": [],
                "description": "routes that must be present (--remediate adds a missing "
                               "one at runtime: `ip route replace`)",
                "items": {"type": "object", "description": "one declared route",
                          "required": ["to"],
                          "properties": {
                              "to": {"type": "string", "description": "the destination: a "
                                     "network (10.20.0.0/16) or `default`"},
                              "via": {"type": "string", "description": "the gateway"},
                              "dev": {"type": "string", "description": "the interface"},
                              "type": {"enum": list(ROUTE_TYPES), "default": "unicast",
                                       "description": "the route type (blackhole: a null "
                                       "route, no gateway)"}},
                          "additionalProperties": False},
                "x-expected": "a list of {to, via, dev, type}"},
        },
        "additionalProperties": False,
    },
    "net_resolvers": {
        "type": "object",
        "description": "net.resolvers: /etc/resolv.conf and its nameservers, asked from the "
                       "host (dig); null: not judged",
        "properties": {
            "nameservers": {"type": "array", "items": {"type": "string", "description":
                            "a nameserver address"}, "x-expected": "a list of addresses",
                            "description": "nameservers resolv.conf must list among the "
                            "first three (glibc's MAXNS); unset: dns.nameservers"},
            "minimum": {"type": "integer", "minimum": 0, "maximum": 3, "default": 1,
                        "description": "resolv.conf lists at least this many nameservers"},
            "answer": {"enum": ["each", "one", None], "default": None,
                       "description": "each: every nameserver resolv.conf uses answers a "
                       "query from the host; one: at least one does; null: none is asked"},
            "own_name": {"type": "boolean", "default": False,
                         "description": "the answer must hold an address of the host's own "
                         "name (`<host>.<dns.zone>`), not only a reply"},
            "name": {"type": "string", "description": "the name asked (default: the "
                     "inventory name in dns.zone, else `hostname -f`'s)"},
            "timeout": {"type": "integer", "minimum": 1, "maximum": 10, "default": 2,
                        "description": "seconds per query (one try each)"},
            "path": {"type": "string", "default": "/etc/resolv.conf",
                     "description": "the resolver configuration read"},
        },
        "additionalProperties": False,
    },
    "net_hostname": {
        "type": "object",
        "description": "net.hostname: the host's name (`hostname`, `hostname -f`, "
                       "/etc/hostname); null: not judged",
        "properties": {
            "match_inventory": {"type": "boolean", "default": True,
                                "description": "the hostname is the inventory name (its "
                                "first label; not judged for `localhost` or an address)"},
            "fqdn": {"type": "boolean", "default": True,
                     "description": "`hostname -f` is fully qualified (has a domain)"},
            "domain": {"type": "string", "description": "the domain `hostname -f` ends "
                       "with (default: dns.zone)"},
        },
        "additionalProperties": False,
    },
}
