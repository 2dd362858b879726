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
