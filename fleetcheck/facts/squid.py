"""Squid (LPIC-2 208.3): squid.conf's directives as Squid reads them, and the var
`proxy` of the area (proxy.squid: its schema and value kinds are declared here). The
fact is squid_config (`squid -k parse`: Squid's own verdict, and every directive it
processed, the files of `include` expanded); the requests through the proxy are the
controller's own (fleetcheck.probes.proxy).

squid.conf (squid.conf.documented): one directive per line, `name value...`; blank
lines and lines whose first non-blank is `#` are skipped; a line ending in `\\`
continues on the next. The directives the area reads:

- `acl NAME src VALUE...`: the client addresses of an acl (an address, a network
  `ADDR/BITS` or `ADDR/MASK`, a range `A-B[/MASK]`, `all`, or `"FILE"` whose lines are
  the values); lines with the same NAME add to the same acl. Options (`-n`) are kept
  out of the values.
- `http_access allow|deny [!]ACL...`: in order, the first rule whose acls all match
  decides.
- `http_port [ADDR:]PORT [OPTIONS]`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import ParseError, shown, var_setting

VAR = "proxy_squid"   # <area>_<what>: a shop's own `proxy` var (a URL) never clashes
MAX_LINES = 100000
MAX_LINE = 65536
_ACL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DIRECTIVE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass
class Directive:
    name: str
    args: list[str]
    line: int       # the line it starts on (of the text parsed)
    last: int       # its last line (continuations)


@dataclass
class SquidConf:
    directives: list[Directive] = field(default_factory=list)

    def acls(self, kind: str = "src") -> dict[str, list[str]]:
        """acl NAME -> its values, for the acls of type `kind`, in order."""
        out: dict[str, list[str]] = {}
        for d in self.directives:
            if d.name == "acl" and len(d.args) >= 2 and d.args[1] == kind:
                out.setdefault(d.args[0], []).extend(
                    v for v in d.args[2:] if not v.startswith("-"))
        return out

    def acl_lines(self, name: str, kind: str = "src") -> list[Directive]:
        return [d for d in self.directives if d.name == "acl" and len(d.args) >= 2
                and d.args[0] == name and d.args[1] == kind]

    def http_access(self) -> list[str]:
        """Each `http_access` rule as written (`allow lab_clients`)."""
        return [" ".join(d.args) for d in self.directives if d.name == "http_access"]

    def http_ports(self) -> list[str]:
        return [d.args[0] for d in self.directives if d.name == "http_port" and d.args]


def parse_squid_conf(text: str) -> SquidConf:
    """squid.conf's directives (continuations joined, comments skipped)."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    out = SquidConf()
    pending: list[str] = []
    first = 0
    for n, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
        if any(not c.isprintable() and c not in "\t\r" for c in raw):
            raise ParseError(f"line {n}: a control character: {shown(raw)}")
        line = raw.rstrip("\r")
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not pending:
            first = n
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.directives.append(directive(" ".join(pending), first, n))
        pending = []
    if pending:
        out.directives.append(directive(" ".join(pending), first, len(lines)))
    return out


def directive(text: str, first: int, last: int | None = None) -> Directive:
    """One directive's words, a comment at its end (a word starting with `#`, as in
    Debian's `acl localnet src 10.0.0.0/8 # RFC 1918 ...`) cut."""
    words = text.split()
    cut = next((i for i, w in enumerate(words) if w.startswith("#")), None)
    if cut is not None:
        words = words[:cut]
    if not words:
        raise ParseError(f"line {first}: an empty continued line")
    name = words[0]
    if not _DIRECTIVE.fullmatch(name):
        raise ParseError(f"line {first}: not a directive name: {shown(name)}")
    return Directive(name, words[1:], first, first if last is None else last)


