"""A DHCPv4 server's configuration and its own test of it, in one round trip (LPIC-2
210.1); and the var `dhcp` of the area (dhcp.config_valid: its schema and value kinds
are declared here). The subnets and ranges are read from the configuration by
fleetcheck.facts.dhcp_conf's pure parsers.

Per server (ISC dhcpd: `dhcpd -t -cf FILE`; Kea: `kea-dhcp4 -t FILE`), our lines:

    fleetcheck-dhcp: isc /usr/sbin/dhcpd       the tool (`none`: not installed: no more lines)
    fleetcheck-dhcp: config /etc/dhcp/dhcpd.conf
    fleetcheck-dhcp: running 812               the pids of the daemon (`running no`)
    > ...                                      the test's output (stdout and stderr), at most 200 lines
    fleetcheck-dhcp: test exit 0
    fleetcheck-dhcp: file 1234 bytes           (`file missing`, `file unreadable`: no more lines)
    | ...                                      the file, at most 1 MiB, every line behind `| `
    fleetcheck-dhcp: file end
    fleetcheck-dhcp: kea /usr/sbin/kea-dhcp4
    ...
    fleetcheck-dhcp: end

The daemon runs when a process of that name lives (`pidof`); a dhcpd started with `-6`
is the DHCPv6 server, not counted. The file is read to judge the declared subnets;
what it holds of secrets never leaves the host: the value of every dhcpd `secret`
statement (OMAPI and DDNS keys) and of every Kea `"password"` and `"secret"` is
replaced by `"-redacted-"` on the host (as named-checkconf -x does for BIND)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts import dhcp_conf
from fleetcheck.facts.dhcp_conf import MAX_SHOWN, SERVERS, judged_servers, subnet_problems  # noqa: F401
from fleetcheck.facts.base import Command, FactError, ParseError, shown, to_int, var_setting

NAME = "dhcp"
VAR = "dhcp"
MARK = "fleetcheck-dhcp: "
END = MARK + "end"
MAX_LINES = 60000
MAX_TEST_LINES = 200
DEFAULT_CONFIG = {"isc": "/etc/dhcp/dhcpd.conf", "kea": "/etc/kea/kea-dhcp4.conf"}
TOOL = {"isc": "dhcpd", "kea": "kea-dhcp4"}
SERVICE = {"isc": "isc-dhcp-server", "kea": "kea-dhcp4-server"}   # Debian's init names
REDACTED = "-redacted-"
_ISC_REDACT = (r's/\(\(^\|[;{[:space:]]\)secret[[:space:]]\{1,\}\)[^;}]*/\1"'
               + REDACTED + '"/g')
_KEA_REDACT = (r's/\("\(password\|secret\)"[[:space:]]*:[[:space:]]*"\)\([^"\\]\|\\.\)*"/'
               r'\1' + REDACTED + '"/g')
SCRIPT = r"""PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
t=; command -v timeout >/dev/null 2>&1 && t="timeout 60"
M='fleetcheck-dhcp:'
dump() {
  if [ ! -e "$1" ]; then echo "$M file missing"
  elif [ -d "$1" ] || [ ! -r "$1" ]; then echo "$M file unreadable"
  else
    echo "$M file $(wc -c < "$1" | tr -d ' ') bytes"
    { head -c 1048576 -- "$1"; echo; } | sed -e "$2" -e 's/^/| /'
    echo "$M file end"
  fi
}
d=$(command -v dhcpd 2>/dev/null) || d=none
echo "$M isc $d"
if [ "$d" != none ]; then
  echo "$M config $1"
  r=; for p in $(pidof dhcpd 2>/dev/null); do
    tr '\000' '\n' < /proc/$p/cmdline 2>/dev/null | grep -qx -e -6 || r="$r $p"; done
  echo "$M running${r:- no}"
  out=$($t "$d" -t -cf "$1" 2>&1 </dev/null); rc=$?
  [ -n "$out" ] && printf '%s\n' "$out" | head -n 200 | sed 's/^/> /'
  echo "$M test exit $rc"
  dump "$1" '""" + _ISC_REDACT + r"""'
