"""The resolver's configuration, /etc/resolv.conf (or the file the var
`net_resolvers.path` names), read as glibc's res_init reads it (resolv.conf(5)):

- `nameserver ADDR`: up to three are used (MAXNS), in order; an address glibc cannot
  read is skipped (kept in `invalid`, with its line);
- `search D...` / `domain D`: the last of them wins;
- `options ...`: kept as words (timeout:1, attempts:2, rotate, edns0);
- a line starting with `#` or `;` is a comment; any other line is ignored by glibc
  (kept in `unknown`).

The text must be text: a NUL or a control character other than a tab, or more than
MAX_LINES lines, is a ParseError.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "resolv_conf"
DEFAULT_PATH = "/etc/resolv.conf"
MAXNS = 3
MAX_LINES = 5000
MAX_LINE = 4096


def path_of(hostvars: Mapping[str, Any]) -> str:
    conf = hostvars.get("net_resolvers")
    chosen = conf.get("path") if isinstance(conf, Mapping) else None
    try:
        return values.path(chosen or DEFAULT_PATH, "net_resolvers.path")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat -- %s", path_of(hostvars))


@dataclass
class ResolvConf:
    nameservers: list[str] = field(default_factory=list)     # every valid one, in order
    search: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)         # "line N: nameserver X"
    unknown: list[int] = field(default_factory=list)         # line numbers glibc ignores

    @property
    def used(self) -> list[str]:
        """The nameservers glibc asks: the first three."""
        return self.nameservers[:MAXNS]


def _address(word: str) -> str | None:
    try:
        return str(ipaddress.ip_address(word.split("%", 1)[0]))
    except ValueError:
        return None


def parse(text: str) -> ResolvConf:
    out = ResolvConf()
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    for n, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
        bad = next((c for c in line if c != "\t" and not c.isprintable()), None)
        if bad is not None:
            raise ParseError(f"line {n}: a control character {bad!r}: {shown(line)}")
        words = line.split()
        if not words or words[0][0] in "#;":
            continue
        key, rest = words[0], words[1:]
        if key == "nameserver":
            addr = _address(rest[0]) if rest else None
            if addr is None:
                out.invalid.append(f"line {n}: {shown(line.strip(), 60)}")
            else:
                out.nameservers.append(addr)
        elif key in ("search", "domain"):
            out.search = rest if key == "search" else rest[:1]
        elif key == "options":
            out.options.extend(rest)
        elif key not in ("sortlist",):
            out.unknown.append(n)
    return out


def resolver_settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`net_resolvers` with its nameservers defaulting to dns.nameservers (None: the
    var is null, not judged)."""
    conf = hostvars.get("net_resolvers")
    if not isinstance(conf, Mapping):
        return None
    out = dict(conf)
    if not out.get("nameservers"):
        dns = hostvars.get("dns")
        out["nameservers"] = list((dns.get("nameservers") if isinstance(dns, Mapping)
                                   else None) or [])
    return out


def queried_name(hostvars: Mapping[str, Any], inventory_name: str, names: Any = None) -> str:
    """The host's own name, as asked of its nameservers: `net_resolvers.name`, else
    `<inventory name>.<dns.zone>`, else what `hostname -f` says (the hostname fact
    given), else the inventory name."""
    conf = hostvars.get("net_resolvers")
    if isinstance(conf, Mapping) and conf.get("name"):
        return str(conf["name"])
    dns = hostvars.get("dns")
    zone = dns.get("zone") if isinstance(dns, Mapping) else None
    if zone:
        base = inventory_name.rstrip(".")
        return (base if "." in base else f"{base}.{str(zone).rstrip('.')}").lower()
    if names is not None:
        return names.fqdn or names.name
    return inventory_name
