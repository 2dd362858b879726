"""The main routing table: `ip -j -4 route show table main` then `ip -j -6 route show
table main` (iproute2's JSON: one array per family, one object per route: `dst`
(`default`, a network, or a host address without its /32), `gateway`, `dev`,
`protocol`, `scope`, `metric`, `type` when not unicast (blackhole, unreachable,
prohibit), `nexthops` for a multipath route). A kernel without IPv6 prints nothing for
the second. Another system's single array (plain `ip -j route`) parses too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.ip_addr import load_json_arrays

NAME = "ip_route"
MAX_ROUTES = 100_000
SCRIPT = ("ip -j -4 route show table main || exit\n"
          "ip -j -6 route show table main 2>/dev/null\nexit 0\n")
FAMILIES = ("inet", "inet6")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Hop:
    gateway: str | None
    dev: str | None


@dataclass
class Route:
    family: str                 # inet, inet6
    dst: str                    # default, or a network with its prefix (10.0.0.0/8)
    type: str = "unicast"
    hops: list[Hop] = field(default_factory=list)
    protocol: str | None = None
    metric: int | None = None

    @property
    def default(self) -> bool:
        return self.dst == "default"

    def shown(self) -> str:
        text = self.dst if self.type == "unicast" else f"{self.type} {self.dst}"
        for hop in self.hops:
            text += (f" via {hop.gateway}" if hop.gateway else "") + \
                (f" dev {hop.dev}" if hop.dev else "")
        return text


@dataclass
class Routes:
    routes: list[Route] = field(default_factory=list)

    @property
    def defaults(self) -> list[Route]:
        return [r for r in self.routes if r.default and r.type == "unicast"]


def _text(obj: Mapping, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)           # an unnamed protocol number (186)
    if not isinstance(value, str) or not value.isprintable() or len(value) > 128:
        raise ParseError(f"{where}: {key} must be a printable string, got {shown(value)}")
    return value


def _addr(text: str | None, where: str, key: str) -> ipaddress._BaseAddress | None:
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ParseError(f"{where}: {key} is not an IP address: {shown(text)}") from None


def _dst(text: str, where: str) -> tuple[str, str | None]:
    """(the destination as a network, its family) of `dst`."""
    if text == "default":
        return text, None
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ParseError(f"{where}: dst is not `default` or a network: {shown(text)}") from None
    return str(net), "inet" if net.version == 4 else "inet6"


def _hops(obj: Mapping, where: str) -> list[Hop]:
    listed = obj.get("nexthops")
    if listed is None:
        return [Hop(str(_addr(_text(obj, "gateway", where), where, "gateway") or "") or None,
                    _text(obj, "dev", where))]
    if not isinstance(listed, list):
        raise ParseError(f"{where}: nexthops must be a list: {shown(listed)}")
    hops = []
    for hop in listed:
        if not isinstance(hop, dict):
            raise ParseError(f"{where}: a nexthop is not an object: {shown(hop)}")
        gw = _addr(_text(hop, "gateway", where), where, "gateway")
        hops.append(Hop(str(gw) if gw else None, _text(hop, "dev", where)))
    return hops


def parse(text: str) -> Routes:
    out = Routes()
    arrays = load_json_arrays(text, "routes (ip -j route)")
    if len(arrays) > 2:
        raise ParseError(f"line 1: {len(arrays)} JSON arrays (expected IPv4's, then IPv6's)")
    for index, array in enumerate(arrays):
        for obj in array:
            where = f"line 1: route {len(out.routes) + 1}"
            if not isinstance(obj, dict):
                raise ParseError(f"{where}: not an object: {shown(obj)}")
            if len(out.routes) >= MAX_ROUTES:
                raise ParseError(f"{where}: more than {MAX_ROUTES} routes")
            dst = _text(obj, "dst", where)
            if dst is None:
                raise ParseError(f"{where}: no dst: {shown(obj)}")
            dst, family = _dst(dst, where)
            hops = _hops(obj, where)
            gateways = [ipaddress.ip_address(h.gateway) for h in hops if h.gateway]
            if family is None:
                family = ("inet" if gateways[0].version == 4 else "inet6") if gateways \
                    else FAMILIES[index]
            metric = obj.get("metric")
            if metric is not None and (isinstance(metric, bool) or not isinstance(metric, int)
                                       or not 0 <= metric < 2**32):
                raise ParseError(f"{where}: metric must be a number: {shown(metric)}")
            out.routes.append(Route(family, dst, _text(obj, "type", where) or "unicast",
                                    hops, _text(obj, "protocol", where), metric))
    return out


def same_dst(route: Route, declared: str) -> bool:
    if declared == "default" or route.default:
        return declared == route.dst
    return ipaddress.ip_network(route.dst) == ipaddress.ip_network(declared, strict=False)


def matches(route: Route, declared: Mapping[str, Any]) -> bool:
    """The route is the declared one: its destination, type, and (when declared) a hop
    through that gateway and device."""
    if not same_dst(route, str(declared["to"])):
        return False
    if route.type != str(declared.get("type") or "unicast"):
        return False
    via, dev = declared.get("via"), declared.get("dev")
    return any((via is None or (h.gateway is not None and ipaddress.ip_address(h.gateway)
                                == ipaddress.ip_address(str(via))))
               and (dev is None or h.dev == str(dev)) for h in route.hops)
