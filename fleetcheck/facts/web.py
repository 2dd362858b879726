"""The web servers' own configuration tests, in one round trip; and the var `web` of the
whole area (web.config_valid, web.responds, web.tls: its schema and value kinds are
declared here).

Apache is tested with `apache2ctl -t -D DUMP_VHOSTS` (Debian, Ubuntu; `httpd` on RHEL,
`apachectl` elsewhere): the syntax check and the virtual hosts it parsed, in one run.
nginx with `nginx -t`. Our framing, one section per server:

    fleetcheck-web: apache apache2ctl     the tool run (`none`: not installed)
    ... the tool's output (stdout and stderr), at most 1000 lines
    fleetcheck-web: exit 0                its exit status
    fleetcheck-web: nginx nginx
    ...
    fleetcheck-web: exit 1
    fleetcheck-web: end                   the last line (a cut output is an error)

The exit status decides whether the configuration is valid (both tools exit non-zero
on an error); the lines are kept as the evidence, split into errors and warnings.
The URL and TLS checks read no fact of the host: the controller asks
(fleetcheck.probes.web)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.apache_config import OVERRIDES, override_value
from fleetcheck.facts.base import Command, ParseError, shown, to_int, var_setting

NAME = "web"
VAR = "web"
MARK = "fleetcheck-web: "
END = MARK + "end"
MAX_LINES = 5000
SERVERS = ("apache", "nginx")
SCRIPT = r"""PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
t=; command -v timeout >/dev/null 2>&1 && t="timeout 60"
a=none
for c in apache2ctl httpd apachectl; do command -v "$c" >/dev/null 2>&1 && { a=$c; break; }; done
echo "fleetcheck-web: apache $a"
if [ "$a" != none ]; then
  out=$($t "$a" -t -D DUMP_VHOSTS 2>&1); rc=$?
  printf '%s\n' "$out" | head -n 1000; echo "fleetcheck-web: exit $rc"
fi
n=none; command -v nginx >/dev/null 2>&1 && n=nginx
echo "fleetcheck-web: nginx $n"
if [ "$n" != none ]; then
  out=$($t nginx -t 2>&1); rc=$?
  printf '%s\n' "$out" | head -n 1000; echo "fleetcheck-web: exit $rc"
