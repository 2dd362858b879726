"""Virtual machine guests on a hypervisor host: the fact `vm_guests` (libvirt's virsh,
else Xen's `xl list`), and the var `vm` of the area (its schema and value kinds).

The data model (what `vm.*` checks, their fixes and `fleetcheck guests` read):

- `VmGuests`: `tool` (virsh, xl, or None: neither is installed), `binary`, `uri`,
  `error` (the hypervisor could not be reached: virsh's own message), `version`
  ({library, api, hypervisor}), `listed` (guests the hypervisor listed), `guests`
  (at most MAX_GUESTS), `vanished` (UUIDs listed but gone before they were read);
  `applicable`: a tool and no error.
- `Guest`: `name`, `state` (virsh's words: running, idle, paused, in shutdown, shut
  off, crashed, pmsuspended, no state), `reason` (booted, user, unknown, ...), `uuid`,
  `id` (None when not running), `autostart`, `persistent` (None: not told, xl),
  `vcpus`, `memory_kib` (used), `max_memory_kib`, `os_type`, `addresses` (domifaddr:
  nic, mac, protocol, address), `live` (the running definition: dumpxml) and
  `configured` (dumpxml --inactive), each a `Definition` (name, uuid, type, id, title,
  vcpus, memory_kib, current_memory_kib, `nics` [type, source, model, mac, target],
  `consoles` [type, port, tls_port, listen, autoport]). `nics` and `console` give the
  live view when the guest runs, else the configured one; a console's port is the VNC
  display + 5900 (`vncdisplay` says `:N`; the live XML says the port itself).

How it is gathered (one `sh -c` script, LC_ALL=C, bounded in time and size): with
virsh, one connection lists the guests by UUID (`list --all --uuid`, `list --uuid` for
the active ones) and `version`; a second one reads every guest, all in one virsh
command line (`dominfo`, `domstate --reason`, for an active guest `domifaddr` and
`dumpxml`, and `dumpxml --inactive`), each as `CMD -- UUID`. A guest is never named
on a command line: its name is host output (any text libvirt takes: blanks, quotes,
a leading '-', a number that virsh would read as an ID), while a UUID is checked to
be hex before it is used. The sections are separated by `echo` lines carrying a
random mark chosen by this run, so no text inside a guest's XML (its description)
can pass for one. Without virsh, `xl list` (the running domains; Domain-0, the host,
left out). Neither: not applicable. virsh's stderr is dropped, but when the first
connection fails, `virsh uri` tells why (`failed to connect to the hypervisor`).

A text that is not the script's output is read as a capture of one command: `virsh
list --all`, `virsh dominfo`, `virsh dumpxml` (running when it has an id, else shut
off) or `xl list` (`python -m fleetcheck parse vm_guests FILE`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts import virsh
from fleetcheck.facts.base import Command, ParseError, bounded_lines, shown, to_int, var_setting
from fleetcheck.facts.virsh import ACTIVE, Address, Definition

NAME = "vm_guests"
VAR = "vm"
DEFAULT_URI = "qemu:///system"
MARK = "fleetcheck-vm: mark "
MAX_GUESTS = 1000
MAX_LIST = 1024 * 1024
MAX_GUEST_BYTES = 16 * 1024 * 1024
LIST_TIMEOUT = 20
READ_TIMEOUT = 35
DECLARED_STATES = ("running", "paused", "shut off")
SEVERITIES = ("critical", "high", "medium", "low", "info")
_UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# $1 the libvirt URI, $2 the most guests read. Markers: "$m: WORD ...".
SCRIPT = f"""LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/usr/local/bin"
set -f
uri=$1 max=$2
n=$(od -An -N8 -tx1 /dev/urandom 2>/dev/null | tr -dc 0-9a-f)
[ -n "$n" ] || n=$$
m="fleetcheck-vm-$n"
echo "{MARK}$n"
if v=$(command -v virsh 2>/dev/null); then
  echo "$m: virsh $v"
  echo "$m: uri $uri"
  a=$({{ timeout {LIST_TIMEOUT} virsh -c "$uri" "echo $m: version; version; echo $m: active; \\
list --uuid; echo $m: all; list --all --uuid" </dev/null 2>/dev/null; echo "$m: rc $?"; }} \\
    | head -c {MAX_LIST})
  printf '%s\\n' "$a"
  case "$a" in
    *"$m: rc 0"*) ;;
    *) echo "$m: error"
       timeout 10 virsh -c "$uri" uri </dev/null 2>&1 >/dev/null | head -n 4 | cut -c1-300
       echo "$m: end"; exit 0 ;;
  esac
  all=$(printf '%s\\n' "$a" | sed -n "/^$m: all\\$/,\\$p" | grep -xE '{_UUID_RE}')
  active=$(printf '%s\\n' "$a" | sed -n "/^$m: active\\$/,/^$m: all\\$/p" \\
    | grep -xE '{_UUID_RE}' | tr '\\n' ' ')
  echo "$m: guests $(printf '%s\\n' "$all" | grep -c .)"
  cmds= i=0
  for u in $all; do
    i=$((i + 1)); [ "$i" -le "$max" ] || break
    cmds="$cmds echo $m: guest $u; dominfo -- $u; echo $m: state; domstate --reason -- $u;"
    case " $active " in
      *" $u "*) cmds="$cmds echo $m: addresses; domifaddr -- $u; echo $m: live; \\
