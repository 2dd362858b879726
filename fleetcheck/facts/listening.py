"""Listening sockets: `ss -H -tulpn` (TCP and UDP, numeric, with their processes).

One line per socket, columns separated by blanks (ss pads them, and may leave blanks
at the end of a line): netid (`tcp`, `udp`), state (`LISTEN`, `UNCONN`), Recv-Q,
Send-Q, the local address:port, the peer address:port, and the processes that hold
the socket, `users:(("sshd",pid=123,fd=3),("sshd",pid=124,fd=3))`. The processes
column is missing when ss cannot see them (not root, or a socket of a process in
another PID namespace).

Addresses as ss (iproute2 6.1) prints them: `0.0.0.0:22`, `[::]:22`, `*:22` (an IPv6
socket that takes IPv4 too), and a socket bound to an interface with its name after a
`%`: `127.0.0.53%lo:53`, `[fe80::1]%eth0:123` (the form `[fe80::1%eth0]:123` is read
too). A port 0 is printed `*`.

A process name is the kernel's comm (at most 15 characters, any but ')': ss reads it
with `%[^)]`), printed between double quotes as it is: it may hold quotes, commas and
blanks (`"srv,x"y (z"`), so an entry is read up to its `)`, and the name up to its
last `",pid=`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "listening"
NETIDS = {"tcp", "udp"}
# ss's sstate_name
STATES = {"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
          "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"}
MAX_ADDRESS = 64    # an IPv6 address with brackets and an interface name fits
IFNAMSIZ = 16       # an interface name is at most 15 characters


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("ss -H -tulpn")


@dataclass
class Process:
    name: str
    pid: int


@dataclass
class Socket:
    netid: str                  # tcp, udp
    state: str                  # LISTEN, UNCONN
    address: str                # 0.0.0.0, ::, ::1, 127.0.0.1, * (any, v4 and v6)
    port: int                   # 0 when ss prints `*`
    interface: str | None       # the `%lo` of `127.0.0.53%lo:53`, else None
    peer: str                   # as printed: 0.0.0.0:*, [::]:*, *:*
    processes: list[Process] = field(default_factory=list)  # empty when not shown


@dataclass
class Listening:
    sockets: list[Socket] = field(default_factory=list)


def parse(text: str) -> Listening:
    out = Listening()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        out.sockets.append(_socket(line, f"line {n}"))
    return out


def _socket(line: str, where: str) -> Socket:
    parts = line.split(None, 6)
    if parts and parts[0] in ("Netid", "State"):
        raise ParseError(f"{where}: ss's header line (the command is `ss -H -tulpn`): "
                         f"{shown(line)}")
    if len(parts) < 6:
        raise ParseError(f"{where}: expected netid, state, Recv-Q, Send-Q, local and "
                         f"peer address, got {shown(line)}")
    netid, state, recv_q, send_q, local, peer = parts[:6]
    if netid not in NETIDS:
        raise ParseError(f"{where}: expected tcp or udp, got {shown(netid)}")
    if state not in STATES:
        raise ParseError(f"{where}: unknown socket state {shown(state)}")
    to_int(recv_q, f"{where}: Recv-Q")
    to_int(send_q, f"{where}: Send-Q")
    address, interface, port = _endpoint(local, f"{where}: local address")
    if ":" not in peer:
        raise ParseError(f"{where}: expected the peer ADDRESS:PORT, got {shown(peer)}")
    processes = _processes(parts[6].strip(), where) if len(parts) == 7 else []
    return Socket(netid, state, address, port, interface, peer, processes)


def _endpoint(text: str, where: str) -> tuple[str, str | None, int]:
    """`127.0.0.53%lo:53` -> ('127.0.0.53', 'lo', 53); `[::]:22` -> ('::', None, 22)."""
    if len(text) > MAX_ADDRESS:
        raise ParseError(f"{where}: {len(text)} characters (at most {MAX_ADDRESS}): "
                         f"{shown(text)}")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ParseError(f"{where}: expected ADDRESS:PORT, got {shown(text)}")
    port = 0 if port_text == "*" else to_int(port_text, f"{where}: port")
    if port > 65535:
        raise ParseError(f"{where}: port {port} is above 65535")
    interface = None
    if host.startswith("["):
        inner, close, tail = host[1:].partition("]")
        if not close or (tail and not tail.startswith("%")):
            raise ParseError(f"{where}: expected [IPV6]:PORT, got {shown(text)}")
        address, zone, inside = inner.partition("%")
        if zone and tail:
            raise ParseError(f"{where}: two interface names in {shown(text)}")
        interface = inside if zone else (tail[1:] if tail else None)
        version = 6
    else:
        address, zone, inside = host.partition("%")
        interface = inside if zone else None
        version = 4
    if interface is not None and not _ifname(interface):
        raise ParseError(f"{where}: not an interface name: {shown(interface)}")
    if address == "*" and version == 4:
        return address, interface, port
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is None or ip.version != version:
        raise ParseError(f"{where}: not an IPv{version} address: {shown(address)}")
    return address, interface, port


def _ifname(name: str) -> bool:
    return (0 < len(name) < IFNAMSIZ and name.isprintable()
            and not any(c.isspace() or c in "/:%" for c in name))


_USERS = "users:("
_PID = '",pid='


def _processes(text: str, where: str) -> list[Process]:
    """`users:(("sshd",pid=123,fd=3),("sshd",pid=124,fd=3))` -> the processes."""
    if not (text.startswith(_USERS) and text.endswith(")")):
        raise ParseError(f"{where}: expected users:((...)) after the addresses, got "
                         f"{shown(text)}")
    body = text[len(_USERS):-1]
    processes: list[Process] = []
    i = 0
    while i < len(body):
        if not body.startswith('("', i):
            raise ParseError(f"{where}: expected (\"NAME\",pid=N,fd=N) in users:, got "
                             f"{shown(body[i:])}")
        end = body.find(")", i)     # a name holds no ')'
        if end < 0:
            raise ParseError(f"{where}: users: entry without its ')': {shown(body[i:])}")
        entry = body[i + 2:end]
        name, sep, rest = entry.rpartition(_PID)
        pid, fd_sep, fd = rest.partition(",fd=")
        if not sep or not fd_sep:
            raise ParseError(f"{where}: expected (\"NAME\",pid=N,fd=N), got "
                             f"{shown(body[i:end + 1])}")
        processes.append(Process(name, to_int(pid, f"{where}: pid")))
        to_int(fd, f"{where}: fd")
        i = end + 1
        if i < len(body):
            if body[i] != "," or i + 1 == len(body):
                raise ParseError(f"{where}: expected ',' between users: entries, got "
                                 f"{shown(body[i:])}")
            i += 1
    if not processes:
        raise ParseError(f"{where}: users:() without a process")
    return processes


# -- the rules of net.listening (var net_listening.allowed / expected) ----------------

@dataclass(frozen=True)
class Rule:
    """One entry of `net_listening.allowed` or `expected`: a socket matches when it has
    every part the entry gives (proto, a port or port range, an address, a process)."""
    text: str                          # the entry as the evidence shows it
    proto: str | None = None           # tcp, udp; None: both
    ports: tuple[int, int] | None = None
    address: str | None = None         # an IP address, compared as an address
    process: str | None = None         # a process name (comm) among the socket's

    def matches(self, sock: Socket) -> bool:
        if self.proto is not None and sock.netid != self.proto:
            return False
        if self.ports is not None and not self.ports[0] <= sock.port <= self.ports[1]:
            return False
        if self.address is not None and _ip(sock.address) != _ip(self.address):
            return False
        return self.process is None or any(p.name == self.process for p in sock.processes)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return text     # '*': ss's "any address", equal only to itself


def _ports(value: Any, what: str) -> tuple[int, int]:
    """22, "22" or "32768-60999" -> (low, high)."""
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif isinstance(value, str):
        first, dash, last = value.partition("-")
        try:
            low, high = to_int(first, what), to_int(last if dash else first, what)
        except ParseError:
            raise values.UnsafeValue(f"{what}: expected a port (22) or a range "
                                     f"(32768-60999), got {values.shown(value)}") from None
    else:
        raise values.UnsafeValue(f"{what}: expected a port number, got "
                                 f"{values.describe(value)}")
    if not 0 < low <= high <= 65535:
        raise values.UnsafeValue(f"{what}: ports are 1 to 65535, low to high, got "
                                 f"{values.shown(value)}")
    return low, high


def rule(value: Any, what: str = "the entry") -> Rule:
    """An entry as written: `tcp/22`, `udp/123`, `tcp/127.0.0.1:25`, `tcp/[::1]:25`,
    `udp/32768-60999`, or a mapping {proto, port, address, process} (port or process
    required). Raises values.UnsafeValue with what is wrong."""
    if isinstance(value, str):
        return _rule_text(values.text(value, what, max_len=128), what)
    if not isinstance(value, Mapping):
        raise values.UnsafeValue(f"{what}: expected 'tcp/22' or {{proto, port, address, "
                                 f"process}}, got {values.describe(value)}")
    unknown = sorted(set(map(str, value)) - {"proto", "port", "address", "process"})
    if unknown:
        raise values.UnsafeValue(f"{what}: unknown key {unknown[0]} (known: proto, port, "
                                 f"address, process)")
    proto = value.get("proto")
    if proto is not None and proto not in NETIDS:
        raise values.UnsafeValue(f"{what}: proto must be tcp or udp, got "
                                 f"{values.describe(proto)}")
    ports = _ports(value["port"], f"{what}: port") if value.get("port") is not None else None
    address = value.get("address")
    if address is not None:
        address = values.address(address, f"{what}: address")
    process = value.get("process")
    if process is not None:
        process = values.text(process, f"{what}: process", max_len=15)  # a comm
    if ports is None and process is None:
        raise values.UnsafeValue(f"{what}: give a port or a process")
    shown_as = "/".join(str(p) for p in (proto, value.get("port")) if p is not None) or "any"
    if address is not None:
        shown_as += f" on {address}"
    if process is not None:
        shown_as += f" ({process})"
    return Rule(shown_as, proto, ports, address, process)


def _rule_text(text: str, what: str) -> Rule:
    proto, slash, rest = text.partition("/")
    if not slash or proto not in NETIDS:
        raise values.UnsafeValue(f"{what}: expected PROTO/PORT (tcp/22, udp/123, "
                                 f"tcp/127.0.0.1:25), got {values.shown(text)}")
    address, port = None, rest
    if rest.startswith("["):
        inner, close, tail = rest[1:].partition("]")
        if not close or not tail.startswith(":"):
            raise values.UnsafeValue(f"{what}: expected PROTO/[IPV6]:PORT, got "
                                     f"{values.shown(text)}")
        address, port = inner, tail[1:]
    elif ":" in rest:
        address, _, port = rest.rpartition(":")
    if address is not None:
        values.address(address, f"{what}: address")
    return Rule(text, proto, _ports(port, f"{what}: port"), address)


def is_loopback(sock: Socket) -> bool:
    """Bound to a loopback address (127.0.0.0/8, ::1) or to the `lo` interface:
    unreachable from the network."""
    ip = _ip(sock.address)
    return sock.interface == "lo" or (not isinstance(ip, str) and ip.is_loopback)


def shown_socket(sock: Socket) -> str:
    """`tcp 0.0.0.0:22 sshd`, `udp [::1]:323 chronyd`: a socket in the evidence."""
    host = f"[{sock.address}]" if ":" in sock.address else sock.address
    if sock.interface:
        host += f"%{sock.interface}"
    names = sorted({p.name for p in sock.processes})
    return f"{sock.netid} {host}:{sock.port} " + (",".join(names) or "(process not shown)")


# The values of net_listening: matched against ss's sockets, never put in a command;
# each entry is checked at load (fleetcheck.values).
VALUE_KINDS = {"net_listening.allowed[]": rule, "net_listening.expected[]": rule,
               "net_listening.allow_loopback": values.boolean}
_ENTRY = {
    "type": ["string", "object"],
    "description": "'tcp/22', 'udp/123', 'tcp/127.0.0.1:25', 'tcp/[::1]:25', "
                   "'udp/32768-60999', or {proto, port, address, process}",
    "x-expected": "'tcp/22' or a mapping {proto, port, address, process}",
    "properties": {
        "proto": {"type": "string", "enum": ["tcp", "udp"], "description": "tcp or udp "
                  "(absent: both)"},
        "port": {"type": ["integer", "string"], "description": "a port or a range "
                 "(32768-60999)"},
        "address": {"type": "string", "description": "the address the socket is bound "
                    "to (absent: any)"},
        "process": {"type": "string", "description": "the process name (comm, as ss "
                    "shows it)"},
    },
    "additionalProperties": False,
}
VARS = {
    "net_listening": {
        "type": "object",
        "description": "net.listening: the listening TCP/UDP sockets (ss -tulpn) against "
                       "a declared list (null: not judged)",
        "properties": {
            "allowed": {"type": "array", "items": _ENTRY,
                        "description": "sockets that may listen; a listener outside it "
                                       "fails (medium); absent: every listener "
                                       "reported, none judged"},
            "expected": {"type": "array", "items": _ENTRY, "default": [],
                         "description": "sockets that must listen; a missing one fails "
                                        "(high)"},
            "allow_loopback": {"type": "boolean", "default": True,
                               "description": "listeners bound to loopback only are not "
                                              "judged against allowed"},
        },
        "additionalProperties": False,
    },
}
