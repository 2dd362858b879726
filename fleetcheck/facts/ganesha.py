"""nfs-ganesha's export configuration (/etc/ganesha/ganesha.conf, var
`nfs.ganesha_conf`): the EXPORT blocks, their CLIENT blocks and EXPORT_DEFAULTS.

The format: `NAME { Key = value[, value]; SUBBLOCK { ... } }`, `#` comments, quoted
strings, `%include "file"` lines. Keys are case-insensitive. Each client's access
and squash are resolved (client, else export, else EXPORT_DEFAULTS, else ganesha's
defaults: Access_Type None, Squash root_squash) and also given in exports(5) words
(`rw`/`ro`, `root_squash`/`no_root_squash`/`all_squash`) so checks compare one
vocabulary. A missing file means "not a ganesha host".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, brief, shown, to_int

NAME = "ganesha"
DEFAULT_PATH = "/etc/ganesha/ganesha.conf"
# The vars whose values reach a command or this file (checked at load: fleetcheck.values).
# The declared exports (nfs.exports[]) are declared with fleetcheck.facts.exports, whose
# kinds include this module's path_value and client_value.
VALUE_KINDS = {"nfs.ganesha_conf": values.path}
# The part of the var nfs this module reads (fleetcheck.varschema joins it to
# exports.py's).
VARS = {
    "nfs": {
        "type": "object", "description": "NFS exports (nfs.exports)",
        "properties": {
            "ganesha_conf": {"type": "string", "default": DEFAULT_PATH,
                             "description": "the NFS-Ganesha configuration, on hosts "
                             "that have one"},
        },
        "additionalProperties": False,
    },
}
TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\\n]|\\.)*")|([{};=,])|([^\s{};=,"#]+)|(\S))')
SQUASH = {
    "root": "root_squash", "root_squash": "root_squash", "rootsquash": "root_squash",
    "no_root_squash": "no_root_squash", "noidsquash": "no_root_squash",
    "none": "no_root_squash", "no_squash": "no_root_squash",
    "all": "all_squash", "all_squash": "all_squash", "allsquash": "all_squash",
    "all_anonymous": "all_squash", "allanonymous": "all_squash",
    "rootid": "root_id_squash", "root_id_squash": "root_id_squash",
    "rootidsquash": "root_id_squash",
}
ACCESS = {"rw": "rw", "ro": "ro", "mdonly": "ro", "mdonly_ro": "ro", "none": "none"}


# ---------------------------------------------------------------- value kinds
# What render_export writes: `Path = VALUE;`, `Pseudo = VALUE;`, `Clients = A, B;`,
# `Access_Type = RW;`, `Squash = Root_Squash;`. A value is a bare word or a quoted
# string; `{ } ; , = #` and blanks end a bare word, `"` ends a quoted one and `\\`
# escapes in it.
BARE = re.compile(r"[A-Za-z0-9_./+:@%*?-]+")


def path_value(value: Any, what: str = "the value") -> str:
    """Path and Pseudo: absolute, no '..', no control character, no ``"`` or ``\\``
    and no blank at either end; render_export quotes any path that is not a bare word
    (a blank, ``{ } ; , = #``)."""
    text = values.path(value, what)
    for ch in ('"', "\\"):
        if ch in text:
            raise values.UnsafeValue(f"{what} must not contain {ch!r} (it ends or escapes a "
                                     f"quoted value): {values.shown(text)}")
    if text != text.strip():
        raise values.UnsafeValue(f"{what} must not end in a blank: {values.shown(text)}")
    return text


CLIENT = re.compile(r"[A-Za-z0-9_.:/@*?-]{1,255}")


def client_value(value: Any, what: str = "the value") -> str:
    """One entry of Clients: letters, digits and ``_ . : / @ * ? -`` (a host, a
    wildcard, @netgroup, an address or network), never an option; no blank, comma,
    semicolon, brace, '=', quote or '#'."""
    text = values.word(value, what)
    if not CLIENT.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a client (host, wildcard, @netgroup, "
                                 f"address or network), got {values.shown(text)}")
    return text


def access_value(value: Any, what: str = "the value") -> str:
    """Access_Type: RW, RO, MDONLY, MDONLY_RO or NONE (any case)."""
    if not isinstance(value, str) or value.lower() not in ACCESS:
        raise values.UnsafeValue(f"{what} must be an Access_Type ({', '.join(ACCESS)}), got "
                                 f"{values.describe(value)}")
    return value


SQUASH_WORDS = {"root_squash": "Root_Squash", "no_root_squash": "No_Root_Squash",
                "all_squash": "All_Squash"}


def squash_value(value: Any, what: str = "the value") -> str:
    """Squash as fleetcheck writes it: root_squash, no_root_squash or all_squash."""
    if not isinstance(value, str) or value not in SQUASH_WORDS:
        raise values.UnsafeValue(f"{what} must be one of {', '.join(SQUASH_WORDS)}, got "
                                 f"{values.describe(value)}")
    return value


def conf_path(hostvars: Mapping[str, Any]) -> str:
    return str((hostvars.get("nfs") or {}).get("ganesha_conf") or DEFAULT_PATH)


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat -- %s", conf_path(hostvars))


@dataclass
class GaneshaClient:
    clients: list[str]
    access_type: str          # rw | ro | none (resolved)
    squash: str               # root_squash | no_root_squash | all_squash | root_id_squash

    @property
    def options(self) -> list[str]:
        """The same client in exports(5) words."""
        return [self.access_type if self.access_type != "none" else "none",
                "no_root_squash" if self.squash == "no_root_squash"
                else "all_squash" if self.squash == "all_squash" else "root_squash"]


@dataclass
class GaneshaExport:
    export_id: int | None
    path: str | None
    pseudo: str | None
    access_type: str
    squash: str
    clients: list[GaneshaClient] = field(default_factory=list)
    line: int = 0
    end_line: int = 0


@dataclass
class GaneshaConf:
    exists: bool = True
    exports: list[GaneshaExport] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)

    def export(self, path: str) -> GaneshaExport | None:
        for e in self.exports:
            if e.path == path:
                return e
        return None