fi
k=$(command -v kea-dhcp4 2>/dev/null) || k=none
echo "$M kea $k"
if [ "$k" != none ]; then
  echo "$M config $2"
  r=$(pidof kea-dhcp4 2>/dev/null)
  echo "$M running ${r:-no}"
  out=$($t "$k" -t "$2" 2>&1 </dev/null); rc=$?
  [ -n "$out" ] && printf '%s\n' "$out" | head -n 200 | sed 's/^/> /'
  echo "$M test exit $rc"
  dump "$2" '""" + _KEA_REDACT + r"""'
fi
echo "$M end"
"""


def config_paths(hostvars: Mapping[str, Any]) -> dict[str, str]:
    """The file each server is tested with: `dhcp.config_valid.config` for the declared
    `server`, the Debian/upstream default otherwise."""
    conf = settings(hostvars) or {}
    out = dict(DEFAULT_CONFIG)
    if conf.get("config") is not None and conf.get("server") in SERVERS:
        out[conf["server"]] = conf["config"]
    return out


def command(hostvars: Mapping[str, Any]) -> Command:
    paths = config_paths(hostvars)
    try:
        for server, path in paths.items():
            values.path(path, f"{server}'s configuration file")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    return Command("sh -c %s fleetcheck %s %s", SCRIPT, paths["isc"], paths["kea"])


# -- parsing -----------------------------------------------------------------------------

@dataclass
class ServerConfig:
    server: str                         # isc | kea
    tool: str | None = None             # the binary; None: not installed
    config: str | None = None           # the file tested and read
    pids: list[int] = field(default_factory=list)
    test_exit: int | None = None
    test_output: list[str] = field(default_factory=list)
    file: str = "missing"               # read | missing | unreadable | truncated
    size: int | None = None             # bytes
    subnets: list[dhcp_conf.Subnet] | None = None   # None: the file could not be read
    includes: list[str] = field(default_factory=list)
    read_error: str | None = None       # why the subnets could not be read

    @property
    def installed(self) -> bool:
        return self.tool is not None

    @property
    def running(self) -> bool:
        return bool(self.pids)

    @property
    def valid(self) -> bool:
        return self.installed and self.test_exit == 0

    @property
    def test_command(self) -> str:
        return (f"dhcpd -t -cf {self.config}" if self.server == "isc"
                else f"kea-dhcp4 -t {self.config}")

    def messages(self) -> list[str]:
        """The test's lines without dhcpd's banner, Kea's syntax-ok line."""
        return [m for m in self.test_output if m.strip() and not _BANNER.match(m)]

    def error(self) -> str | None:
        """The line saying what is wrong (when the test failed): dhcpd's `FILE line N:
        ...`, Kea's `Error encountered: ...`, else the last message."""
        if not self.test_exit:
            return None
        rest = self.messages()
        for pattern in (_HEADLINE, _LOGGED):
            found = [m.strip() for m in rest if pattern.match(m.strip())]
            if found:
                return found[0]
        return rest[-1].strip() if rest else f"exit {self.test_exit}, no message"

    def subnet(self, network: str) -> dhcp_conf.Subnet | None:
        return dhcp_conf.DhcpConf(self.subnets or []).subnet(network)


@dataclass
class DhcpServers:
    isc: ServerConfig
    kea: ServerConfig

    def installed(self) -> list[ServerConfig]:
        return [s for s in (self.isc, self.kea) if s.installed]


# dhcpd's banner and informational lines, ISC's bug boilerplate after an error, Kea's
# INFO lines: not messages about the configuration
_BANNER = re.compile(
    r"(Internet Systems Consortium DHCP Server .*|Copyright \d{4}-\d{4} Internet Systems "
    r"Consortium\.|All rights reserved\.|For info, please (?:see|visit) https?://\S+|"
    r"(?:Config|Database|PID) file: .*|If you think you have received this message due to "
    r"a bug rather|than a configuration issue please read the section on submitting|bugs on "
    r"either our web page at www\.isc\.org or in the README file|before submitting a bug\. "
    r" These pages explain the proper|process and the information we find helpful for "
    r"debugging\.|exiting\.|\S+ \S+ +(?:INFO|DEBUG) +\[kea-dhcp4\..*)\s*$")
