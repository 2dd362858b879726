"""Samba's configuration: `testparm -s` (the effective config and its diagnostics) and
the same parser for a raw smb.conf (what a fix edits).

`testparm -s` prints the loaded configuration on stdout, normalized (canonical
parameter names, defaults left out), and its diagnostics on stderr; it exits non-zero
when the file cannot be loaded. A raw smb.conf may also use synonyms (`writable`,
`public`, `directory`), `;` comments and continuation lines; `SmbShare` reads both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "smbconf"
TRUE = {"yes", "true", "1", "on"}
FALSE = {"no", "false", "0", "off"}
# stderr lines of testparm that mean the configuration is not clean
PROBLEM = re.compile(r"unknown parameter|ignoring|error|warning|invalid|can't|cannot|"
                     r"failed|does not exist", re.IGNORECASE)
SPECIAL = {"global"}


# ---------------------------------------------------------------- value kinds
# What the samba.shares fix writes: a `[NAME]` header and `\tparameter = VALUE` lines.
# Samba reads a header up to the first `]` (blanks at the ends trimmed, runs of blanks
# inside made one), a value as the rest of the line (blanks at the ends trimmed; a
# final `\\` joins the next line; `%U`-style variables are expanded); `#` and `;`
# start a comment only at the start of a line.
SPECIAL_SECTIONS = {"global", "homes", "printers"}
MAX_SHARE_NAME = 80      # Windows' NNLEN: longer names are not listed by clients
_SHARE_NAME = re.compile(r"[\w$.-]+(?: [\w$.-]+)*")


def share_name(value: Any, what: str = "the value") -> str:
    """A share name: letters, digits, ``_ . - $`` and single blanks inside, at most
    80 characters (Windows' limit; Samba accepts more but clients do not list them),
    not a special section (global, homes, printers), never an option. No ``[ ]``
    (a header ends at the first ``]``), ``= ; # %``, quotes or slashes."""
    text = values.word(value, what)
    if len(text) > MAX_SHARE_NAME or len(text.encode()) > MAX_SHARE_NAME:
        raise values.UnsafeValue(f"{what} is longer than {MAX_SHARE_NAME} characters: "
                                 f"{values.shown(text)}")
    if not _SHARE_NAME.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a share name (letters, digits, '_', '.', "
                                 f"'-', '$', single inner blanks), got {values.shown(text)}")
    if text.lower() in SPECIAL_SECTIONS:
        raise values.UnsafeValue(f"{what} must not be [{text.lower()}]: a special section of "
                                 "smb.conf, not a share")
    return text


def conf_value(value: Any, what: str = "the value") -> str:
    """A parameter value on one smb.conf line: no line break or control character, no
    blank at either end (Samba trims it), no final backslash (it joins the next line)."""
    text = values.text(value, what)
    if text != text.strip():
        raise values.UnsafeValue(f"{what} must not start or end with a blank: "
                                 f"{values.shown(text)}")
    if text.endswith("\\"):
        raise values.UnsafeValue(f"{what} must not end in a backslash (smb.conf joins the "
                                 f"next line): {values.shown(text)}")
    return text


def share_path(value: Any, what: str = "the value") -> str:
    """A share's path: an absolute path (values.path) that is also a conf_value, with
    no ``%`` (Samba would expand it as a variable: the path checked on the host would
    not be the path served)."""
    text = conf_value(values.path(value, what), what)
    if "%" in text:
        raise values.UnsafeValue(f"{what} must not contain '%' (Samba expands %-variables "
                                 f"in a path): {values.shown(text)}")
    return text


def share_list(value: Any, what: str = "the value") -> list:
    if not isinstance(value, list):
        raise values.UnsafeValue(f"{what} must be a list of shares, got "
                                 f"{values.describe(value)}")
    return value


# The vars whose values reach smb.conf or a command (checked at load:
# fleetcheck.values; again by the samba.shares fix).
VALUE_KINDS = {
    "samba.config": values.path,
    "samba.service": values.unit,
    "samba.shares": share_list,
    "samba.shares[].name": share_name,
    "samba.shares[].path": share_path,
    "samba.shares[].read_only": values.boolean,
    "samba.shares[].guest_ok": values.boolean,
    "samba.shares[].allow_guest_write": values.boolean,
}

