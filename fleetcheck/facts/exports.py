"""NFS exports in exports(5) form: /etc/exports (this module) and `exportfs -v`
(fleetcheck.facts.exportfs) parse to the same `Exports`.

exports(5): `PATH [-DEFAULT,OPTS] CLIENT(OPTS) CLIENT ...`; `#` comments, `\\`
continuations, a path in double quotes or with `\\040` escapes. `host (rw)` with a
blank before the parenthesis exports to the world (a classic mistake): such a client
is `*` here. Options are compared on their effective value: what is not given takes
nfs-utils' default (ro, sync, root_squash, secure, wdelay, hide, no_subtree_check).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts import ganesha
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "exports"
PATH = "/etc/exports"
WORLD = {"*", "<world>", "0.0.0.0/0", "::/0", "*.*"}

# Each option family and its default (nfs-utils 2.x).
FAMILIES = [
    ({"ro", "rw"}, "ro"),
    ({"sync", "async"}, "sync"),
    ({"root_squash", "no_root_squash"}, "root_squash"),
    ({"all_squash", "no_all_squash"}, "no_all_squash"),
    ({"secure", "insecure"}, "secure"),
    ({"wdelay", "no_wdelay"}, "wdelay"),
    ({"hide", "nohide"}, "hide"),
    ({"subtree_check", "no_subtree_check"}, "no_subtree_check"),
]
OPTION = re.compile(r"^[A-Za-z0-9_]+(=[^,()\s]*)?$")


# ---------------------------------------------------------------- value kinds
# A declared export reaches /etc/exports (render_line) and, on ganesha hosts, an
# EXPORT block (ganesha.render_export): each kind holds for both syntaxes.

_PATH_SPECIAL = re.compile(r'[#(){};]')


def export_path(value: Any, what: str = "the value") -> str:
    """An export path: absolute, no '..', no control character, none of ``" \\``
    (a quote ends the quoted path, a backslash starts an octal escape or continues
    the line: ganesha.path_value) nor ``# ( ) { } ;`` (``#`` starts a comment
    anywhere on an exports line, a parenthesis opens a client's options; braces and
    ``;`` end a ganesha block or value: safe inside the quotes ganesha's writer puts
    around an unusual path, refused all the same). A blank is allowed: both writers
    quote such a path."""
    text = ganesha.path_value(value, what)
    bad = _PATH_SPECIAL.search(text)
    if bad:
        raise values.UnsafeValue(f"{what} must not contain {bad.group()!r} (an /etc/exports "
                                 f"line would read it otherwise): {values.shown(text)}")
    return text


_CLIENT_NAME = re.compile(r"[A-Za-z0-9_*?][A-Za-z0-9_.*?-]{0,254}")
_NETGROUP = re.compile(r"@[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def export_client(value: Any, what: str = "the value") -> str:
    """An exports(5) client: a host name or wildcard (``*``, ``*.lab.test``, ``?``),
    ``@netgroup``, an IP address or network (``10.0.0.0/24``, ``10.0.0.0/255.0.0.0``,
    ``2001:db8::/32``). Never ``-...`` (an exports line reads it as default options),
    a blank, a parenthesis, a comma or a quote (ganesha.client_value)."""
    text = ganesha.client_value(value, what)
    if _NETGROUP.fullmatch(text) or (_CLIENT_NAME.fullmatch(text) and ".." not in text):
        return text
    try:
        ipaddress.ip_network(text, strict=False)
        return text
    except ValueError:
        pass
    raise values.UnsafeValue(f"{what} must be an NFS client (a host name or wildcard, "
                             f"@netgroup, an address or a network), got {values.shown(text)}")


def export_clients(value: Any, what: str = "the value") -> Any:
    """The clients of a declared export: a list (each checked by ``clients[]``) or a
    string of blank-separated clients; never empty (a line without clients exports
    to the world)."""
    if isinstance(value, list):
        if not value:
            raise values.UnsafeValue(f"{what} must name at least one client (an export "
                                     "without clients is exported to the world)")
        return value
    if not isinstance(value, str):
        raise values.UnsafeValue(f"{what} must be a list of clients or a string, got "
                                 f"{values.describe(value)}")
    for word in values.text(value, what).split():
        export_client(word, what)
    return value


_OPTION_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}(?:=[A-Za-z0-9_.:/@+-]{1,255})?")


def export_option(value: Any, what: str = "the value") -> str:
    """An export option: ``word`` or ``word=value`` (value of letters, digits and
    ``_ . : / @ + -``): no comma, parenthesis, blank, quote or second '='."""
    text = values.word(value, what)
    if not _OPTION_KIND.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an export option (word or word=value), "
                                 f"got {values.shown(text)}")
    return text


def export_options(value: Any, what: str = "the value") -> list:
    """The options of a declared export: a list (a string would be read letter by
    letter)."""
    if not isinstance(value, list):
        raise values.UnsafeValue(f"{what} must be a list of options, got "
                                 f"{values.describe(value)}")
    return value


def export_list(value: Any, what: str = "the value") -> list:
    if not isinstance(value, list):
        raise values.UnsafeValue(f"{what} must be a list of exports, got "
                                 f"{values.describe(value)}")
    return value


# The vars whose values reach /etc/exports and the ganesha config (checked at load:
# fleetcheck.values; again by the nfs.exports fix and by the writers below).
VALUE_KINDS = {
    "nfs.exports": export_list,
    "nfs.exports[].path": export_path,
    "nfs.exports[].clients[]": export_client,
    "nfs.exports[].clients": export_clients,
    "nfs.exports[].options[]": export_option,
    "nfs.exports[].options": export_options,
    "nfs.exports[].allow_insecure": values.boolean,
}

# The schema of the var (fleetcheck.varschema; nfs.ganesha_conf in ganesha.py).
VARS = {
    "nfs": {
        "type": "object", "description": "NFS exports (nfs.exports)",
        "x-expected": "a mapping (like {exports: [{path, clients, options}]})",
        "properties": {
            "exports": {
                "type": "array", "description": "exports that must be configured and "
                "offered as declared", "x-expected": "a list of exports "
                "({path, clients, options})",
                "items": {
                    "type": "object", "description": "one export",
                    "x-expected": "an export {path, clients, options}",
                    "required": ["path"],
                    "properties": {
                        "path": {"type": "string", "description": "the exported directory"},
                        "clients": {"type": ["string", "array"],
                                    "items": {"type": "string", "description": "a host, "
                                              "network or pattern"},
                                    "x-expected": "a client or a list of clients",
                                    "description": "who may mount it (blank-separated "
                                    "in a string)", "default": "*"},
                        "options": {"type": "array", "items": {
                            "type": "string", "description": "an export option (rw, sync, "
                            "root_squash, ...)"},
                            "x-expected": "a list of options (like [rw, sync])",
                            "description": "options each client must have", "default": []},
                        "allow_insecure": {"type": "boolean", "default": False,
                                           "description": "accept no_root_squash, insecure "
                                           "or rw to the world on this export"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat -- %s", PATH)


@dataclass
class ExportClient:
    host: str
    options: list[str] = field(default_factory=list)

    @property
    def world(self) -> bool:
        return self.host in WORLD

    @property
    def effective(self) -> list[str]:
        return effective_options(self.options)


@dataclass
class Export:
    path: str
    clients: list[ExportClient] = field(default_factory=list)
    line: int = 0


@dataclass
class Exports:
    exists: bool = True
    exports: list[Export] = field(default_factory=list)

    def clients(self, path: str) -> list[ExportClient]:
        """Every client of `path` (exportfs merges several lines of one path)."""
        return [c for e in self.exports if e.path.rstrip("/") == path.rstrip("/")
                or e.path == path for c in e.clients]


def effective_options(options: list[str]) -> list[str]:
    """The options in effect: the given ones, then each family's default."""
    out = list(dict.fromkeys(options))
    for family, default in FAMILIES:
        if not family & set(out):
            out.append(default)
    return out