# the line that says what is wrong: dhcpd's `FILE line N: ...`, Kea's `Error encountered:`
# or `Syntax check failed with:`; else an ERROR or FATAL log line of Kea's
_HEADLINE = re.compile(r"(\S+ line \d+: .*|Error encountered: .*|Syntax check failed with: "
                       r".*)$")
_LOGGED = re.compile(r"\S+ \S+ +(?:ERROR|FATAL) +\[.*$")
_TOOL = re.compile(r"/[A-Za-z0-9_./+-]{1,255}")
_RUNNING = re.compile(r"running((?: [0-9]{1,10})+| no)")


def parse(text: str) -> DhcpServers:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or lines[-1] != END:
        raise ParseError(f"line {max(len(lines), 1)}: no {END!r} line at the end "
                         "(truncated output?)")
    found: dict[str, ServerConfig] = {}
    current: ServerConfig | None = None
    state = "none"          # where we are in the current server's section
    body: list[str] = []
    for n, line in enumerate(lines[:-1], start=1):
        if state == "file":
            if line.startswith("| ") or line == "|":
                body.append(line[2:])
                continue
            if line != MARK + "file end":
                raise ParseError(f"line {n}: expected the file's lines or its end, got "
                                 f"{shown(line)}")
            _read_file(current, "\n".join(body), n)
            state = "done"
            continue
        if not line.replace("\t", " ").isprintable():
            raise ParseError(f"line {n}: a control character: {shown(line)}")
        if line.startswith("> ") or line == ">":
            if state != "test":
                raise ParseError(f"line {n}: test output outside a test: {shown(line)}")
            if len(current.test_output) < MAX_TEST_LINES:
                current.test_output.append(line[2:])
            continue
        if not line.startswith(MARK):
            raise ParseError(f"line {n}: unexpected {shown(line)}")
        word = line[len(MARK):]
        key, _, arg = word.partition(" ")
        if key in SERVERS:
            if state not in ("none", "done"):
                raise ParseError(f"line {n}: {current.server}'s section is not complete")
            if key in found:
                raise ParseError(f"line {n}: {key} given twice")
            if arg != "none" and not _TOOL.fullmatch(arg):
                raise ParseError(f"line {n}: expected the tool's path, got {shown(arg)}")
            current = found[key] = ServerConfig(key, None if arg == "none" else arg)
            state = "done" if arg == "none" else "config"
        elif key == "config" and state == "config":
            current.config = arg or None
            state = "running"
        elif state == "running" and _RUNNING.fullmatch(word):
            pids = _RUNNING.fullmatch(word).group(1).split()
            current.pids = [] if pids == ["no"] else [to_int(p, f"line {n}") for p in pids]
            state = "test"
        elif state == "test" and key == "test" and arg.startswith("exit "):
            current.test_exit = to_int(arg[5:], f"line {n}")
            state = "filehead"
        elif state == "filehead" and key == "file":
            if arg in ("missing", "unreadable"):
                current.file, state = arg, "done"
                current.read_error = f"{current.config} is {arg}"
            elif arg.endswith(" bytes"):
                current.size = to_int(arg[:-6], f"line {n}")
                state, body = "file", []
            else:
                raise ParseError(f"line {n}: unexpected {shown(line)}")
        else:
            raise ParseError(f"line {n}: unexpected {shown(line)}")
    if state == "file":
        raise ParseError(f"line {len(lines)}: the file has no end line")
    for server in SERVERS:
        if server not in found:
            raise ParseError(f"line {len(lines)}: no {server} section")
        if found[server].installed and found[server].test_exit is None:
            raise ParseError(f"line {len(lines)}: {server}'s section is not complete")
    return DhcpServers(found["isc"], found["kea"])


