"""The outputs of virsh (libvirt 9.0's tools/virsh-domain*.c) and of Xen's `xl list`,
one pure parser each; the fact vm_guests (fleetcheck.facts.vm) runs the commands and
reads its sections with them.

Tried with Debian bookworm's virsh 9.0.0 on QEMU/KVM (the lab's captures) and on
libvirt's test driver (`test:///FILE`, hostile names and every state):

- `dominfo`: one `%-15s %s` line each (`Name:` padded to 15, a blank, the value), so
  a name is what follows column 16, blanks included; `Id: -` when not running;
  `Max memory: 98304 KiB`; `Persistent: yes|no`; `Autostart: enable|disable`.
- `domstate --reason`: `STATE (REASON)`: `running (booted)`, `paused (user)`,
  `shut off (unknown)`.
- `domifaddr`: a table `Name MAC address Protocol Address`; a second address of the
  same interface has `-` for its name and MAC. Empty (headers only) when the lease
  source has none (an `ethernet` NIC, no libvirt network).
- `list --all`: a table `Id Name State` whose columns are padded to the widest cell:
  a name may hold blanks, the state is read from the end of the row (`shut off`).
- `dumpxml` / `dumpxml --inactive`: the domain XML (docs: formatdomain.html); read
  with ElementTree after refusing any DOCTYPE or entity declaration.
- `xl list`: `%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f` (xl_list.c): name, id, MiB,
  vcpus, the state letters r b p s c d, CPU seconds; Domain-0 is the host itself.

States are virsh's words (virshDomainStateToString): no state, running, idle, paused,
in shutdown, shut off, crashed, pmsuspended.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from fleetcheck.facts.base import ParseError, bounded_lines, brief, shown, to_int

STATES = ("no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed",
          "pmsuspended")
# the states of a domain that has a process (libvirt: virDomainObjIsActive)
ACTIVE = ("running", "idle", "paused", "in shutdown", "crashed", "pmsuspended")
MAX_XML = 1024 * 1024
MAX_ROWS = 4096
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAC = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")
_XL_STATE = re.compile(r"[-r][-b][-p][-s][-c][-d]")
_UNITS = {"b": 1, "bytes": 1, "kb": 1000, "k": 1024, "kib": 1024, "mb": 10**6, "m": 2**20,
          "mib": 2**20, "gb": 10**9, "g": 2**30, "gib": 2**30, "tb": 10**12, "t": 2**40,
          "tib": 2**40}


def is_uuid(text: str) -> bool:
    return bool(_UUID.fullmatch(text))


def _lines(text: str, what: str) -> list[str]:
    """The lines of one command's output, bounded (`what` names it in messages)."""
    try:
        return bounded_lines(text, MAX_XML, MAX_ROWS)
    except ParseError as exc:
        raise ParseError(f"{what}: {exc}") from None


# -- dominfo, domstate --------------------------------------------------------------------

@dataclass
class DomInfo:
    name: str
    uuid: str
    state: str
    id: int | None = None
    os_type: str | None = None
    vcpus: int | None = None
    max_memory_kib: int | None = None
    memory_kib: int | None = None
    persistent: bool | None = None
    autostart: bool | None = None


def _kib(value: str, where: str) -> int | None:
    number, _, unit = value.partition(" ")
    if unit != "KiB":
        return None         # "no limit" (old libvirt), or a unit this virsh does not print
    return to_int(number, where)


def _yes(value: str, yes: str, no: str) -> bool | None:
    return True if value == yes else False if value == no else None