@dataclass
class _Block:
    name: str
    line: int
    params: dict[str, list[str]] = field(default_factory=dict)
    end: int = 0
    blocks: list[_Block] = field(default_factory=list)


def _tokens(text: str):
    """(line, kind, text) of each token, read as the parser asks for them: a hostile
    input fails at its first bad token without being tokenized (or line-indexed) whole
    first."""
    pos = counted = 0
    line = 1    # the line of position `counted`
    while True:
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return
        pos = m.end()
        kind = m.lastindex
        if kind is None or kind == 1:
            continue
        start = m.start(kind)
        line += text.count("\n", counted, start)
        counted = start
        if kind == 5:
            raise ParseError(f"line {line}: unexpected character {m.group(kind)!r}")
        yield line, kind, m.group(kind)


def _parse_blocks(text: str) -> tuple[_Block, list[str]]:
    # %include / %url lines are directives, not part of the block syntax
    includes = []
    body_lines = []
    for raw in text.split("\n"):
        s = raw.strip()
        if s.startswith("%"):
            includes.append(s.split(None, 1)[1].strip('"') if len(s.split(None, 1)) > 1 else "")
            body_lines.append("")
        else:
            body_lines.append(raw)
    root = _Block("", 0)
    stack = [root]
    tokens = _tokens("\n".join(body_lines))
    ahead = None    # a token read to look at, not yet used

    def take():
        nonlocal ahead
        token, ahead = (ahead, None) if ahead is not None else (next(tokens, None), None)
        return token

    while (token := take()) is not None:
        line, kind, value = token
        if value == "}":
            if len(stack) == 1:
                raise ParseError(f"line {line}: '}}' without an open block")
            stack.pop().end = line
            ahead = take()
            if ahead is not None and ahead[2] == ";":
                ahead = None
            continue
        if kind != 4:
            raise ParseError(f"line {line}: expected a name, got {shown(value)}")
        nxt = take()
        if nxt is None:
            raise ParseError(f"line {line}: {shown(value)} at the end of the input")
        if nxt[2] == "{":
            block = _Block(value.lower(), line)
            stack[-1].blocks.append(block)
            stack.append(block)
            continue
        if nxt[2] != "=":
            raise ParseError(f"line {nxt[0]}: expected '=' or '{{' after {shown(value)}")
        values: list[str] = []
        while True:
            item = take()
            if item is None:
                raise ParseError(f"line {line}: {shown(value)} = ... has no closing ';'")
            vline, vkind, v = item
            if v == ";":
                break
            if vkind in (2, 4):
                values.append(v[1:-1] if vkind == 2 else v)
            elif v != ",":
                raise ParseError(f"line {vline}: unexpected {shown(v)} in the value of "
                                 f"{shown(value)}")
        stack[-1].params[value.lower()] = values
    if len(stack) > 1:
        block = stack[-1]
        raise ParseError(f"line {block.line}: block {brief(block.name.upper())} is not closed")
    return root, includes