def _read_file(server: ServerConfig, text: str, n: int) -> None:
    if server.size is not None and server.size > dhcp_conf.MAX_BYTES:
        server.file = "truncated"
        server.read_error = (f"{server.config} is {server.size} bytes: more than "
                             f"{dhcp_conf.MAX_BYTES} are not read")
        return
    server.file = "read"
    parser = dhcp_conf.parse_dhcpd_conf if server.server == "isc" else dhcp_conf.parse_kea_conf
    try:
        conf = parser(text)
    except ParseError as exc:
        server.read_error = f"{server.config}: {exc}"
        return
    server.subnets, server.includes = conf.subnets, conf.includes


# -- the var `dhcp` ----------------------------------------------------------------------

def network(value: Any, what: str = "the subnet") -> str:
    """An IPv4 network as NUMBER/PREFIX (10.213.47.0/24; host bits set are refused)."""
    text = values.word(value, what)
    try:
        return str(ipaddress.IPv4Network(text))
    except ValueError as exc:
        raise values.UnsafeValue(f"{what} must be an IPv4 network like 10.0.0.0/24: "
                                 f"{exc}") from None


def address_range(value: Any, what: str = "the range") -> str:
    """'LOW HIGH' (dhcpd's range), 'LOW - HIGH' (Kea's pool), a prefix, or one address."""
    text = values.text(value, what, max_len=80)
    try:
        return dhcp_conf.normal_range(text)
    except ValueError as exc:
        raise values.UnsafeValue(f"{what} must be 'LOW HIGH' (IPv4 addresses, LOW not "
                                 f"above HIGH): {exc}") from None


VALUE_KINDS = {
    "dhcp.config_valid.config": values.path,
    "dhcp.config_valid.subnets[].subnet": network,
    "dhcp.config_valid.subnets[].ranges[]": address_range,
}

VARS = {
    VAR: {
        "type": "object", "description": "DHCP (dhcp.config_valid); a key null turns its "
        "check off",
        "x-expected": "a mapping (like {config_valid: {server: isc, running: true}})",
        "properties": {
            "config_valid": {
                "type": ["object", "null"],
                "description": "dhcp.config_valid: the server's own configuration test, "
                "the declared subnets and ranges, the daemon running",
                "properties": {
                    "server": {"enum": ["isc", "kea", None], "default": None,
                               "description": "the DHCPv4 server the host runs: isc (ISC "
                               "dhcpd) or kea (kea-dhcp4); null: the ones that run, else "
                               "(with subnets or running: true declared) every installed "
                               "one"},
                    "config": {"type": ["string", "null"], "default": None,
                               "description": "the declared server's configuration file "
                               "(default /etc/dhcp/dhcpd.conf, /etc/kea/kea-dhcp4.conf); "
                               "needs server"},
                    "subnets": {
                        "type": "array", "default": [],
                        "description": "subnets the configuration must declare, each with "
                        "its ranges (others may be there too)",
                        "items": {
                            "type": "object", "required": ["subnet"],
                            "description": "a subnet and its ranges",
                            "properties": {
                                "subnet": {"type": "string", "description": "the network: "
                                           "10.213.47.0/24"},
                                "ranges": {"type": "array", "default": [],
                                           "description": "its dynamic ranges, each 'LOW "
                                           "HIGH' (dhcpd) or 'LOW - HIGH' (a Kea pool)",
                                           "items": {"type": "string",
                                                     "description": "a range"}},
                            },
                            "additionalProperties": False,
                        },
                    },
                    "running": {"type": ["boolean", "null"], "default": None,
                                "description": "true: the daemon must run (high when not); "
                                "false: it must not (a DHCP server nobody planned answers "
                                "the segment's clients: high); null: not judged"},
                },
                "dependentRequired": {"config": ["server"]},
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`dhcp.config_valid` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, "config_valid")