def insecure_findings(path: str, client: ExportClient) -> list[str]:
    """no_root_squash, insecure, or rw to the world."""
    eff = set(client.effective)
    found = []
    if "no_root_squash" in eff:
        found.append(f"{path} {client.host}: no_root_squash")
    if "insecure" in eff:
        found.append(f"{path} {client.host}: insecure")
    if client.world and "rw" in eff:
        found.append(f"{path} {client.host}: rw to the world")
    return found


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _options(text: str, n: int) -> list[str]:
    opts = [o.strip() for o in text.split(",") if o.strip()]
    for o in opts:
        if not OPTION.match(o):
            raise ParseError(f"line {n}: bad export option {shown(o)}")
    return opts


def _logical_lines(text: str):
    pending, start = "", 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if not pending else raw
        if not pending:
            start = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            yield start, full
    if pending:
        raise ParseError(f"line {start}: a continuation line (ending in \\) ends the input")


TOKEN = re.compile(r'"[^"]*"|\([^()]*\)|[^\s()"]+(?:\([^()]*\))?|\S')


def parse(text: str) -> Exports:
    out = Exports()
    for n, line in _logical_lines(text):
        tokens = TOKEN.findall(line)
        if line.count("(") != line.count(")") or line.count('"') % 2:
            raise ParseError(f"line {n}: unbalanced parenthesis or quote: {shown(line)}")
        path = tokens[0]
        if path.startswith('"'):
            path = path[1:-1]
        path = _unescape(path)
        if not path.startswith("/"):
            raise ParseError(f"line {n}: an export starts with an absolute path, got "
                             f"{shown(tokens[0])}")
        defaults: list[str] = []
        export = Export(path, [], n)
        for tok in tokens[1:]:
            if tok.startswith("-"):
                defaults = _options(tok[1:], n)
                continue
            host, paren, rest = tok.partition("(")
            if paren and not rest.endswith(")"):
                raise ParseError(f"line {n}: bad client {shown(tok)}")
            opts = _options(rest[:-1], n) if paren else []
            export.clients.append(ExportClient(host or "*", defaults + opts))
        if not export.clients:
            # exports(5): a path with no client is exported to the world
            export.clients.append(ExportClient("*", defaults))
        out.exports.append(export)
    return out