# The schema of the var (fleetcheck.varschema).
VARS = {
    "samba": {
        "type": "object", "description": "Samba shares (samba.shares)",
        "x-expected": "a mapping (like {shares: [{name, path, read_only, guest_ok}]})",
        "properties": {
            "workgroup": {"type": "string", "description": "the workgroup (the lab "
                          "writes it; no check reads it)"},
            "config": {"type": "string", "default": "/etc/samba/smb.conf",
                       "description": "smb.conf, the file the fix edits"},
            "service": {"type": "string", "default": "smbd",
                        "description": "the service the fix reloads"},
            "shares": {
                "type": "array", "description": "shares that must exist and be served "
                "as declared", "x-expected": "a list of shares ({name, path, ...})",
                "items": {
                    "type": "object", "description": "one share",
                    "x-expected": "a share {name, path, read_only, guest_ok}",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "description": "the share name"},
                        "path": {"type": "string", "description": "its directory"},
                        "read_only": {"type": "boolean", "description": "read only = yes"},
                        "guest_ok": {"type": "boolean", "description": "guest ok = yes"},
                        "allow_guest_write": {"type": "boolean", "default": False,
                                              "description": "accept that guests may "
                                              "write to it"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("testparm -s")


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    return default


@dataclass
class SmbShare:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def get(self, *names: str) -> str | None:
        for n in names:
            if n in self.params:
                return self.params[n]
        return None

    @property
    def path(self) -> str | None:
        return self.get("path", "directory")

    @property
    def read_only(self) -> bool:
        ro = self.get("read only")
        if ro is not None:
            return _bool(ro, True)
        writable = self.get("writable", "writeable", "write ok")
        return not _bool(writable, False)

    @property
    def guest_ok(self) -> bool:
        return _bool(self.get("guest ok", "public"), False)

    @property
    def available(self) -> bool:
        return _bool(self.get("available"), True)


@dataclass
class SmbConf:
    globals: dict[str, str] = field(default_factory=dict)
    shares: list[SmbShare] = field(default_factory=list)

    def share(self, name: str) -> SmbShare | None:
        """Share names are case-insensitive in Samba."""
        for s in self.shares:
            if s.name.lower() == name.lower():
                return s
        return None


@dataclass
class Testparm:
    """`testparm -s` run on the host: rc, the loaded config, diagnostics."""

    installed: bool = True
    rc: int = 0
    conf: SmbConf = field(default_factory=SmbConf)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.installed and self.rc == 0 and not self.problems


def _logical_lines(text: str):
    """(first line number, text) with `\\` continuations joined."""
    pending, start = "", 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending:
            start = n
            if not line or line[0] in "#;":
                continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        raise ParseError(f"line {start}: a continuation line (ending in \\) ends the input")


# C isspace() but the newline: a run of these is one (its first), in the whole line
_BLANKS = re.compile(r"[ \t\v\f\r]+")
_GLOBAL_BLANKS = re.compile(r"[ \t\n\v\f\r]")


def _collapse(line: str) -> str:
    return _BLANKS.sub(lambda m: m[0][0], line)


def parse(text: str) -> SmbConf:
    """Sections and parameters as Samba 4 reads them (checked against testparm 4.17,
    tests/fixtures/facts/smbconf/samba417_*): every run of blanks in a line is one
    blank, its first character (`[my  share]` is the share `my share`, `a \t b` is
    `a b`, both in names and values); a section name is not trimmed (`[ x ]` is a
    share ` x `, not `x`), but a name that is `global` once its blanks are dropped is
    [global] (Samba compares it with strwicmp, which skips blanks); a header ends at
    its first `]`, what follows on the line is ignored; a parameter before
    the first section belongs to [global]; share names are case-insensitive and a
    section seen again continues the first."""
    conf = SmbConf()
    section: dict[str, str] = conf.globals
    by_name: dict[str, SmbShare] = {}   # conf.share() per header was quadratic
    for n, line in _logical_lines(text):
        line = _collapse(line)
        if line.startswith("["):
            close = line.find("]")
            if close < 0:
                raise ParseError(f"line {n}: section header without closing ]: {shown(line)}")
            name = line[1:close]  # Samba ignores the rest of the line (`[a] ; comment`)
            if not name.strip() or "[" in name:
                raise ParseError(f"line {n}: bad section name {shown(line)}")
            if _GLOBAL_BLANKS.sub("", name).lower() in SPECIAL:
                section = conf.globals
            else:
                share = by_name.get(name.lower())
                if share is None:
                    share = by_name[name.lower()] = SmbShare(name, {}, n)
                    conf.shares.append(share)
                section = share.params
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ParseError(f"line {n}: expected 'parameter = value', got {shown(line)}")
        section[" ".join(key.lower().split())] = value.strip()
    return conf


def from_result(rc: int, stdout: str, stderr: str) -> Testparm:
    if rc == 127 or "testparm: not found" in stderr or "command not found" in stderr:
        return Testparm(installed=False, rc=rc)
    problems = [ln.strip() for ln in stderr.splitlines() if PROBLEM.search(ln)]
    if rc != 0 and not stdout.strip():
        return Testparm(True, rc, SmbConf(), problems or [stderr.strip()[-300:] or
                                                         f"testparm exited {rc}"])
    try:
        conf = parse(stdout)
    except ParseError as exc:
        raise FactError(f"testparm -s: {exc}") from None
    return Testparm(True, rc, conf, problems)
