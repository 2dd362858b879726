"""The host's names in one round trip, our lines `key=value`:

    name=web1                  `hostname` (the kernel's, uname -n)
    fqdn=web1.lab.test         `hostname -f` (the canonical name the resolver gives:
                               /etc/hosts, then DNS, as nsswitch.conf says)
    fqdn_error=hostname: ...   instead, when `hostname -f` fails (the name resolves
                               nowhere)
    file=web1                  the first line of /etc/hostname (absent: no file)
    fleetcheck-hostname: end   the last line (a cut output is an error)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown

NAME = "hostname"
END = "fleetcheck-hostname: end"
SCRIPT = r"""n=$(hostname) || exit
echo "name=$n"
if f=$(hostname -f 2>&1); then echo "fqdn=$f"; else echo "fqdn_error=$(echo "$f" | head -n 1)"; fi
[ -r /etc/hostname ] && echo "file=$(head -c 256 /etc/hostname | head -n 1)"
echo 'fleetcheck-hostname: end'
"""
KEYS = ("name", "fqdn", "fqdn_error", "file")
# what hostname(1) may print: a host name's characters (no blank, no control)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,253}")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Hostname:
    name: str
    fqdn: str | None = None
    fqdn_error: str | None = None
    file: str | None = None

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def qualified(self) -> bool:
        return bool(self.fqdn and "." in self.fqdn.strip("."))


def parse(text: str) -> Hostname:
    lines = text.splitlines()
    if not lines or lines[-1] != END:
        raise ParseError(f"line {max(len(lines), 1)}: no {END!r} line at the end "
                         "(truncated output?)")
    found: dict[str, str] = {}
    for n, line in enumerate(lines[:-1], start=1):
        key, sep, value = line.partition("=")
        if not sep or key not in KEYS:
            raise ParseError(f"line {n}: expected one of {', '.join(KEYS)}=..., got "
                             f"{shown(line)}")
        if key in found:
            raise ParseError(f"line {n}: {key}= given twice")
        if len(value) > 256 or not value.isprintable():
            raise ParseError(f"line {n}: {key}= must be printable, at most 256 "
                             f"characters: {shown(value)}")
        if key in ("name", "fqdn") and not _NAME.fullmatch(value):
            raise ParseError(f"line {n}: {key}= is not a host name: {shown(value)}")
        found[key] = value.strip() if key == "file" else value
    if "name" not in found:
        raise ParseError(f"line {len(lines)}: no name= line before the end")
    return Hostname(**found)


def expected_hostname(hostvars: Mapping[str, Any], inventory_name: str
                      ) -> tuple[str | None, str | None]:
    """(the short name the host must have: the inventory name's first label, None for
    `localhost` or an address; the domain `hostname -f` must end with:
    net_hostname.domain, else dns.zone, else None)."""
    import ipaddress

    name = inventory_name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        short = None
    except ValueError:
        short = None if name.split(".")[0].lower() in ("localhost", "") else name.split(".")[0]
    conf = hostvars.get("net_hostname")
    domain = conf.get("domain") if isinstance(conf, Mapping) else None
    if not domain:
        dns = hostvars.get("dns")
        domain = dns.get("zone") if isinstance(dns, Mapping) else None
    if not domain and short and "." in name:
        domain = name.split(".", 1)[1]
    return short, (str(domain).rstrip(".").lower() if domain else None)