def canonical(value: str) -> str:
    """An acl src value in one spelling: a network as ADDR/BITS (10.0.0.1 is
    10.0.0.1/32, 10.0.0.0/255.0.0.0 is 10.0.0.0/8), anything else (a range, `all`, a
    file) as written."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return value


def same_networks(declared: list[str], actual: list[str]) -> bool:
    return sorted({canonical(v) for v in declared}) == sorted({canonical(v) for v in actual})


# -- the var `proxy` ----------------------------------------------------------------------

def acl_name(value: Any, what: str = "the acl name") -> str:
    text = values.word(value, what)
    if not _ACL_NAME.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a squid acl name (letters, digits, '_', "
                                 f"'.', '-'), got {shown(text)}")
    return text


def network(value: Any, what: str = "the network") -> str:
    """An address or network a fix writes into `acl NAME src`: ADDR or ADDR/BITS."""
    text = values.word(value, what)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise values.UnsafeValue(f"{what} must be an IP address or network (10.0.0.0/8), "
                                 f"got {shown(text)}") from None
    return text


def http_url(value: Any, what: str = "the URL") -> str:
    """A plain http:// URL the proxy fetches (no blank, no user, no fragment)."""
    text = values.word(value, what)
    if not re.fullmatch(r"http://[A-Za-z0-9.\-\[\]:]{1,262}(?:/[!-~]*)?", text) or "@" in text \
            or "#" in text:
        raise values.UnsafeValue(f"{what} must be an http:// URL (http://host[:port]/path), "
                                 f"got {shown(text)}")
    return text


VALUE_KINDS = {
    "proxy_squid.config": values.path,
    "proxy_squid.acl{}": acl_name,
    "proxy_squid.acl.*[]": network,
    "proxy_squid.url": http_url,
    "proxy_squid.inside": values.address,
    "proxy_squid.outside": values.address,
}

DEFAULTS = {"config": "/etc/squid/squid.conf", "warnings": True, "port": 3128,
            "timeout": 10, "acl": {}, "url": None, "inside": None, "outside": None}
_SOURCE = ("an address of this controller the request is sent from (bound as its source "
           "address: it must be one of the controller's own)")
VARS = {
    VAR: {
        "type": "object",
        "description": "proxy.squid: `squid -k parse` where Squid is installed, the declared "
                       "acls, and requests through the proxy from the controller (null: "
                       "not judged)",
        "x-expected": "a mapping (like {acl: {lan: [192.0.2.0/24]}})",
        "properties": {
            "config": {"type": "string", "default": DEFAULTS["config"],
                       "description": "squid.conf's path on the host (squid -f)"},
            "warnings": {"type": "boolean", "default": True,
                         "description": "a WARNING line of `squid -k parse` fails the check"},
            "acl": {"type": "object", "default": {},
                    "description": "acl name -> the client networks its `acl NAME src` must "
                    "list (compared as networks); --remediate restores them",
                    "x-key": "a squid acl name",
                    "additionalProperties": {
                        "type": "array", "minItems": 1,
                        "items": {"type": "string", "description": "an address or ADDR/BITS"},
                        "description": "its networks"}},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                     "default": DEFAULTS["port"],
                     "description": "the proxy's port at the host's inventory address"},
            "url": {"type": ["string", "null"], "default": None,
                    "description": "an http:// URL the proxy is asked for (null: no request "
                    "is made)"},
            "inside": {"type": ["string", "null"], "default": None,
                       "description": "must be served (2xx/3xx from the origin): " + _SOURCE},
            "outside": {"type": ["string", "null"], "default": None,
                        "description": "must be refused by the proxy (403 TCP_DENIED): "
                        + _SOURCE},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120,
                        "default": DEFAULTS["timeout"],
                        "description": "seconds for the connection and the answer"},
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`proxy_squid` with the defaults filled in (None when off)."""
    conf = var_setting(hostvars, VAR)
    if conf is None:
        return None
    return {**DEFAULTS, **{k: v for k, v in conf.items() if v is not None}}
