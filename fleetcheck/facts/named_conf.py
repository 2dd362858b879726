"""BIND's configuration as named itself reads it: `named-checkconf -p -x`.

`-p` prints the whole configuration (includes resolved) in canonical form, one
statement per line; `-x` replaces every shared secret with `????`, so no TSIG or rndc
key reaches a report. Exit 1 means the configuration is invalid: the fact then holds
the errors named-checkconf printed, and no zones.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "named_conf"
DEFAULT_CONF = "/etc/bind/named.conf"   # Debian/Ubuntu; /etc/named.conf on RHEL



def key_name(value: Any, what: str = "the value") -> str:
    """A TSIG key name as the axfr fix writes it, `key "NAME";` in named.conf: a DNS
    name (values.dns_name: no quote, brace, ';', blank or comment character) and no
    wildcard."""
    text = values.dns_name(value, what)
    if "*" in text:
        raise values.UnsafeValue(f"{what} must be a key name, not a wildcard: "
                                 f"{values.shown(text)}")
    return text


def record_address(value: Any, what: str = "the value") -> str:
    """An address as an A/AAAA record holds it: an IPv4 or IPv6 address without a
    zone index (``fe80::1%eth0`` passes Python's ipaddress, and '%...' would reach the
    zone file)."""
    text = values.address(value, what)
    if "%" in text:
        raise values.UnsafeValue(f"{what} must be an address without a zone index ('%'): "
                                 f"{values.shown(text)}")
    return text


def address_list(value: Any, what: str = "the value") -> list:
    """dns_addresses: a list (a string would be read character by character)."""
    if not isinstance(value, list):
        raise values.UnsafeValue(f"{what} must be a list of addresses, got "
                                 f"{values.describe(value)}")
    return value


# The DNS vars whose values reach a command, a query, named.conf or a zone file
# (checked at load; again by the DNS fixes).
VALUE_KINDS = {
    "dns.named_conf": values.path,
    "dns.zone": values.dns_name,
    "dns.reverse_zone": values.dns_name,
    "dns.reverse_zones[]": values.dns_name,
    "dns.master": values.host,
    "dns.slaves[]": values.host,
    "dns.nameservers[]": values.address,
    "dns.transfer_key": key_name,
    "dns_addresses[]": record_address,
    "dns_addresses": address_list,
}

# The schema of the vars (fleetcheck.varschema).
_NAMES = {"type": "array", "x-expected": "a list of names"}
VARS = {
    "dns": {
        "type": "object", "description": "the fleet's DNS (dns.*)",
        "x-expected": "a mapping (like {zone: lab.test, master: ns1, nameservers: [...]})",
        "properties": {
            "zone": {"type": "string", "description": "every host is <name>.<zone>"},
            "reverse_zone": {"type": "string", "description": "the reverse zone "
                             "(47.213.10.in-addr.arpa)"},
            "reverse_zones": dict(_NAMES, items={"type": "string", "description": "a "
                                  "reverse zone"}, description="several reverse zones"),
            "master": {"type": "string", "description": "the primary server (an "
                       "inventory host)"},
            "slaves": dict(_NAMES, items={"type": "string", "description": "an inventory "
                           "host"}, description="the secondary servers", default=[]),
            "nameservers": {"type": "array", "x-expected": "a list of addresses",
                            "items": {"type": "string", "description": "an IP address"},
                            "description": "the servers dns.forward_reverse asks"},
            "transfer_key": {"type": "string", "description": "the TSIG key zone "
                             "transfers must be signed with (dns.axfr_restricted's fix)"},
            "named_conf": {"type": "string", "default": DEFAULT_CONF,
                           "description": "named.conf on the DNS servers"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 2,
                        "description": "seconds per query"},
            "sync_wait": {"type": "number", "minimum": 0, "default": 10,
                          "description": "seconds a slave may take to follow its master"},
        },
        "additionalProperties": False,
    },
    "dns_addresses": {
        "type": "array", "x-expected": "a list of addresses",
        "items": {"type": "string", "description": "an IP address"},
        "description": "the host's addresses in DNS (default: ansible_host)",
    },
}

OPEN = re.compile(r'^(?P<head>[^{};"]*(?:"[^"]*"[^{};"]*)*)\{$')
ZONE = re.compile(r'^zone\s+"(?P<name>[^"]+)"(?:\s+(?P<cls>\w+))?\s*$')
VIEW = re.compile(r'^view\s+"(?P<name>[^"]+)"(?:\s+\w+)?\s*$')
STATEMENT = re.compile(r'^(?P<key>[A-Za-z0-9-]+)\s*(?P<value>.*);$')


def conf_path(hostvars: Mapping[str, Any]) -> str:
    return str((hostvars.get("dns") or {}).get("named_conf") or DEFAULT_CONF)


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("named-checkconf -p -x %s", conf_path(hostvars))


@dataclass
class Zone:
    name: str
    zone_class: str
    view: str | None
    type: str | None
    file: str | None          # absolute (relative paths joined to `directory`)
    format: str               # masterfile-format: text or raw

    @property
    def serves(self) -> bool:
        """A zone named loads from a file of its own: primary or secondary."""
        return self.type in ("primary", "master", "secondary", "slave") and bool(self.file)


@dataclass
class NamedConf:
    valid: bool
    errors: list[str] = field(default_factory=list)
    directory: str | None = None
    zones: list[Zone] = field(default_factory=list)
    # options-level allow-transfer elements, as printed ('key "lab-xfer"', '"any"')
    allow_transfer: list[str] | None = None

    def zone(self, name: str) -> Zone | None:
        name = name.rstrip(".").lower()
        return next((z for z in self.zones if z.name.rstrip(".").lower() == name), None)


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def parse(text: str) -> NamedConf:
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ParseError("line 1: empty output: is this `named-checkconf -p`?")
    conf = NamedConf(valid=True)
    stack: list[tuple[str, int]] = []      # (block head, line number)
    zone: dict[str, Any] | None = None
    view: str | None = None
    transfer: list[str] | None = None
    raw_zones: list[dict[str, Any]] = []
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("}") and line.endswith("{"):      # controls: `} keys {`
            if not stack:
                raise ParseError(f"line {n}: '}}' without an open block")
            stack[-1] = (line[1:-1].strip(), n)
            continue
        if line in ("};", "}"):
            if not stack:
                raise ParseError(f"line {n}: '}}' without an open block")
            head, _ = stack.pop()
            if head.startswith("allow-transfer") and transfer is not None:
                if zone is None and len(stack) == 1 and stack[0][0] == "options":
                    conf.allow_transfer = transfer
                transfer = None
            elif ZONE.match(head) and zone is not None:
                raw_zones.append(zone)
                zone = None
            elif VIEW.match(head):
                view = None
            continue
        match = OPEN.match(line)
        if match:
            head = match.group("head").strip()
            stack.append((head, n))
            zm, vm = ZONE.match(head), VIEW.match(head)
            if zm:
                zone = {"name": zm.group("name"), "class": (zm.group("cls") or "IN").upper(),
                        "view": view, "type": None, "file": None, "format": None}
            elif vm and len(stack) == 1:
                view = vm.group("name")
            elif head.startswith("allow-transfer"):
                transfer = []
            continue
        if not stack or not line.endswith(";"):
            raise ParseError(f"line {n}: expected a statement ending in ';' inside a "
                             f"block, got {shown(line)}")
        if transfer is not None:
            transfer.append(line[:-1].strip())
            continue
        match = STATEMENT.match(line)
        if not match:
            continue        # an element of a list: `127.0.0.1/32;`, `"rndc-key";`
        key, value = match.group("key"), match.group("value").strip()
        if zone is not None and len(stack) == (2 if zone["view"] else 1):
            if key == "type":
                zone["type"] = value
            elif key == "file":
                zone["file"] = _unquote(value)
            elif key == "masterfile-format":
                zone["format"] = value
        elif stack == [("options", stack[0][1])] and key == "directory":
            conf.directory = _unquote(value)
    if stack:
        head, where = stack[-1]
        raise ParseError(f"line {where}: block {shown(head, 60)} is not closed (truncated?)")
    for z in raw_zones:
        path = z["file"]
        if path and not path.startswith("/"):
            path = posixpath.join(conf.directory or "/", path)
        kind = z["type"]
        fmt = z["format"] or ("raw" if kind in ("secondary", "slave") else "text")
        conf.zones.append(Zone(z["name"], z["class"], z["view"], kind, path, fmt))
    return conf


def from_result(rc: int, stdout: str, stderr: str) -> NamedConf:
    if rc == 0:
        return parse(stdout)
    if rc in (126, 127):
        raise FactError(f"named-checkconf cannot run (exit {rc}): {stderr.strip()[:200]}")
    errors = [line.strip() for line in (stdout + "\n" + stderr).splitlines() if line.strip()]
    return NamedConf(valid=False, errors=errors or [f"named-checkconf exited {rc}"])