def parse_dominfo(text: str, first_line: int = 1) -> DomInfo:
    """`virsh dominfo DOMAIN`; `first_line` numbers the lines of a section."""
    found: dict[str, str] = {}
    for n, line in enumerate(_lines(text, "dominfo"), start=first_line):
        if not line.strip():
            continue
        key, colon, _ = line[:16].partition(":")
        if not colon or not key.strip():
            raise ParseError(f"line {n}: expected 'Key:  value' (virsh dominfo), got "
                             f"{shown(line)}")
        value = line[16:] if len(line) > 16 else ""
        found.setdefault(key.strip(), value if key.strip() == "Name" else value.strip())
    where = f"line {first_line}: dominfo"
    for key in ("Name", "UUID", "State"):
        if key not in found:
            raise ParseError(f"{where}: no {key}: line")
    if not is_uuid(found["UUID"]):
        raise ParseError(f"{where}: UUID {shown(found['UUID'])} is not a UUID")
    if found["State"] not in STATES:
        raise ParseError(f"{where}: unknown state {shown(found['State'])}")
    ident = found.get("Id", "-")
    return DomInfo(
        name=found["Name"], uuid=found["UUID"], state=found["State"],
        id=None if ident == "-" else to_int(ident, f"{where}: Id"),
        os_type=found.get("OS Type") or None,
        vcpus=to_int(found["CPU(s)"], f"{where}: CPU(s)") if "CPU(s)" in found else None,
        max_memory_kib=_kib(found.get("Max memory", ""), f"{where}: Max memory"),
        memory_kib=_kib(found.get("Used memory", ""), f"{where}: Used memory"),
        persistent=_yes(found.get("Persistent", ""), "yes", "no"),
        autostart=_yes(found.get("Autostart", ""), "enable", "disable"))


def parse_domstate(text: str, first_line: int = 1) -> tuple[str, str | None]:
    """`virsh domstate --reason DOMAIN`: (state, reason or None)."""
    rows = [(n, ln) for n, ln in enumerate(_lines(text, "domstate"), start=first_line)
            if ln.strip()]
    if len(rows) != 1:
        raise ParseError(f"line {first_line}: domstate: expected one line, got {len(rows)}")
    n, line = rows[0]
    line = line.strip()
    state, reason = line, None
    if line.endswith(")") and " (" in line:
        state, _, reason = line[:-1].rpartition(" (")
    if state not in STATES:
        raise ParseError(f"line {n}: domstate: unknown state {shown(state)}")
    return state, reason


# -- domifaddr ----------------------------------------------------------------------------

@dataclass
class Address:
    nic: str                  # the interface's name on the host (vnet0), as domifaddr says
    mac: str | None
    protocol: str             # ipv4, ipv6
    address: str              # 192.168.122.23/24


def parse_domifaddr(text: str, first_line: int = 1) -> list[Address]:
    out: list[Address] = []
    lines = _lines(text, "domifaddr")
    body = [(n, ln) for n, ln in enumerate(lines, start=first_line) if ln.strip()]
    if not body:
        return out
    n, head = body[0]
    if head.split()[:2] != ["Name", "MAC"]:
        raise ParseError(f"line {n}: domifaddr: expected its header, got {shown(head)}")
    if len(body) < 2 or set(body[1][1].strip()) != {"-"}:
        raise ParseError(f"line {n + 1}: domifaddr: expected a line of dashes")
    nic = mac = None
    for n, line in body[2:]:
        words = line.split()
        if len(words) != 4 or words[2] not in ("ipv4", "ipv6"):
            raise ParseError(f"line {n}: domifaddr: expected 'NAME MAC PROTOCOL ADDRESS', "
                             f"got {shown(line)}")
        if words[0] != "-":
            nic, mac = words[0], words[1] if _MAC.fullmatch(words[1]) else None
        if nic is None:
            raise ParseError(f"line {n}: domifaddr: an address before its interface")
        out.append(Address(nic, mac, words[2], words[3]))
    return out


# -- list --all ---------------------------------------------------------------------------

@dataclass
class Listed:
    name: str
    state: str
    id: int | None = None