dumpxml -- $u;" ;;
    esac
    cmds="$cmds echo $m: config; dumpxml --inactive -- $u;"
  done
  if [ -n "$cmds" ]; then
    {{ timeout {READ_TIMEOUT} virsh -c "$uri" "$cmds" </dev/null 2>/dev/null
      echo "$m: rc $?"; }} | head -c {MAX_GUEST_BYTES}
  fi
elif x=$(command -v xl 2>/dev/null); then
  echo "$m: xl $x"
  {{ timeout {LIST_TIMEOUT} xl list </dev/null 2>&1; echo "$m: rc $?"; }} | head -c {MAX_LIST}
else
  echo "$m: none"
fi
echo "$m: end"
"""


@dataclass
class Guest:
    name: str
    state: str
    uuid: str | None = None
    id: int | None = None
    reason: str | None = None
    autostart: bool | None = None
    persistent: bool | None = None
    vcpus: int | None = None
    memory_kib: int | None = None
    max_memory_kib: int | None = None
    os_type: str | None = None
    addresses: list[Address] = field(default_factory=list)
    live: Definition | None = None
    configured: Definition | None = None

    @property
    def active(self) -> bool:
        """It has a process (any state but shut off and no state)."""
        return self.state in ACTIVE

    @property
    def nics(self):
        view = self.live or self.configured
        return view.nics if view else []

    @property
    def console(self):
        """The first graphics console with a port (the live one), else None."""
        view = self.live or self.configured
        return next((c for c in (view.consoles if view else []) if c.port), None)


@dataclass
class VmGuests:
    tool: str | None = None          # virsh, xl; None: neither is installed
    binary: str | None = None
    uri: str | None = None
    error: str | None = None         # the hypervisor could not be reached
    version: dict[str, str] = field(default_factory=dict)
    listed: int = 0
    guests: list[Guest] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    capture: str | None = None       # read from a capture of one command

    @property
    def applicable(self) -> bool:
        return self.tool is not None and self.error is None

    def guest(self, name: str) -> Guest | None:
        return next((g for g in self.guests if g.name == name), None)


# -- the command and its output ---------------------------------------------------------

def command(hostvars: Mapping[str, Any]) -> Command:
    conf = var_setting(hostvars, VAR) or {}
    uri = libvirt_uri(conf.get("uri") or DEFAULT_URI, "vm.uri")
    return Command("sh -c %s sh %s %s", SCRIPT, uri, MAX_GUESTS)


def parse(text: str) -> VmGuests:
    if not text.startswith(MARK):
        return parse_capture(text)
    lines = bounded_lines(text, MAX_LIST * 2 + MAX_GUEST_BYTES, MAX_GUEST_BYTES // 16)
    nonce = lines[0][len(MARK):]
    if not re.fullmatch(r"[0-9a-f]{1,32}", nonce):
        raise ParseError(f"line 1: a mark of hex digits, got {shown(nonce)}")
    mark = f"fleetcheck-vm-{nonce}: "
    if len(lines) < 2 or lines[-1] != mark + "end":
        raise ParseError(f"line {len(lines)}: no end line (truncated)")
    sections: list[tuple[int, str, list[str]]] = []
    for n, line in enumerate(lines[1:-1], start=2):
        if line.startswith(mark):
            sections.append((n, line[len(mark):], []))
        elif not sections:
            raise ParseError(f"line {n}: unexpected {shown(line)}")
        else:
            sections[-1][2].append(line)
    return _read(sections)


def _body(lines: list[str]) -> str:
    return "".join(ln + "\n" for ln in lines)


def _uuids(n: int, lines: list[str]) -> list[str]:
    out = []
    for i, line in enumerate(lines, start=n + 1):
        if line.strip() and not virsh.is_uuid(line.strip()):
            raise ParseError(f"line {i}: expected a UUID, got {shown(line)}")
        if line.strip():
            out.append(line.strip())
    return out


def _read(sections: list[tuple[int, str, list[str]]]) -> VmGuests:
    out = VmGuests()
    guest: dict[str, Any] | None = None
    reading = False                 # past "guests N": the second connection's output
    done = False
    raw: list[dict[str, Any]] = []
    xl_body: list[str] = []
    for n, word, body in sections:
        head, _, arg = word.partition(" ")
        where = f"line {n}"
        if head in ("virsh", "xl") and arg.startswith("/"):
            out.tool, out.binary = head, arg
            if head == "xl":
                xl_body = body
                out.guests = _xl_guests(n, body)
                out.listed = len(out.guests)
        elif head == "none" and not arg:
            out.tool = None
        elif head == "uri" and arg:
            out.uri = arg
        elif head == "version":
            out.version = virsh.parse_version(_body(body), n + 1)
        elif head in ("active", "all"):
            if head == "all":
                _uuids(n, body)
        elif head == "rc":
            rc = to_int(arg, where)
            if out.tool == "xl" and rc != 0:
                out.error = "; ".join(ln.strip() for ln in xl_body
                                      if ln.strip())[:300] or f"xl list exited {rc}"
                out.guests = []
            elif reading:
                done = True
                if rc == 124:
                    raise ParseError(f"{where}: virsh did not end in {READ_TIMEOUT} s "
                                     "(the guests after the last one shown are missing)")
        elif head == "error":
            out.error = "; ".join(ln.strip() for ln in body if ln.strip())[:300] or \
                "virsh could not connect to the hypervisor"
        elif head == "guests":
            out.listed = to_int(arg, where)
            reading = True
        elif head == "guest" and reading and virsh.is_uuid(arg):
            guest = {"uuid": arg, "line": n, "info": body}
            raw.append(guest)
        elif head in ("state", "addresses", "live", "config") and guest is not None:
            guest[head] = (n, body)
        else:
            raise ParseError(f"{where}: unexpected marker {shown(word)}")
    if reading and raw and not done:
        raise ParseError(f"line {sections[-1][0]}: the guests' output was cut at "
                         f"{MAX_GUEST_BYTES} bytes")
    for g in raw:
        built = _guest(g)
        if built is None:
            out.vanished.append(g["uuid"])
        else:
            out.guests.append(built)
    return out


def _guest(g: dict[str, Any]) -> Guest | None:
    if not any(ln.strip() for ln in g["info"]):
        return None         # listed, then gone before it was read (its error dropped)
    info = virsh.parse_dominfo(_body(g["info"]), g["line"] + 1)
    if info.uuid != g["uuid"]:
        raise ParseError(f"line {g['line'] + 1}: dominfo of {info.uuid} in the section of "
                         f"{g['uuid']}")
    state, reason = info.state, None
    if "state" in g and any(ln.strip() for ln in g["state"][1]):
        state, reason = virsh.parse_domstate(_body(g["state"][1]), g["state"][0] + 1)

    def xml(key: str) -> Definition | None:
        if key not in g or not any(ln.strip() for ln in g[key][1]):
            return None
        return virsh.parse_domain_xml(_body(g[key][1]).strip() + "\n", g[key][0] + 1)

    addresses = []
    if "addresses" in g:
        addresses = virsh.parse_domifaddr(_body(g["addresses"][1]), g["addresses"][0] + 1)
    return Guest(name=info.name, state=state, uuid=info.uuid, id=info.id, reason=reason,
                 autostart=info.autostart, persistent=info.persistent, vcpus=info.vcpus,
                 memory_kib=info.memory_kib, max_memory_kib=info.max_memory_kib,
                 os_type=info.os_type, addresses=addresses, live=xml("live"),
                 configured=xml("config"))


def _xl_guests(n: int, body: list[str]) -> list[Guest]:
    text = _body(body)
    if not text.lstrip().startswith("Name"):
        return []           # xl's error: its rc line says so
    return [Guest(name=d.name, state=d.state, id=d.id, vcpus=d.vcpus,
                  memory_kib=d.memory_mib * 1024)
            for d in virsh.parse_xl_list(text, n + 1) if d.id != 0]


def parse_capture(text: str) -> VmGuests:
    """One command's output, as captured (see the module's docstring)."""
    first = text.lstrip("\n").split("\n", 1)[0]
    if first.lstrip().startswith("<domain"):
        d = virsh.parse_domain_xml(text)
        running = d.id is not None
        return VmGuests(tool="virsh", capture="dumpxml", listed=1, guests=[Guest(
            name=d.name, state="running" if running else "shut off", uuid=d.uuid, id=d.id,
            vcpus=d.vcpus, memory_kib=d.current_memory_kib, max_memory_kib=d.memory_kib,
            live=d if running else None, configured=None if running else d)])
    if first.split() == ["Id", "Name", "State"]:
        rows = virsh.parse_list(text)
        return VmGuests(tool="virsh", capture="list", listed=len(rows), guests=[
            Guest(name=r.name, state=r.state, id=r.id) for r in rows])
    if first.startswith("Id:"):
        info = virsh.parse_dominfo(text)
        return VmGuests(tool="virsh", capture="dominfo", listed=1, guests=[Guest(
            name=info.name, state=info.state, uuid=info.uuid, id=info.id,
            autostart=info.autostart, persistent=info.persistent, vcpus=info.vcpus,
            memory_kib=info.memory_kib, max_memory_kib=info.max_memory_kib,
            os_type=info.os_type)])
    if first.split()[:2] == ["Name", "ID"]:
        guests = _xl_guests(0, text.split("\n"))
        return VmGuests(tool="xl", capture="xl list", listed=len(guests), guests=guests)
    raise ParseError(f"line 1: neither the fact's output nor a capture of virsh list --all, "
                     f"dominfo, dumpxml or xl list: {shown(first)}")


# -- the fleet: a declared guest found on another host ----------------------------------

def hypervisors(fleet: Mapping[str, Any], but: str) -> list[str]:
    """The other inventory hosts whose var `vm` is set (not null), not offline."""
    from fleetcheck.selection.filters import is_offline

    out = []
    for name, entry in fleet.items():
        if name == but or var_setting(entry.vars, VAR) is None:
            continue
        try:
            if is_offline(entry):
                continue
        except ValueError:
            continue
        out.append(name)
    return out


def found_elsewhere(name: str, hosts: list[str],
                    facts_of: Callable[[str], Any]) -> tuple[list[tuple[str, Guest]], list[str]]:
    """([(host, guest)] of the other hypervisors that have a guest `name`, [hosts whose
    guests could not be read, with why])."""
    found, unread = [], []
    for other in hosts:
        try:
            state = facts_of(other).get(NAME)
        except Exception as exc:  # noqa: BLE001 - unreachable, a fact error: said, not fatal
            unread.append(f"{other} ({str(exc).splitlines()[0][:120] if str(exc) else exc!r})")
            continue
        guest = state.guest(name) if state.applicable else None
        if guest is not None:
            found.append((other, guest))
    return found, unread


# -- the var `vm` ---------------------------------------------------------------------------

_URI = re.compile(r"[a-z][a-z0-9+]{0,31}:(//[^\s]{0,500})?")


def libvirt_uri(value: Any, what: str = "the URI") -> str:
    """A libvirt connection URI (qemu:///system, qemu+ssh://host/system, test:///default)."""
    text = values.word(value, what)
    if not _URI.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a libvirt URI like qemu:///system, got "
                                 f"{shown(text)}")
    return text


