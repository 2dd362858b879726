"""OpenVPN (LPIC-2 212.5): each instance's configuration as OpenVPN 2.6 reads it, the
binary's own reading of it, its process and the files it names: the fact `openvpn`,
and the var `vpn` of the area (vpn.openvpn: its schema and value kinds are here).

An instance is a configuration file and the daemon started with it: Debian's
`openvpn-server@NAME` (systemd, /etc/openvpn/server/NAME.conf), `openvpn@NAME` and
/etc/init.d/openvpn (/etc/openvpn/NAME.conf); RHEL's openvpn-server@NAME the same. The
fact is given the declared instances (name, and the file where declared), else it finds
the files of both places.

Configuration syntax (OpenVPN 2.6's options.c, parse_line and read_config_file, tried
with Debian bookworm's 2.6.14): one option a line, its words separated by blanks; a
word may be quoted with `"..."` (backslash escapes inside) or `'...'` (none), and a
backslash escapes a blank or a quote outside them; a `#` or `;` where a word starts
begins a comment (`port 1194 # x` is `port 1194`); an option may be written `--port`;
`<ca>` ... `</ca>` holds a file inline. An unclosed quote or inline block is a line
OpenVPN refuses (kept in `refused`: the daemon does not start), not a ParseError.

The binary's reading (`test`): OpenVPN has no configuration test mode. `--test-crypto`
parses every option (an unknown name, a wrong number of arguments, a bad cipher list)
and stops at its own requirement of `--secret` before anything runs, so that message
alone means the file was read (with `secret`, the in-memory crypto self-test runs).
Parsing is not free of effects: `log`, `log-append` and `syslog` open their targets the
moment they are read (tried: `log FILE` truncated FILE), and `plugin` loads a library;
so the file is given to the binary on its standard input (`--config /proc/self/fd/0`)
with those lines blanked (their line numbers kept), and nothing on the host is written.
The files the configuration names (ca, cert, key, dh, tls-auth, tls-crypt, ...) are
checked to exist by the fact (relative to the file's directory, or its `cd`), as the
daemon would only at start.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, bounded_lines, shown, to_int, var_setting

NAME = "openvpn"
VAR = "vpn"
MARK = "fleetcheck-openvpn: "
END = MARK + "end"
MAX_BYTES = 262144          # one configuration (inline keys and certificates included)
MAX_LINES = 20000
MAX_INSTANCES = 64
MAX_WORDS = 16              # OpenVPN's MAX_PARMS
MAX_REFUSED = 20
SEARCHED = ("/etc/openvpn/server", "/etc/openvpn")      # NAME.conf in each, in order
# options whose argument is a file the daemon reads at start
FILE_OPTIONS = ("ca", "cert", "key", "dh", "tls-auth", "tls-crypt", "tls-crypt-v2",
                "crl-verify", "pkcs12", "secret", "extra-certs")
# blanked before the binary reads the file: they act while being parsed
BLANKED = ("log", "log-append", "syslog", "plugin")
TLS_KEYS = ("tls-auth", "tls-crypt", "tls-crypt-v2")
# the --test-crypto requirement a TLS configuration meets last: the file was read
TEST_DONE = "Options error: You must define key file (--secret)"
# 64-bit block ciphers (SWEET32) and no cipher: OpenVPN 2.6's manual deprecates them
DEPRECATED_CIPHERS = ("BF-*", "CAST5-*", "DES-*", "DESX-*", "IDEA-*", "RC2-*", "RC5-*",
                      "none")
WEAK_AUTH = ("NONE", "MD5", "MD4", "RSA-MD5")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")
_OPTION = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


# -- the configuration file ------------------------------------------------------------

@dataclass
class Option:
    name: str
    args: list[str]
    line: int


@dataclass
class Refused:
    line: int
    text: str
    reason: str


@dataclass
class OpenVPNConf:
    options: list[Option] = field(default_factory=list)
    inline: dict[str, int] = field(default_factory=dict)     # <tag> -> its first line
    refused: list[Refused] = field(default_factory=list)

    def last(self, name: str) -> Option | None:
        """The option's last occurrence (OpenVPN: the last one wins)."""
        found = [o for o in self.options if o.name == name]
        return found[-1] if found else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        opt = self.last(name)
        return opt.args[0] if opt and opt.args else default

    def has(self, name: str) -> bool:
        """The option is set, as an option or inline."""
        return self.last(name) is not None or name in self.inline

    @property
    def mode(self) -> str:
        """server (server, server-bridge, mode server, tls-server), client, or static
        (a pre-shared key: secret), else p2p."""
        if self.has("secret"):
            return "static"
        if (self.last("server") or self.last("server-bridge") or self.arg("mode") == "server"
                or self.last("tls-server")):
            return "server"
        if self.last("client") or self.last("tls-client"):
            return "client"
        return "p2p"

    def port(self) -> int | None:
        text = self.arg("lport") or self.arg("port") or "1194"
        return int(text) if text.isdigit() and 0 < int(text) < 65536 else None

    def proto(self) -> str:
        """udp or tcp (tcp-server, tcp-client, udp4, tcp6 ... read as their family)."""
        return "tcp" if (self.arg("proto") or "udp").startswith("tcp") else "udp"

    def ciphers(self) -> list[tuple[str, str, int]]:
        """(option, cipher, line) of cipher, data-ciphers (ncp-ciphers) and
        data-ciphers-fallback."""
        out = []
        for opt in self.options:
            if opt.name in ("cipher", "data-ciphers-fallback") and opt.args:
                out.append((opt.name, opt.args[0], opt.line))
            elif opt.name in ("data-ciphers", "ncp-ciphers") and opt.args:
                out += [(opt.name, c, opt.line) for c in opt.args[0].split(":") if c]
        return out

    def files(self) -> list[tuple[str, str, int]]:
        """(option, path, line) of every file the daemon reads at start (inline ones
        and `dh none` left out)."""
        out = []
        for opt in self.options:
            if opt.name in FILE_OPTIONS and opt.args and opt.args[0] not in ("[inline]",):
                if not (opt.name == "dh" and opt.args[0] == "none"):
                    out.append((opt.name, opt.args[0], opt.line))
        return out