fi
echo 'fleetcheck-web: end'
"""


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


# -- what the tools print -----------------------------------------------------------------

_LISTEN = re.compile(r"^(\S+:\d+|\*|_default_:\d+)\s+is a NameVirtualHost$")
_SINGLE = re.compile(r"^(\S+:\d+)\s+(\S+)\s+\((.+):(\d+)\)$")
_NAMED = re.compile(r"^(?:port (\d+) namevhost|default server) (\S+) \((.+):(\d+)\)$")
_ALIAS = re.compile(r"^(?:wild )?alias (\S+)$")
_APACHE_NOISE = ("VirtualHost configuration:", "wildcard NameVirtualHosts and _default_ servers:",
                 "Action '-t' failed.", "The Apache error log may have more information.")
_NGINX_LEVEL = re.compile(r"^nginx: \[(emerg|alert|crit|error|warn|notice)\] (.*)$")
_NGINX_OK = re.compile(r"^nginx: (?:the )?configuration file (\S+) "
                       r"(syntax is ok|test is successful|test failed)$")


@dataclass
class Vhost:
    listen: str                 # *:80, 10.0.0.1:443
    name: str
    file: str | None = None
    line: int | None = None
    default: bool = False
    aliases: list[str] = field(default_factory=list)


@dataclass
class ServerTest:
    server: str                     # apache | nginx
    tool: str | None = None         # the command run; None: not installed
    exit: int | None = None
    syntax_ok: bool = False         # "Syntax OK" (Apache 2.4 -D DUMP_VHOSTS: never), nginx ok
    config_file: str | None = None  # nginx: the main file tested
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vhosts: list[Vhost] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        return self.tool is not None

    @property
    def valid(self) -> bool:
        return self.installed and self.exit == 0

    @property
    def command(self) -> str:
        return f"{self.tool} -t -D DUMP_VHOSTS" if self.server == "apache" else f"{self.tool} -t"


@dataclass
class WebConfig:
    apache: ServerTest
    nginx: ServerTest

    def installed(self) -> list[ServerTest]:
        return [s for s in (self.apache, self.nginx) if s.installed]


def _apache_lines(test: ServerTest, lines: list[tuple[int, str]]) -> None:
    listen = None
    for n, raw in lines:
        line = raw.strip()
        if not line or line in _APACHE_NOISE:
            continue
        if line == "Syntax OK":
            test.syntax_ok = True
            continue
        if m := _LISTEN.match(line):
            listen = m.group(1)
            continue
        if m := _NAMED.match(line):
            if listen is None:
                raise ParseError(f"line {n}: a virtual host before its address line: "
                                 f"{shown(line)}")
            port = m.group(1)
            where = listen if port is None or listen.endswith(":" + port) else f"*:{port}"
            test.vhosts.append(Vhost(where, m.group(2), m.group(3), to_int(m.group(4), f"line {n}"),
                                     default=port is None))
            continue
        if m := _ALIAS.match(line):
            if not test.vhosts:
                raise ParseError(f"line {n}: an alias before any virtual host: {shown(line)}")
            test.vhosts[-1].aliases.append(m.group(1))
            continue
        if m := _SINGLE.match(line):
            test.vhosts.append(Vhost(m.group(1), m.group(2), m.group(3),
                                     to_int(m.group(4), f"line {n}"), default=True))
            listen = None
            continue
        (test.errors if test.exit else test.warnings).append(line)


def _nginx_lines(test: ServerTest, lines: list[tuple[int, str]]) -> None:
    for _, raw in lines:
        line = raw.strip()
        if not line:
            continue
        if m := _NGINX_OK.match(line):
            test.config_file = m.group(1)
            test.syntax_ok = test.syntax_ok or m.group(2) == "syntax is ok"
            if m.group(2) == "test failed":
                test.errors.append(line)
            continue
        m = _NGINX_LEVEL.match(line)
        if m and m.group(1) in ("warn", "notice"):
            test.warnings.append(m.group(2))
        elif m:
            test.errors.append(m.group(2))
        else:
            (test.errors if test.exit else test.warnings).append(line)


def parse(text: str) -> WebConfig:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or lines[-1] != END:
        raise ParseError(f"line {max(len(lines), 1)}: no {END!r} line at the end "
                         "(truncated output?)")
    found: dict[str, ServerTest] = {}
    current: ServerTest | None = None
    open_ = False       # inside a tested server's output (before its exit line)
    body: list[tuple[int, str]] = []
    for n, line in enumerate(lines[:-1], start=1):
        if not line.replace("\t", " ").isprintable():
            raise ParseError(f"line {n}: a control character: {shown(line)}")
        if not line.startswith(MARK):
            if not open_:
                raise ParseError(f"line {n}: output outside a section: {shown(line)}")
            body.append((n, line))
            continue
        word, _, arg = line[len(MARK):].partition(" ")
        if word in SERVERS:
            if open_:
                raise ParseError(f"line {n}: {current.server}'s section has no exit line")
            if word in found:
                raise ParseError(f"line {n}: {word} given twice")
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", arg):
                raise ParseError(f"line {n}: expected the tool's name, got {shown(arg)}")
            current = found[word] = ServerTest(word, None if arg == "none" else arg)
            open_, body = current.tool is not None, []
        elif word == "exit":
            if not open_:
                raise ParseError(f"line {n}: an exit line outside a tested server's section")
            current.exit, open_ = to_int(arg, f"line {n}"), False
            (_apache_lines if current.server == "apache" else _nginx_lines)(current, body)
        else:
            raise ParseError(f"line {n}: unknown marker {shown(line)}")
    if open_:
        raise ParseError(f"line {len(lines)}: {current.server}'s section has no exit line")
    for server in SERVERS:
        if server not in found:
            raise ParseError(f"line {len(lines)}: no {server} section")
    return WebConfig(**found)


# -- the var `web` (every check of the area) -----------------------------------------------

PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
DEFAULTS = {"timeout": 5.0, "max_body_kb": 1024, "warn_days": 30, "crit_days": 7,
            "min_protocol": "TLSv1.2", "port": 443}


def url(value: Any, what: str = "the URL") -> str:
    """An http(s) URL of the host, as requests gets it (no blank, no control character)."""
    text = values.text(value, what, max_len=2048)
    if not re.fullmatch(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", text):
        raise values.UnsafeValue(f"{what} must be an http:// or https:// URL without "
                                 f"credentials, got {shown(text)}")
    return text


def pattern(value: Any, what: str = "the body pattern") -> str:
    text = values.text(value, what, max_len=1024)
    try:
        re.compile(text)
    except re.error as exc:
        raise values.UnsafeValue(f"{what} is not a regular expression ({exc}): "
                                 f"{shown(text)}") from None
    return text


# The vars whose values reach a request, a handshake or a file (checked at load:
# fleetcheck.values): URLs, the names sent as Host / SNI, the CA bundles read on the
# controller, what the AllowOverride fix writes and where.
VALUE_KINDS = {
    "web.responds.urls[].url": url,
    "web.responds.urls[].body": pattern,
    "web.tls.endpoints[].name": values.dns_name,
    "web.tls.ca_bundle": values.local_path,
    "web.tls.endpoints[].ca_bundle": values.local_path,
    "web.allow_override.set_to": override_value,
    "web.allow_override.files[]": values.path,
}

_CA = ("a PEM file of CA certificates on the controller (relative to the inventory's "
       "directory); unset: the controller's system store")
_DAYS = {"type": "integer", "minimum": 0}
VARS = {
    VAR: {
        "type": "object",
        "description": "the web servers (web.config_valid, web.responds, web.tls); a key "
                       "null turns its check off",
        "x-expected": "a mapping (like {responds: {urls: [...]}, tls: {endpoints: [...]}})",
        "properties": {
            "config_valid": {
                "type": "object", "description": "web.config_valid: Apache's and nginx's "
                "configuration tests, where they are installed",
                "properties": {
                    "servers": {"type": "array", "default": [], "description":
                                "the servers that must be installed on the host",
                                "items": {"enum": list(SERVERS), "description": "apache or "
                                          "nginx"},
                                "x-expected": "a list of apache, nginx"},
                },
                "additionalProperties": False,
            },
            "responds": {
                "type": "object", "description": "web.responds: URLs asked from the "
                "controller, at the host's inventory address",
                "properties": {
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "default":
                                DEFAULTS["timeout"], "description": "seconds to connect, "
                                "and to wait for each read"},
                    "max_body_kb": {"type": "integer", "minimum": 1, "default":
                                    DEFAULTS["max_body_kb"], "description": "the most of a "
                                    "body read to match `body` against"},
                    "urls": {"type": "array", "description": "the URLs the host serves",
                             "x-expected": "a list of {url, status, body, follow_redirects}",
                             "items": {
                                 "type": "object", "description": "one URL",
                                 "required": ["url"],
                                 "properties": {
                                     "url": {"type": "string", "description": "http(s)://"
                                             "NAME[:PORT]/PATH: NAME is sent as the Host "
                                             "header (and TLS name), the connection goes to "
                                             "the host's inventory address"},
                                     "status": {"anyOf": [
                                         {"type": "integer", "minimum": 100, "maximum": 599,
                                          "description": "a status code"},
                                         {"type": "array", "items": {"type": "integer",
                                          "description": "a status code"},
                                          "description": "status codes accepted"}],
                                         "default": 200, "x-expected": "a status code or a "
                                         "list of them", "description": "the status "
                                         "expected (the last one, after declared redirects)"},
                                     "body": {"type": "string", "description": "a regular "
                                              "expression the body must match (re.search)"},
                                     "follow_redirects": {"type": "boolean", "default": False,
                                                          "description": "follow redirects "
                                                          "(at most 5, only to the same name)"},
                                     "verify": {"type": "boolean", "default": False,
                                                "description": "https: also verify the "
                                                "certificate against web.tls.ca_bundle"},
                                 },
                                 "additionalProperties": False}},
                },
                "additionalProperties": False,
            },
            "tls": {
                "type": "object", "description": "web.tls: HTTPS endpoints checked from "
                "the controller with Python's ssl module",
                "properties": {
                    "warn_days": dict(_DAYS, default=DEFAULTS["warn_days"], description=
                                      "a certificate expiring within this many days is "
                                      "low"),
                    "crit_days": dict(_DAYS, default=DEFAULTS["crit_days"], description=
                                      "... within this many days (or expired) is high"),
                    "min_protocol": {"enum": ["TLSv1.2", "TLSv1.3"], "default":
                                     DEFAULTS["min_protocol"], "description": "no older "
                                     "protocol may be accepted (TLS 1.0 and 1.1 are tried)"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "default":
                                DEFAULTS["timeout"], "description": "seconds per handshake"},
                    "ca_bundle": {"type": "string", "description": _CA},
                    "endpoints": {"type": "array", "description": "the HTTPS endpoints of "
                                  "the host", "x-expected": "a list of {name, port}",
                                  "items": {
                                      "type": "object", "description": "one endpoint",
                                      "required": ["name"],
                                      "properties": {
                                          "name": {"type": "string", "description": "the "
                                                   "name sent (SNI) and the certificate "
                                                   "must match"},
                                          "port": {"type": "integer", "minimum": 1,
                                                   "maximum": 65535, "default": 443,
                                                   "description": "the TCP port"},
                                          "ca_bundle": {"type": "string", "description":
                                                        "this endpoint's CA bundle: " + _CA},
                                      },
                                      "additionalProperties": False}},
                },
                "additionalProperties": False,
            },
            "userdir": {
                "type": "object", "description": "web.userdir: Apache's mod_userdir "
                "(http://HOST/~user/ served from users' home directories)",
                "properties": {
                    "enabled": {"type": "boolean", "default": False, "description":
                                "users' directories may be served (then never root's)"},
                },
                "additionalProperties": False,
            },
            "allow_override": {
                "type": "object", "description": "web.allow_override: what .htaccess "
                "files may override in Apache's <Directory> sections",
                "properties": {
                    "allowed": {"type": "array", "default": ["None"], "description":
                                "the override classes an AllowOverride may grant",
                                "items": {"enum": list(OVERRIDES), "description":
                                          "an AllowOverride class"},
                                "x-expected": "a list of " + ", ".join(OVERRIDES)},
                    "set_to": {"type": "string", "default": "None", "description":
                               "what the fix sets a granting AllowOverride to (classes of "
                               "`allowed`, blank-separated)"},
                    "files": {"type": "array", "default": [], "description": "the "
                              "configuration files the fix may edit (real paths: "
                              "sites-available, not their sites-enabled links); none: no fix",
                              "items": {"type": "string", "description": "an absolute path"}},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """The value of `web.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)
