"""The subnets and address ranges a DHCPv4 server's configuration declares: ISC dhcpd's
dhcpd.conf and Kea's kea-dhcp4.conf, read by pure, bounded parsers (no host, no
include followed: an `include` is listed, the check says a declaration may be there).

dhcpd.conf (dhcpd.conf(5)): tokens are words, quoted strings ("..." with backslash
escapes, possibly across lines) and the punctuation `{ } ; ,`; `#` outside a string
starts a comment to the end of the line. A statement ends with `;` or is a header
followed by a `{ ... }` block. `subnet NUMBER netmask MASK { ... }` declares a subnet
at any depth (inside `shared-network` or `group` too); `range [dynamic-bootp] LOW
[HIGH];` inside it (directly or in a `pool { }`) is one of its ranges (a lone LOW is a
range of one address). A range outside every subnet (in a shared-network's pool) is
the subnet's that holds its LOW address, as dhcpd attaches it. `subnet6`/`range6`
are DHCPv6 (dhcpd -6): not read. What dhcpd itself refuses (an unbalanced brace, an
unterminated string, a subnet header without its netmask) is a ParseError naming the
line.

kea-dhcp4.conf: JSON with comments (`//` and `#` to the end of the line, `/* */`,
none inside a string), `<?include "file"?>` lines and a comma before a closing
bracket (Kea warns "Extraneous comma" and goes on). `Dhcp4.subnet4[]` and
`Dhcp4.shared-networks[].subnet4[]`: each `subnet` ("10.0.0.0/24") with its
`pools[].pool`, written "LOW - HIGH" or as a prefix "10.0.0.64/26" (every address of
it, as Kea counts them).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field

from fleetcheck.facts.base import ParseError, shown

MAX_BYTES = 1 << 20          # a configuration larger than 1 MiB is not read
MAX_TOKENS = 200000
MAX_DEPTH = 32
MAX_SUBNETS = 10000
MAX_SHOWN = 20                # ranges named in a message
SERVERS = ("isc", "kea")
_PUNCT = "{};,"


@dataclass
class Subnet:
    subnet: str                                        # 10.213.47.0/24
    ranges: list[str] = field(default_factory=list)    # "LOW HIGH", as range() gives
    line: int | None = None                            # where it is declared


@dataclass
class DhcpConf:
    subnets: list[Subnet] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)  # files included (not read)

    def subnet(self, network: str) -> Subnet | None:
        want = ipaddress.ip_network(network, strict=False)
        return next((s for s in self.subnets
                     if ipaddress.ip_network(s.subnet) == want), None)


# -- ranges: the one shape every side is compared in ------------------------------------

_RANGE_SPLIT = re.compile(r"\s*-\s*|\s+")


def address_range(text: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """'10.0.0.5 10.0.0.9', '10.0.0.5-10.0.0.9', '10.0.0.5 - 10.0.0.9' (Kea), a
    prefix '10.0.0.64/26' (its every address) or one address: (low, high). ValueError
    when it is none of these or low > high."""
    text = str(text).strip()
    if "/" in text:
        net = ipaddress.IPv4Network(text, strict=False)
        return net.network_address, net.broadcast_address
    parts = [p for p in _RANGE_SPLIT.split(text) if p]
    if len(parts) not in (1, 2):
        raise ValueError(f"expected 'LOW HIGH', 'LOW - HIGH' or a prefix, got {shown(text)}")
    low = ipaddress.IPv4Address(parts[0])
    high = ipaddress.IPv4Address(parts[-1])
    if low > high:
        raise ValueError(f"{low} is above {high}")
    return low, high


def range_text(low, high) -> str:
    return f"{low} {high}"


def normal_range(text: str) -> str:
    """A range as 'LOW HIGH' (a ValueError when it is not one)."""
    return range_text(*address_range(text))


# -- dhcpd.conf --------------------------------------------------------------------------

def _tokens(text: str) -> list[tuple[str, int, bool]]:
    """(token, line, quoted)."""
    out: list[tuple[str, int, bool]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c == '"':
            start_line, j, buf = line, i + 1, []
            while True:
                if j >= n:
                    raise ParseError(f"line {start_line}: a string that never ends")
                ch = text[j]
                if ch == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    line += text[j + 1] == "\n"
                    j += 2
                    continue
                if ch == '"':
                    break
                line += ch == "\n"
                buf.append(ch)
                j += 1
            out.append(("".join(buf), start_line, True))
            i = j + 1
        elif c in _PUNCT:
            out.append((c, line, False))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _PUNCT and text[j] not in ' \t\r\n\f\v#"':
                j += 1
            out.append((text[i:j], line, False))
            i = j
        if len(out) > MAX_TOKENS:
            raise ParseError(f"line {line}: more than {MAX_TOKENS} tokens")
    return out


def _check_text(text: str) -> None:
    if len(text.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise ParseError(f"line 1: larger than {MAX_BYTES} bytes: not read")
    for n, raw in enumerate(text.split("\n"), start=1):
        if any(not c.isprintable() and c not in "\t\r\f\v" for c in raw):
            raise ParseError(f"line {n}: a control character: {shown(raw)}")


def parse_dhcpd_conf(text: str) -> DhcpConf:
    _check_text(text)
    tokens = _tokens(text)
    out = DhcpConf()
    stack: list[Subnet | None] = []        # one entry per open block: its subnet or None
    loose: list[tuple[str, int]] = []      # ranges outside every subnet
    statement: list[tuple[str, int, bool]] = []
    for tok, line, quoted in tokens:
        if quoted or tok not in _PUNCT:
            statement.append((tok, line, quoted))
            continue
        if tok == ",":
            statement.append((tok, line, quoted))
            continue
        if tok == "{":
            if len(stack) >= MAX_DEPTH:
                raise ParseError(f"line {line}: blocks nested deeper than {MAX_DEPTH}")
            stack.append(_block(statement, line, out, stack))
        elif tok == "}":
            if statement:
                raise ParseError(f"line {line}: '}}' after {shown(statement[0][0])} without "
                                 "';'")
            if not stack:
                raise ParseError(f"line {line}: '}}' without its '{{'")
            stack.pop()
        else:   # ;
            _statement(statement, line, out, stack, loose)
        statement = []
    if statement:
        raise ParseError(f"line {statement[-1][1]}: the last statement has no ';'")
    if stack:
        raise ParseError(f"line {tokens[-1][1] if tokens else 1}: a '{{' is never closed")
    for rng, line in loose:
        low = ipaddress.IPv4Address(rng.split()[0])
        owner = next((s for s in out.subnets if low in ipaddress.ip_network(s.subnet)), None)
        if owner is not None:
            owner.ranges.append(rng)
    return out


def _words(statement) -> list[str]:
    return [t for t, _, _ in statement]


def _block(statement, line: int, out: DhcpConf, stack) -> Subnet | None:
    words = _words(statement)
    inherited = next((s for s in reversed(stack) if s is not None), None)
    if not words or words[0] != "subnet":
        return inherited
    if len(words) != 4 or words[2] != "netmask":
        raise ParseError(f"line {statement[0][1]}: expected 'subnet NUMBER netmask MASK {{', "
                         f"got {shown(' '.join(words))}")
    try:
        net = ipaddress.IPv4Network(f"{words[1]}/{words[3]}", strict=False)
    except ValueError as exc:
        raise ParseError(f"line {statement[0][1]}: not a subnet: {exc}") from None
    if len(out.subnets) >= MAX_SUBNETS:
        raise ParseError(f"line {line}: more than {MAX_SUBNETS} subnets")
    subnet = Subnet(str(net), line=statement[0][1])
    out.subnets.append(subnet)
    return subnet


def _statement(statement, line: int, out: DhcpConf, stack, loose) -> None:
    words = _words(statement)
    if not words:
        return
    where = statement[0][1]
    if words[0] == "include":
        if len(words) != 2 or not statement[1][2]:
            raise ParseError(f"line {where}: expected 'include \"FILE\";'")
        out.includes.append(words[1])
        return
    if words[0] != "range":
        return
    args = words[1:]
    if args[:1] == ["dynamic-bootp"]:
        args = args[1:]
    if len(args) not in (1, 2):
        raise ParseError(f"line {where}: expected 'range [dynamic-bootp] LOW [HIGH];', got "
                         f"{shown(' '.join(words))}")
    try:
        rng = normal_range(" ".join(args))
    except ValueError as exc:
        raise ParseError(f"line {where}: not a range: {exc}") from None
    owner = next((s for s in reversed(stack) if s is not None), None)
    if owner is None:
        loose.append((rng, where))
    else:
        owner.ranges.append(rng)


# -- kea-dhcp4.conf ----------------------------------------------------------------------

_INCLUDE = re.compile(r'<\?include\s+"([^"\n]*)"\s*\?>')


def strip_json_comments(text: str) -> tuple[str, list[str]]:
    """Kea's JSON without its comments (each replaced by blanks, line breaks kept, so
    json's line numbers are the file's) and the files its `<?include?>`s name."""
    out: list[str] = []
    includes: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ParseError(f"line {text.count(chr(10), 0, i) + 1}: a /* comment that "
                                 "never ends")
            out.append(re.sub(r"[^\n]", " ", text[i:end + 2]))
            i = end + 2
        elif text.startswith("<?", i) and (m := _INCLUDE.match(text, i)):
            includes.append(m.group(1))
            out.append(" " * (m.end() - i))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return _drop_extraneous_commas("".join(out)), includes


def _drop_extraneous_commas(text: str) -> str:
    """A comma before `}` or `]` blanked: Kea 2.x accepts it with a warning
    (DHCP4_CONFIG_SYNTAX_WARNING "Extraneous comma"; Debian 12's stock file has one)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                out[i] = " "
        i += 1
    return "".join(out)


def parse_kea_conf(text: str) -> DhcpConf:
    _check_text(text)
    plain, includes = strip_json_comments(text)
    try:
        data = json.loads(plain)
    except json.JSONDecodeError as exc:
        raise ParseError(f"line {exc.lineno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise ParseError("line 1: nested too deep") from None
    except ValueError:   # a number of more than 4300 digits
        raise ParseError("line 1: a number too long to read") from None
    out = DhcpConf(includes=includes)
    dhcp4 = data.get("Dhcp4") if isinstance(data, dict) else None
    if not isinstance(dhcp4, dict):
        if includes:
            return out
        raise ParseError("line 1: no Dhcp4 object at the top")
    lists = [dhcp4.get("subnet4")] + [
        net.get("subnet4") for net in dhcp4.get("shared-networks") or []
        if isinstance(net, dict)]
    for subnets in lists:
        if subnets is None:
            continue
        if not isinstance(subnets, list):
            raise ParseError("line 1: subnet4 is not a list")
        for entry in subnets:
            out.subnets.append(_kea_subnet(entry))
            if len(out.subnets) > MAX_SUBNETS:
                raise ParseError(f"line 1: more than {MAX_SUBNETS} subnets")
    return out


def _kea_subnet(entry) -> Subnet:
    if not isinstance(entry, dict) or not isinstance(entry.get("subnet"), str):
        raise ParseError(f"line 1: a subnet4 entry without its subnet: {shown(entry)}")
    try:
        net = ipaddress.IPv4Network(entry["subnet"], strict=False)
    except ValueError as exc:
        raise ParseError(f"line 1: not a subnet: {exc}") from None
    subnet = Subnet(str(net))
    for pool in entry.get("pools") or []:
        text = pool.get("pool") if isinstance(pool, dict) else None
        if not isinstance(text, str):
            raise ParseError(f"line 1: a pool without its pool: {shown(pool)}")
        try:
            subnet.ranges.append(normal_range(text))
        except ValueError as exc:
            raise ParseError(f"line 1: subnet {net}: not a pool: {exc}") from None
    return subnet


# -- what dhcp.config_valid and its fix judge (pure: the dhcp fact and the var) ----------

def judged_servers(conf: dict, state) -> tuple[list, list[tuple[str, str]], str | None]:
    """(the servers judged, problems found already, why the check does not apply).

    With `server` declared, that one (not installed: high). Without it, the servers
    that run; if none runs, every installed one when subnets or `running: true` are
    declared, none otherwise (a package nobody started, with nothing declared, is not
    applicable: a dependency pulled in, a server kept for a failover)."""
    server = conf.get("server")
    wants = bool(conf.get("subnets")) or conf.get("running") is True
    if server in SERVERS:
        chosen = getattr(state, server)
        if not chosen.installed:
            return [], [("high", f"{server} is declared (dhcp.config_valid.server) but not "
                         f"installed: no {'dhcpd' if server == 'isc' else 'kea-dhcp4'}")], None
        return [chosen], [], None
    installed = state.installed()
    if not installed:
        if wants:
            return [], [("high", "no DHCP server is installed (neither dhcpd nor "
                         "kea-dhcp4), and subnets or running: true are declared")], None
        return [], [], "no DHCP server is installed (neither dhcpd nor kea-dhcp4)"
    running = [s for s in installed if s.running]
    if running or wants:
        return running or installed, [], None
    return [], [], (f"{', '.join(s.tool for s in installed)} installed but not running, and "
                    "nothing is declared (dhcp.config_valid: server, subnets, running)")


def subnet_problems(srv, declared: list[dict]) -> list[tuple[str, str]]:
    """Each declared subnet (and each of its ranges) that the configuration lacks."""
    if not declared:
        return []
    if srv.subnets is None:
        if srv.test_exit:       # the failing test says what is wrong with the file
            return []
        return [("medium", f"the declared subnets cannot be judged: {srv.read_error}")]
    where = srv.config + (f" (it includes {', '.join(srv.includes[:5])}, not read)"
                          if srv.includes else "")
    out = []
    for entry in declared:
        net = str(entry["subnet"])
        found = srv.subnet(net)
        if found is None:
            out.append(("medium", f"subnet {net} is not declared in {where}"))
            continue
        for rng in entry.get("ranges") or []:
            if normal_range(str(rng)) not in found.ranges:
                out.append(("medium", f"range {normal_range(str(rng))} of subnet {net} is "
                            f"not declared in {where} (it has: "
                            f"{', '.join(found.ranges[:MAX_SHOWN]) or 'no range'})"))
    return out