def words(line: str) -> tuple[list[str], str | None]:
    """One line as OpenVPN's parse_line splits it: (words, None), or ([], why)."""
    out: list[str] = []
    cur: list[str] = []
    state = "blank"     # blank, plain, dquote, squote
    escaped = False
    for c in line:
        if state == "squote":
            if c == "'":
                out.append("".join(cur))
                cur, state = [], "blank"
            else:
                cur.append(c)
            continue
        if escaped:
            cur.append(c)
            escaped = False
            if state == "blank":
                state = "plain"
            continue
        if c == "\\":
            escaped = True
            continue
        if state == "blank":
            if c in " \t\r\f\v":
                continue
            if c in "#;":
                break
            if c == '"':
                state = "dquote"
            elif c == "'":
                state = "squote"
            else:
                cur, state = [c], "plain"
        elif state == "plain":
            if c in " \t\r\f\v":
                out.append("".join(cur))
                cur, state = [], "blank"
            else:
                cur.append(c)
        elif state == "dquote":
            if c == '"':
                out.append("".join(cur))
                cur, state = [], "blank"
            else:
                cur.append(c)
    if state == "dquote":
        return [], 'No closing quotation (")'
    if state == "squote":
        return [], "No closing single quotation (')"
    if state == "plain" or escaped:
        out.append("".join(cur))
    return out, None


def parse_conf(text: str) -> OpenVPNConf:
    """A configuration file as OpenVPN 2.6 reads it (see the module's docstring)."""
    lines = bounded_lines(text, MAX_BYTES, MAX_LINES)
    out = OpenVPNConf()

    def refuse(n: int, raw: str, reason: str) -> None:
        if len(out.refused) < MAX_REFUSED:
            out.refused.append(Refused(n, shown(raw, 120), reason))

    inline: tuple[str, int] | None = None
    for n, raw in enumerate(lines, start=1):
        if inline:
            if raw.strip() == f"</{inline[0]}>":
                inline = None
            continue
        found, why = words(raw)
        if why:
            refuse(n, raw, why)
            continue
        if not found:
            continue
        head = found[0]
        if head.startswith("<") and head.endswith(">") and len(found) == 1 and len(head) > 2:
            tag = head[1:-1]
            if not _OPTION.fullmatch(tag):
                refuse(n, raw, f"an inline tag of an unknown option: {shown(tag)}")
                continue
            out.inline.setdefault(tag, n)
            inline = (tag, n)
            continue
        name = head[2:] if head.startswith("--") else head
        if not _OPTION.fullmatch(name):
            refuse(n, raw, f"Unrecognized option: {shown(name)}")
            continue
        if len(found) > MAX_WORDS:
            refuse(n, raw, f"more than {MAX_WORDS} words")
            continue
        out.options.append(Option(name, found[1:], n))
    if inline:
        refuse(inline[1], f"<{inline[0]}>", f"Endtag </{inline[0]}> missing")
    return out