def parse_list(text: str) -> list[Listed]:
    """`virsh list --all` (the table: old and new column widths)."""
    lines = _lines(text, "list")
    if not lines or lines[0].split() != ["Id", "Name", "State"]:
        raise ParseError(f"line 1: expected virsh list's header 'Id Name State', got "
                         f"{shown(lines[0] if lines else '')}")
    if len(lines) < 2 or set(lines[1].strip()) != {"-"}:
        raise ParseError("line 2: expected a line of dashes")
    out = []
    by_length = sorted(STATES, key=len, reverse=True)
    for n, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        row = line.rstrip()
        state = next((s for s in by_length if row.endswith(" " + s)), None)
        ident, _, rest = row.lstrip().partition(" ")
        if state is None or not rest.strip() or len(rest.strip()) <= len(state):
            raise ParseError(f"line {n}: expected 'ID NAME STATE', got {shown(line)}")
        name = rest.strip()[:-len(state)].strip()
        if not name:
            raise ParseError(f"line {n}: no name in {shown(line)}")
        out.append(Listed(name, state, None if ident == "-" else to_int(ident, f"line {n}")))
    return out


# -- version ------------------------------------------------------------------------------

def parse_version(text: str, first_line: int = 1) -> dict[str, str]:
    """`virsh version`: {library, api, hypervisor} (as it says them: `libvirt 9.0.0`,
    `QEMU 9.0.0`, `QEMU 7.2.22`); a line it does not know is left out."""
    keys = {"Using library": "library", "Using API": "api", "Running hypervisor": "hypervisor"}
    out = {}
    for line in _lines(text, "version"):
        key, colon, value = line.partition(":")
        if colon and key.strip() in keys:
            out[keys[key.strip()]] = brief(value.strip(), 80)
    return out


# -- the domain XML -----------------------------------------------------------------------

@dataclass
class Nic:
    type: str                       # network, bridge, ethernet, direct, user, vhostuser, ...
    source: str | None = None       # the network, bridge or device it is attached to
    model: str | None = None        # virtio, e1000, rtl8139
    mac: str | None = None
    target: str | None = None       # its device on the host (vnet0; a running guest)


@dataclass
class Console:
    type: str                       # vnc, spice, rdp, ...
    port: int | None = None         # None: not assigned (autoport, not running)
    tls_port: int | None = None
    listen: str | None = None
    autoport: bool | None = None


@dataclass
class Definition:
    """One domain XML: what runs (dumpxml) or what is configured (dumpxml --inactive)."""
    name: str
    uuid: str | None = None
    type: str | None = None         # kvm, qemu, xen, test
    id: int | None = None           # present in a running guest's live XML
    title: str | None = None
    vcpus: int | None = None
    memory_kib: int | None = None   # <memory>: the maximum
    current_memory_kib: int | None = None
    nics: list[Nic] = field(default_factory=list)
    consoles: list[Console] = field(default_factory=list)


def _int_attr(value: str | None, where: str) -> int | None:
    if value is None or value in ("-1", ""):
        return None
    return to_int(value, where)


def _memory(elem: ET.Element | None, where: str) -> int | None:
    if elem is None or not (elem.text or "").strip():
        return None
    unit = (elem.get("unit") or "KiB").lower()
    if unit not in _UNITS:
        raise ParseError(f"{where}: unknown memory unit {shown(elem.get('unit'))}")
    return to_int(elem.text.strip(), where) * _UNITS[unit] // 1024