def _one(block: _Block, key: str) -> str | None:
    v = block.params.get(key)
    return v[0] if v else None


def _access(value: str | None, line: int) -> str | None:
    if value is None:
        return None
    try:
        return ACCESS[value.lower()]
    except KeyError:
        raise ParseError(f"line {line}: unknown Access_Type {shown(value)}") from None


def _squash(value: str | None, line: int) -> str | None:
    if value is None:
        return None
    try:
        return SQUASH[value.lower()]
    except KeyError:
        raise ParseError(f"line {line}: unknown Squash {shown(value)}") from None


def parse(text: str) -> GaneshaConf:
    root, includes = _parse_blocks(text)
    conf = GaneshaConf(True, [], includes)
    default_access, default_squash = "none", "root_squash"
    for b in root.blocks:
        if b.name == "export_defaults":
            default_access = _access(_one(b, "access_type"), b.line) or default_access
            default_squash = _squash(_one(b, "squash"), b.line) or default_squash
    for b in root.blocks:
        if b.name != "export":
            continue
        access = _access(_one(b, "access_type"), b.line) or default_access
        squash = _squash(_one(b, "squash"), b.line) or default_squash
        raw_id = _one(b, "export_id")
        export_id = to_int(raw_id, f"line {b.line}: Export_Id") if raw_id is not None else None
        export = GaneshaExport(export_id, _one(b, "path"), _one(b, "pseudo"), access, squash,
                               [], b.line, b.end)
        for c in b.blocks:
            if c.name != "client":
                continue
            clients = c.params.get("clients") or []
            if not clients:
                raise ParseError(f"line {c.line}: CLIENT block without Clients")
            export.clients.append(GaneshaClient(
                clients, _access(_one(c, "access_type"), c.line) or access,
                _squash(_one(c, "squash"), c.line) or squash))
        if export.path is None:
            raise ParseError(f"line {b.line}: EXPORT block without Path")
        conf.exports.append(export)
    return conf


def from_result(rc: int, stdout: str, stderr: str) -> GaneshaConf:
    if rc != 0 and "No such file" in stderr:
        return GaneshaConf(exists=False)
    if rc != 0:
        raise FactError(f"reading the ganesha config failed (exit {rc}): {stderr.strip()[:200]}")
    return parse(stdout)


def quoted(value: str) -> str:
    """A Path/Pseudo value as written: bare when it is a bare word, else quoted
    (path_value keeps `"` and `\\` out of it)."""
    return value if BARE.fullmatch(value) else f'"{value}"'


def render_export(export_id: int, path: str, clients: str | list[str], access: str,
                  squash: str) -> str:
    """One EXPORT block as fleetcheck writes it (VFS backend, NFSv3+v4, sys auth).
    Every value is checked for this syntax first (values.UnsafeValue)."""
    if isinstance(export_id, bool) or not isinstance(export_id, int) or \
            not 0 < export_id <= 65535:
        raise values.UnsafeValue(f"Export_Id must be 1-65535, got {values.describe(export_id)}")
    path = quoted(values.require(path_value, path, "Path"))
    names = [c.strip() for c in clients.split(",")] if isinstance(clients, str) else clients
    if not names:
        raise values.UnsafeValue(f"{path} has no client")
    for name in names:
        values.require(client_value, name, "a client")
    values.require(access_value, access, "Access_Type")
    squash_word = SQUASH_WORDS[values.require(squash_value, squash, "Squash")]
    return (f"EXPORT {{\n\tExport_Id = {export_id};\n\tPath = {path};\n\tPseudo = {path};\n"
            f"\tProtocols = 3, 4;\n\tTransports = TCP;\n\tSecType = sys;\n"
            f"\tAccess_Type = None;\n\tFSAL {{\n\t\tName = VFS;\n\t}}\n"
            f"\tCLIENT {{\n\t\tClients = {', '.join(names)};\n"
            f"\t\tAccess_Type = {access.upper()};\n"
            f"\t\tSquash = {squash_word};\n\t}}\n}}\n")