# -- the fact -----------------------------------------------------------------------------

# $@: NAME PATH pairs (an empty PATH: NAME.conf in SEARCHED); none: every *.conf there
SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
bin=$(command -v openvpn 2>/dev/null) || {{ echo '{MARK}not installed'; exit 0; }}
echo "{MARK}installed $bin"
echo "{MARK}version $("$bin" --version 2>/dev/null | head -n 1 | cut -c1-200)"
for pid in $(pgrep -x openvpn 2>/dev/null | head -n {MAX_INSTANCES}); do
  echo "{MARK}process $pid cwd $(readlink "/proc/$pid/cwd" 2>/dev/null)"
  tr '\\000\\n' '\\n?' < "/proc/$pid/cmdline" 2>/dev/null | head -n 64 | cut -c1-1024 \\
    | sed 's/^/|a /'
done
one() {{
  name=$1 conf=$2
  if [ ! -f "$conf" ]; then echo "{MARK}instance $name config $conf missing"; return; fi
  echo "{MARK}instance $name config $conf size $(wc -c < "$conf")"
  head -c {MAX_BYTES} -- "$conf" | awk '{{ print "| " $0 }}'
  dir=$(dirname -- "$conf")
  cd=$(awk '($1 == "cd" || $1 == "--cd") && NF >= 2 {{ d = $2 }} END {{ print d }}' "$conf")
  case "$cd" in /*) dir=$cd ;; ?*) dir="$dir/$cd" ;; esac
  awk '{{ o = $1; sub(/^--/, "", o) }}
       o ~ /^({"|".join(FILE_OPTIONS)})$/ && NF >= 2 && $2 != "[inline]" && !(o == "dh" && $2 == "none") {{
         f = $2; gsub(/^"|"$/, "", f); print f }}' "$conf" | head -n 32 |
  while IFS= read -r f; do
    case "$f" in /*) p=$f ;; *) p="$dir/$f" ;; esac
    if [ -r "$p" ]; then echo "{MARK}file present $f"; else echo "{MARK}file missing $f"; fi
  done
  head -c {MAX_BYTES} -- "$conf" \\
    | sed -E 's/^[[:space:]]*(--)?({"|".join(BLANKED)})([[:space:]].*)?$//' \\
    | (cd "$dir" 2>/dev/null || cd /; timeout 10 "$bin" --suppress-timestamps --verb 1 \\
        --config /proc/self/fd/0 --test-crypto 2>&1; echo "{MARK}test exit $?") \\
    | tail -n 20 | cut -c1-300 | sed '/^{MARK}/!s/^/|t /'
}}
if [ $# -eq 0 ]; then
  for conf in {" ".join(d + "/*.conf" for d in SEARCHED)}; do
    [ -f "$conf" ] || continue
    name=$(basename -- "$conf" .conf)
    one "$name" "$conf"
  done | head -n {MAX_LINES}
else
  while [ $# -ge 2 ]; do
    conf=$2
    if [ -z "$conf" ]; then
      conf={SEARCHED[-1]}/$1.conf
      [ -f {SEARCHED[0]}/$1.conf ] && conf={SEARCHED[0]}/$1.conf
    fi
    one "$1" "$conf"
    shift 2
  done
fi
echo '{END}'
"""


@dataclass
class Process:
    pid: int
    cwd: str
    argv: list[str] = field(default_factory=list)

    def config(self) -> str | None:
        """The absolute path of the file it was started with (--config, relative to
        its --cd, else its working directory)."""
        conf, cd = None, None
        for i, a in enumerate(self.argv[:-1]):
            if a == "--config":
                conf = self.argv[i + 1]
            elif a == "--cd":
                cd = self.argv[i + 1]
        if conf is None:
            return None
        if conf.startswith("/"):
            return _norm(conf)
        base = cd if cd and cd.startswith("/") else self.cwd
        return _norm(f"{base}/{conf}")


def _norm(path: str) -> str:
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
        else:
            parts.append(p)
    return "/" + "/".join(parts)


@dataclass
class Instance:
    name: str
    path: str
    exists: bool = False
    size: int | None = None
    config: OpenVPNConf = field(default_factory=OpenVPNConf)
    files: dict[str, bool] = field(default_factory=dict)    # as written -> present
    test_exit: int | None = None
    test_output: list[str] = field(default_factory=list)

    def test_error(self) -> str | None:
        """What the binary refused, in its words (the path for its stdin), or None
        when it read the file (see the module's docstring)."""
        if not self.exists or self.test_exit is None:
            return None
        errors = [ln for ln in self.test_output
                  if ln.startswith("Options error:") or "ERROR:" in ln
                  or ln.startswith("Exiting due to fatal error")]
        if self.test_exit == 0 or errors == [TEST_DONE]:
            return None
        if self.test_exit == 124:
            return "the binary's test did not end in 10 s"
        first = errors[0] if errors else (self.test_output[-1] if self.test_output
                                          else f"exit status {self.test_exit}")
        if first.startswith("Exiting") and len(self.test_output) > 1:
            first = self.test_output[-2]
        return first.replace("/proc/self/fd/0", self.path)


@dataclass
class OpenVPN:
    installed: bool = True
    binary: str | None = None
    version: str | None = None      # 2.6.14
    processes: list[Process] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)

    def instance(self, name: str) -> Instance | None:
        return next((i for i in self.instances if i.name == name), None)

    def process_of(self, inst: Instance) -> Process | None:
        return next((p for p in self.processes if p.config() == _norm(inst.path)), None)


_INSTANCE = re.compile(r"instance (\S{1,64}) config (/\S{0,4095}) (?:(missing)|size ([0-9]{1,12}))")
_PROCESS = re.compile(r"process ([0-9]{1,10}) cwd (.{0,4096})")
_VERSION = re.compile(r"OpenVPN ([0-9]{1,3}\.[0-9]{1,3}(?:\.[0-9]{1,4})?[A-Za-z0-9_.~-]{0,32})\b")


def command(hostvars: Mapping[str, Any]) -> Command:
    conf = settings(hostvars) or {}
    args: list[str] = []
    for name, inst in sorted((conf.get("instances") or {}).items())[:MAX_INSTANCES]:
        inst = inst or {}
        args += [instance_name(name, "vpn.openvpn.instances"),
                 values.path(inst["config"], f"vpn.openvpn.instances.{name}.config")
                 if inst.get("config") else ""]
    return Command("sh -c %s sh" + " %s" * len(args), SCRIPT, *args)


def parse(text: str) -> OpenVPN:
    """The fact's output; text without our first line is a configuration file alone
    (a capture: one instance `capture`)."""
    if not text.startswith(MARK):
        inst = Instance("capture", "/etc/openvpn/capture.conf", exists=True,
                        size=len(text.encode("utf-8", "replace")), config=parse_conf(text))
        return OpenVPN(instances=[inst])
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES * 2 + 100:
        raise ParseError(f"line {len(lines)}: more than {MAX_LINES * 2 + 100} lines")
    if lines == [MARK + "not installed"]:
        return OpenVPN(installed=False)
    if not lines or lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    out = OpenVPN()
    body: list[str] = []
    proc: Process | None = None
    inst: Instance | None = None

    def close() -> None:
        if inst is not None and inst.exists:
            inst.config = parse_conf("".join(b + "\n" for b in body))
        body.clear()

    for n, line in enumerate(lines[:-1], start=1):
        where = f"line {n}"
        if line.startswith("|a ") or line == "|a":
            if proc is None:
                raise ParseError(f"{where}: an argument line outside a process")
            proc.argv.append(line[3:])
            continue
        if line.startswith("| ") or line == "|":
            if inst is None or not inst.exists or inst.test_exit is not None:
                raise ParseError(f"{where}: a file line outside an instance")
            body.append(line[2:])
            continue
        if line.startswith("|t ") or line == "|t":
            if inst is None:
                raise ParseError(f"{where}: a test line outside an instance")
            inst.test_output.append(line[3:])
            continue
        if not line.startswith(MARK):
            raise ParseError(f"{where}: unexpected {shown(line)}")
        word = line[len(MARK):]
        if n == 1 and word.startswith("installed /"):
            out.binary = word[len("installed "):]
        elif n == 2 and word.startswith("version"):
            found = _VERSION.search(word)
            out.version = found.group(1) if found else None
        elif (m := _PROCESS.fullmatch(word)) and inst is None:
            proc = Process(to_int(m.group(1), where), m.group(2))
            out.processes.append(proc)
        elif m := _INSTANCE.fullmatch(word):
            close()
            proc = None
            if len(out.instances) >= MAX_INSTANCES:
                raise ParseError(f"{where}: more than {MAX_INSTANCES} instances")
            inst = Instance(m.group(1), m.group(2), exists=m.group(3) is None,
                            size=to_int(m.group(4), where) if m.group(4) else None)
            if inst.size is not None and inst.size > MAX_BYTES:
                raise ParseError(f"{where}: {inst.path} has {inst.size} bytes, more than "
                                 f"{MAX_BYTES}")
            out.instances.append(inst)
        elif word.startswith("file ") and inst is not None and inst.exists:
            state, _, path = word[len("file "):].partition(" ")
            if state not in ("present", "missing") or not path:
                raise ParseError(f"{where}: unexpected {shown(line)}")
            inst.files[path] = state == "present"
        elif word.startswith("test exit ") and inst is not None and inst.exists:
            inst.test_exit = to_int(word[len("test exit "):], where)
        else:
            raise ParseError(f"{where}: unexpected {shown(line)}")
    close()
    if out.binary is None:
        raise ParseError("line 1: the installed line is missing")
    return out


# -- judging a file (vpn.openvpn, and its fix) ---------------------------------------

TLS_ORDER = ("1.0", "1.1", "1.2", "1.3")


def deprecated(cipher: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(cipher.upper(), p.upper()) for p in patterns)


def config_problems(inst: Instance, conf: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(severity, text) of what an instance's file says, judged as vpn.openvpn's
    docstring says (the binary's reading first); `conf` from `settings()`."""
    cfg, found = inst.config, []
    where = inst.path
    for bad in cfg.refused[:5]:
        found.append(("high", f"{where}:{bad.line}: {bad.reason}: the daemon does not "
                      "start with this file"))
    error = inst.test_error()
    if error and not cfg.refused:
        found.append(("high", f"openvpn refuses {where}: {error}"))
    for option, path in ((o, p) for o, p, _ in cfg.files() if not inst.files.get(p, True)):
        found.append(("high", f"{where}: {option} {path} does not exist (relative to the "
                      "file's directory): the daemon does not start"))
    mode = cfg.mode
    if mode == "static":
        found.append(("medium", f"{where}: a static key (secret): no forward secrecy, and "
                      "OpenVPN 2.6 deprecates it (2.7 removes it)"))
    elif conf["require_tls_auth"] and not any(cfg.has(k) for k in TLS_KEYS):
        found.append(("medium", f"{where}: no tls-auth, tls-crypt or tls-crypt-v2: anyone "
                      "who reaches the port starts a TLS handshake (DoS, port scans, TLS "
                      "bugs)"))
    for option, cipher, line in cfg.ciphers():
        if deprecated(cipher, conf["deprecated_ciphers"]):
            found.append(("high", f"{where}:{line}: {option} {cipher}: a deprecated cipher "
                          "(64-bit block, SWEET32; or none)"))
    auth = cfg.last("auth")
    if auth and auth.args and auth.args[0].upper() in WEAK_AUTH:
        found.append(("high", f"{where}:{auth.line}: auth {auth.args[0]}: no or a broken "
                      "HMAC on the data channel"))
    low = cfg.last("tls-version-min")
    if low and low.args and low.args[0] in TLS_ORDER and \
            TLS_ORDER.index(low.args[0]) < TLS_ORDER.index(conf["min_tls"]):
        found.append(("medium", f"{where}:{low.line}: tls-version-min {low.args[0]}, below "
                      f"the declared {conf['min_tls']}"))
    if not conf["compression"]:
        for opt in cfg.options:
            arg = opt.args[0] if opt.args else ""
            if (opt.name == "comp-lzo" and arg != "no") or \
                    (opt.name == "compress" and arg not in ("", "stub", "stub-v2", "migrate")) \
                    or (opt.name == "allow-compression" and arg == "yes"):
                found.append(("medium", f"{where}:{opt.line}: {opt.name} {arg}".rstrip()
                              + ": compression on the data channel (VORACLE)"))
    return found


# -- the var `vpn` ------------------------------------------------------------------------

def instance_name(value: Any, what: str = "the instance") -> str:
    """An instance's name: the NAME of NAME.conf and of openvpn-server@NAME."""
    text = values.word(value, what)
    if not _NAME.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an OpenVPN instance name (letters, "
                                 f"digits, '.', '_', '-', '@'), got {shown(text)}")
    return text


def cipher_pattern(value: Any, what: str = "the cipher") -> str:
    text = values.word(value, what)
    if not re.fullmatch(r"[A-Za-z0-9_*.-]{1,64}", text):
        raise values.UnsafeValue(f"{what} must be a cipher name or a pattern with '*', got "
                                 f"{shown(text)}")
    return text


VALUE_KINDS = {
    "vpn.openvpn.instances{}": instance_name,
    "vpn.openvpn.instances.*.config": values.path,
    "vpn.openvpn.deprecated_ciphers[]": cipher_pattern,
}
INSTANCE = {
    "type": ["object", "null"],
    "description": "an instance that must exist (null: as {})",
    "properties": {
        "config": {"type": ["string", "null"], "default": None,
                   "description": "its configuration file (null: NAME.conf in "
                   + ", else ".join(SEARCHED) + ")"},
        "running": {"type": ["boolean", "null"], "default": True,
                    "description": "a daemon runs with this file (null: not judged)"},
        "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535,
                 "default": None,
                 "description": "the port it must listen on (null: the file's, 1194)"},
        "proto": {"enum": ["udp", "tcp", None], "default": None,
                  "description": "udp or tcp (null: the file's)"},
    },
    "additionalProperties": False,
}
VARS = {
    VAR: {
        "type": "object",
        "description": "VPN servers (vpn.openvpn); a key null turns its check off",
        "x-expected": "a mapping (like {openvpn: {instances: {office: {}}}})",
        "properties": {
            "openvpn": {
                "type": ["object", "null"],
                "description": "vpn.openvpn: OpenVPN's instances where it is installed",
                "properties": {
                    "instances": {
                        "type": "object", "default": {},
                        "description": "the instances that must exist and run, by name "
                                       "(empty: the files found are judged, not whether "
                                       "they run)",
                        "x-key": "an instance name (NAME.conf, openvpn-server@NAME)",
                        "additionalProperties": INSTANCE},
                    "require_tls_auth": {"type": "boolean", "default": True,
                                         "description": "a TLS instance must have "
                                         "tls-auth, tls-crypt or tls-crypt-v2"},
                    "deprecated_ciphers": {
                        "type": "array",
                        "items": {"type": "string", "description": "a cipher name, or a "
                                  "pattern with '*' (BF-*)"},
                        "default": list(DEPRECATED_CIPHERS),
                        "description": "ciphers (patterns with '*') refused in cipher, "
                                       "data-ciphers and data-ciphers-fallback"},
                    "min_tls": {"enum": ["1.0", "1.1", "1.2", "1.3"], "default": "1.2",
                                "description": "the lowest tls-version-min allowed"},
                    "compression": {"type": "boolean", "default": False,
                                    "description": "whether compression (comp-lzo, "
                                    "compress ALG; VORACLE) is allowed"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`vpn.openvpn` with its defaults (None when the var or the key is unset or null)."""
    conf = var_setting(hostvars, VAR, "openvpn")
    if conf is None:
        return None
    base = {"instances": {}, "require_tls_auth": True,
            "deprecated_ciphers": list(DEPRECATED_CIPHERS), "min_tls": "1.2",
            "compression": False}
    out = {**base, **{k: v for k, v in conf.items() if v is not None}}
    out["instances"] = {str(k): {"config": None, "running": True, "port": None,
                                 "proto": None, **{a: b for a, b in (v or {}).items()
                                                   if b is not None or a == "running"}}
                        for k, v in (out["instances"] or {}).items()}
    return out