def parse_domain_xml(text: str, first_line: int = 1) -> Definition:
    where = f"line {first_line}: domain XML"
    if len(text) > MAX_XML:
        raise ParseError(f"{where}: more than {MAX_XML} characters")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ParseError(f"{where}: a DOCTYPE or entity declaration (libvirt writes none)")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:   # a lone surrogate: no XML holds one
        line = text.count("\n", 0, exc.start) + first_line
        raise ParseError(f"line {line}: domain XML: a character that is not Unicode "
                         f"text: {shown(text[exc.start:exc.start + 1])}") from None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = getattr(exc, "position", (1, 0))[0] + first_line - 1
        raise ParseError(f"line {line}: domain XML: {shown(str(exc), 120)}") from None
    if root.tag != "domain":
        raise ParseError(f"{where}: the root element is {shown(root.tag)}, not domain")
    name = root.findtext("name")
    if not name:
        raise ParseError(f"{where}: no <name>")
    uuid = (root.findtext("uuid") or "").strip() or None
    vcpu = (root.findtext("vcpu") or "").strip()
    out = Definition(
        name=name, uuid=uuid, type=root.get("type"),
        id=_int_attr(root.get("id"), f"{where}: id"),
        title=(root.findtext("title") or None),
        vcpus=to_int(vcpu, f"{where}: vcpu") if vcpu else None,
        memory_kib=_memory(root.find("memory"), f"{where}: memory"),
        current_memory_kib=_memory(root.find("currentMemory"), f"{where}: currentMemory"))
    for nic in root.iterfind("devices/interface"):
        source = nic.find("source")
        src = None
        if source is not None:
            src = next((source.get(a) for a in ("network", "bridge", "dev", "path", "address")
                        if source.get(a)), None)
        model, mac, target = nic.find("model"), nic.find("mac"), nic.find("target")
        out.nics.append(Nic(type=nic.get("type") or "?", source=src,
                            model=model.get("type") if model is not None else None,
                            mac=mac.get("address") if mac is not None else None,
                            target=target.get("dev") if target is not None else None))
    for graphics in root.iterfind("devices/graphics"):
        listen = graphics.get("listen")
        if listen is None:
            child = graphics.find("listen")
            listen = child.get("address") if child is not None else None
        autoport = graphics.get("autoport")
        out.consoles.append(Console(
            type=graphics.get("type") or "?",
            port=_int_attr(graphics.get("port"), f"{where}: graphics port"),
            tls_port=_int_attr(graphics.get("tlsPort"), f"{where}: graphics tlsPort"),
            listen=listen, autoport=None if autoport is None else autoport == "yes"))
    return out


# -- xl list ------------------------------------------------------------------------------

def xl_state(letters: str) -> str:
    """xl's six state letters as virsh's words: crashed, dying or shut down (in
    shutdown), paused, else running (r, b or none: a domain between two runs)."""
    if "c" in letters:
        return "crashed"
    if "d" in letters or "s" in letters:
        return "in shutdown"
    if "p" in letters:
        return "paused"
    return "running"


@dataclass
class XlDomain:
    name: str
    id: int
    memory_mib: int
    vcpus: int
    letters: str              # r----- -b---- --p--- ...
    cpu_seconds: str

    @property
    def state(self) -> str:
        return xl_state(self.letters)


def parse_xl_list(text: str, first_line: int = 1) -> list[XlDomain]:
    lines = [(n, ln) for n, ln in enumerate(_lines(text, "xl list"), start=first_line)
             if ln.strip()]
    if not lines or lines[0][1].split()[:5] != ["Name", "ID", "Mem", "VCPUs", "State"]:
        raise ParseError(f"line {first_line}: expected xl list's header 'Name ID Mem VCPUs "
                         f"State Time(s)', got {shown(lines[0][1] if lines else '')}")
    out = []
    for n, line in lines[1:]:
        parts = line.rsplit(None, 5)
        if len(parts) != 6 or not _XL_STATE.fullmatch(parts[4]) or \
                not re.fullmatch(r"[0-9]{1,20}\.[0-9]", parts[5]):
            raise ParseError(f"line {n}: expected 'NAME ID MEM VCPUS STATE TIME', got "
                             f"{shown(line)}")
        out.append(XlDomain(parts[0].strip(), to_int(parts[1], f"line {n}: ID"),
                            to_int(parts[2], f"line {n}: Mem"),
                            to_int(parts[3], f"line {n}: VCPUs"), parts[4], parts[5]))
    return out