def from_result(rc: int, stdout: str, stderr: str) -> Exports:
    if rc != 0 and "No such file" in stderr:
        return Exports(exists=False)
    if rc != 0:
        raise FactError(f"reading {PATH} failed (exit {rc}): {stderr.strip()[:200]}")
    return parse(stdout)


def render_line(path: str, clients: list[tuple[str, list[str]]]) -> str:
    """One /etc/exports line (the path quoted when it holds a blank). Every value is
    checked for this syntax first (values.UnsafeValue), and a line needs a client."""
    values.require(export_path, path, "the export path")
    if not clients:
        raise values.UnsafeValue(f"{values.shown(path)} has no client (it would be "
                                 "exported to the world)")
    for host, options in clients:
        values.require(export_client, host, "an export client")
        for option in options:
            values.require(export_option, option, "an export option")
    shown = f'"{path}"' if re.search(r"\s", path) else path
    return shown + "\t" + " ".join(f"{h}({','.join(o)})" for h, o in clients)


# ---------------------------------------------------------------- expectations
GANESHA_FAMILIES = {"ro", "rw", "root_squash", "no_root_squash", "all_squash"}


def declared_exports(hostvars: Mapping[str, Any]) -> list[dict]:
    """The var `nfs.exports`: [{path, clients (str or list), options, allow_insecure}],
    clients always a list of strings here."""
    out = []
    for e in (hostvars.get("nfs") or {}).get("exports") or []:
        if isinstance(e, dict) and e.get("path"):
            clients = e.get("clients", "*")
            clients = clients if isinstance(clients, list) else str(clients).split()
            out.append(dict(e, path=str(e["path"]), clients=[str(c) for c in clients],
                            options=[str(o) for o in e.get("options") or []]))
    return out


def compare(view: str, pairs: list[tuple[str, ExportClient]],
            declared: list[dict]) -> dict[str | None, list[str]]:
    """Problems by declared path (None: an undeclared export) in one view
    (/etc/exports, ganesha, exportfs -v) given as (path, client) pairs."""
    problems: dict[str | None, list[str]] = {}
    for want in declared:
        for client in want["clients"]:
            have = [c for p, c in pairs if p == want["path"] and c.host == client]
            if not have:
                problems.setdefault(want["path"], []).append(
                    f"{view}: {want['path']} is not exported to {client}")
                continue
            wanted = set(want["options"])
            if view == "ganesha":
                wanted &= GANESHA_FAMILIES
            missing = sorted(wanted - set(have[0].effective))
            if missing:
                problems.setdefault(want["path"], []).append(
                    f"{view}: {want['path']} {client} lacks {','.join(missing)}")
    paths = {e["path"] for e in declared}
    allowed = {e["path"] for e in declared if e.get("allow_insecure")}
    for path, client in pairs:
        if path not in allowed:
            key = path if path in paths else None
            problems.setdefault(key, []).extend(
                f"{view}: {f}" for f in insecure_findings(path, client))
    return {k: v for k, v in problems.items() if v}


def views(facts) -> list[tuple[str, list[tuple[str, ExportClient]]]]:
    """(name, [(path, ExportClient)]) for every configuration the host serves from."""
    gan = facts.get("ganesha")
    etc = facts.get("exports")
    table = facts.get("exportfs")
    out = []
    if etc.exists or not gan.exists:
        out.append(("/etc/exports", [(e.path, c) for e in etc.exports for c in e.clients]))
    if gan.exists:
        out.append(("ganesha", [(e.path, ExportClient(h, c.options)) for e in gan.exports
                                for c in e.clients for h in c.clients]))
    if table.active:
        out.append(("exportfs -v", [(e.path, c) for e in table.exports for c in e.clients]))
    return out