def guest_name(value: Any, what: str = "the guest") -> str:
    """A guest's name as libvirt takes it: any printable text but '/' (it never reaches
    a command line: fixes name a guest by its UUID)."""
    text = values.text(value, what, max_len=255)
    if "/" in text:
        raise values.UnsafeValue(f"{what} must not contain '/': {shown(text)}")
    return text


VALUE_KINDS = {
    "vm.uri": libvirt_uri,
    "vm.guests[].name": guest_name,
    "vm.undeclared.ignore[]": lambda v, what="the pattern": values.text(v, what, max_len=255),
}
GUEST = {
    "type": "object",
    "description": "a guest this host must carry",
    "properties": {
        "name": {"type": "string", "description": "the guest's name (virsh list --all)"},
        "state": {"enum": list(DECLARED_STATES), "default": "running",
                  "description": "the state it must be in"},
        "autostart": {"type": ["boolean", "null"], "default": None,
                      "description": "whether libvirt starts it at boot (null: not judged)"},
    },
    "required": ["name"],
    "additionalProperties": False,
}
VARS = {
    VAR: {
        "type": ["object", "null"],
        "description": "virtual machine guests on a libvirt/KVM (or Xen xl) hypervisor "
                       "host (vm.guests, vm.autostart, vm.undeclared); null: not judged",
        "x-expected": "a mapping (like {guests: [{name: web1, state: running}]})",
        "properties": {
            "uri": {"type": "string", "default": DEFAULT_URI,
                    "description": "the libvirt URI virsh connects to (virsh -c)"},
            "guests": {"type": ["array", "null"], "default": [], "items": GUEST,
                       "description": "the guests this host carries, each in its state "
                                      "(a guest declared here and found on another "
                                      "hypervisor of the inventory is reported as moved)"},
            "undeclared": {
                "type": ["object", "null"],
                "description": "vm.undeclared: guests that run here and are not declared "
                               "(null: not judged)",
                "properties": {
                    "severity": {"enum": list(SEVERITIES), "default": "info",
                                 "description": "the severity of such a guest"},
                    "ignore": {"type": "array", "default": [],
                               "items": {"type": "string",
                                         "description": "a name or a glob (test-*)"},
                               "description": "guests never reported"},
                    "shutdown": {"type": "boolean", "default": False,
                                 "description": "--remediate shuts such a running guest "
                                                "down gracefully (vm.shutdown applies; "
                                                "false: no fix)"},
                },
                "additionalProperties": False,
            },
            "shutdown": {
                "type": "object",
                "description": "how a fix shuts a guest down",
                "properties": {
                    "timeout_s": {"type": "integer", "minimum": 1, "maximum": 3600,
                                  "default": 120,
                                  "description": "how long to wait for a guest to shut "
                                                 "itself off after `virsh shutdown`"},
                    "destroy_after_timeout": {
                        "type": "boolean", "default": False,
                        "description": "`virsh destroy` (power off) a guest still running "
                                       "after the timeout (else the fix fails)"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`vm` with its defaults; None when the var is null. An unset var is {} (the
    guests found are still reported by vm.undeclared)."""
    if VAR in hostvars and hostvars[VAR] is None:
        return None
    conf = var_setting(hostvars, VAR) or {}
    undeclared = conf.get("undeclared", {})
    shutdown = conf.get("shutdown") or {}
    return {
        "uri": conf.get("uri") or DEFAULT_URI,
        "guests": None if "guests" in conf and conf["guests"] is None else [
            {"name": str(g["name"]), "state": g.get("state") or "running",
             "autostart": g.get("autostart")} for g in conf.get("guests") or []],
        "undeclared": None if undeclared is None else {
            "severity": (undeclared or {}).get("severity") or "info",
            "ignore": list((undeclared or {}).get("ignore") or []),
            "shutdown": bool((undeclared or {}).get("shutdown"))},
        "shutdown": {"timeout_s": shutdown.get("timeout_s") or 120,
                     "destroy_after_timeout": bool(shutdown.get("destroy_after_timeout"))},
    }


def in_state(found: str, wanted: str) -> bool:
    """A guest in `found` is in the declared `wanted` (Xen's idle, a blocked domain,
    is running)."""
    return found == wanted or (wanted == "running" and found == "idle")


def ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
