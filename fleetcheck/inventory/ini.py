"""Reads Ansible INI inventories the way ansible-core 2.19's ``ini`` inventory plugin
does, into an :class:`~fleetcheck.inventory.build.InventoryBuilder`.

    from fleetcheck.inventory import ini
    if path.endswith(".ini") or ini.looks_like_ini(text):
        ini.load(path, builder, text)

What a line means (the plugin's rules, measured against ``ansible-inventory --list``):

- Lines end at \n, \r\n or \r (Ansible splits at every break str.splitlines knows;
  the others are refused, below) and are stripped; an empty line, or one starting
  with ``#`` or ``;``, is skipped.
- ``[name]``, ``[name:children]``, ``[name:vars]`` open a section, optionally followed
  by ``# comment``. A name is any run of characters but blanks, ``:`` and ``]``
  (``[web-servers]`` keeps its dash: Ansible renames nothing by default). Hosts
  before any section go to 'ungrouped'. A section may come back later
  (``[web]`` twice): the second adds to the first.
- A host line is split like a POSIX shell (quotes, backslashes; ``#`` after a blank
  starts a comment): the first word is a host pattern, the others ``key=value``.
  The pattern is ``name``, ``name:port``, ``[address]:port``, a bare IPv6 address
  (``fe80::1``: no port without brackets) and may hold ranges ``web[01:20]``,
  ``db-[a:f]``, ``[1:10:2]``, ``mail[:5]`` (expanded by ranges.expand). Hosts are
  added in line order, each name of a range in order.
- Values are typed as Ansible types them: ``ast.literal_eval`` of the text, and the
  text itself when that fails. Inline host vars are first unquoted by the shell
  split (``a="'03'"`` is the string '03', ``a=03`` too, ``a=3`` the integer 3,
  ``a=True`` a boolean, ``a=true`` a string, ``a=[1,2]`` a list; tuples become
  lists, bytes and complex numbers strings, ``...`` the string '...'). A ``:vars``
  line is ``key=value`` split at the first ``=``, both sides stripped, the value
  typed the same way but not unquoted first (``v="x"`` is x, ``v=23`` is 23, whatever
  the plugin's documentation says; ``v=8080 # web`` is 8080: Python drops the
  comment of a literal).
- ``[a:children]`` may name a group defined further down, and ``[a:vars]`` may come
  before ``[a]``; both must be defined somewhere in the file by the end (or by an
  earlier source), as Ansible demands. The order in which groups, hosts and child
  links reach the builder is the plugin's (it decides ``ansible --list-hosts``).
- ``name:port`` sets ansible_port when the line creates the host, as Ansible does;
  inline vars come after it.

Every var goes through hostvars.check_var (an error, file:line) and
hostvars.check_name (a warning in builder.var_warnings), as the YAML loader does.

Where Ansible errors, fleetcheck errors, one line ``file:line: reason``: a section
of unknown type (``[web:host]``), a bracketed line that is no section (``[a b]``),
a children line that is no group name, a vars line without ``=``, an unclosed quote,
a word without ``=`` after a host pattern, a pattern ending in ``:``, a host named
``---``, an empty host name, a bad range, an undefined child group or ``:vars``
group, a value Python cannot even try to read (``{[1]: 2}``), a group in a cycle.

Where Ansible silently does something doubtful, fleetcheck errors instead (an audit
that remediates stops on a doubtful inventory, see fleetcheck/inventory/__init__.py):

- ``#`` inside a word of a host line (``pass=ab#cd``): Ansible cuts the line there
  and keeps 'ab'; quote the value;
- `` #`` in a ``:vars`` value that is no Python literal (``env = prod # live``):
  Ansible keeps 'prod # live' as the value;
- a var set twice for the same host or group in one file with different values
  (``web1 a=1`` then ``web1 a=2``): Ansible keeps the last; the same value twice is
  fine (``web1:5432 ansible_port=2202`` is not doubtful: ansible_port wins, as in
  Ansible);
- a host listed again with another port (``web1`` then ``web1:2222``): Ansible keeps
  the port of the line that created the host and ignores the later one;
- a pattern Ansible cannot read as an address whose ``:port`` or ``key=value`` would
  become part of the host name (``web_:22``, ``web[:3]:22``, ``a=b`` before any
  section; an IPv6 address its grammar misses, ``::2:3:4:5:6:7:8``, is fine: the
  host is named as the address); a bracketed address with a second port inside
  (``[web:22]:23``);
- a range that expands to nothing (``web[05:01]``): Ansible adds no host;
- a var name that is not an identifier (``my-var=1``): Ansible accepts it with a
  deprecation warning (an error from ansible-core 2.23);
- a set literal of strings (``{'a', 'b'}``: Ansible makes a list of it in an order
  that changes from run to run; a set of numbers is listed as Ansible lists it), a
  mapping key that is not a string (``{1: 'a'}``), a bytes literal that is not UTF-8,
  a string with a lone surrogate (``'\\ud800'``);
- control characters (NUL, ...) and the line breaks Ansible splits at but an editor
  does not show (\\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029).

Other differences: the file is read by loader._read (UTF-8, a BOM skipped, 256 MiB
at most), where Ansible reads non-UTF-8 bytes in comment lines and takes a BOM as part
of the first line. A value that may be a Python literal and is longer than
MAX_LITERAL_CHARS (256 KiB), or that holds more than MAX_HOST_VALUES values, is an
error (Ansible would read it). ``TRANSFORM_INVALID_GROUP_CHARS`` is not read (its
default, 'never', renames nothing). Dict vars given in two files meet in the builder,
which merges them deeply (build.py).
"""

from __future__ import annotations

import ast
import ipaddress
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.values import shown

from .build import InventoryBuilder
from .errors import MAX_HOST_VALUES, InventoryError
from .hostvars import check_name, check_var, with_aliases
from .loader import _read
from .ranges import expand, split_port

# The longest value read as a Python literal: parsing costs up to ~6 us a character
# (a 256 KiB value: 1.5 s at worst) and its parse tree ~100 bytes a character.
MAX_LITERAL_CHARS = 256 * 1024

_SECTION = re.compile(r"\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?")
_CHILD = re.compile(r"([^:\]\s]+)\s*(?:#.*)?")
_STATES = ("hosts", "children", "vars")
_EOL = re.compile(r"\r\n|\r|\n")
# Characters refused anywhere: controls but tab and line ends, and the line breaks
# str.splitlines (Ansible) honours that an editor does not show.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# -- host line words (POSIX shlex, whitespace_split, '#' comments) --------------------
_BLANKS = re.compile(r"[ \t\r\n]*")
_PIECE = re.compile(r"""[^ \t\r\n'"\\#]++|'[^']*+'|"(?:[^"\\]++|\\.)*+"|\\.""", re.S)
_DQ_ESCAPE = re.compile(r"\\([\\\"])")

# -- host patterns: Ansible's grammar of an address with ranges -----------------------
_LETTER_OR_NUMBER_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = (rf"(?:\w|{_LETTER_OR_NUMBER_RANGE})(?:[\w-]|{_LETTER_OR_NUMBER_RANGE})*+"
          r"(?<![_-])")
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*+", re.I)
_HEX_RANGE = r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]"
_IPV6_CHARS = re.compile(rf"(?:[0-9a-f:.]|{_HEX_RANGE})*+", re.I)
_HEX_RANGE_RE = re.compile(_HEX_RANGE, re.I)
_IPV6_PART = re.compile(r"[0-9a-f]{1,4}|R", re.I)   # R: a range, masked
_IPV4_PREFIXES = ("0:0:0:0:0:0:", "::", "::ffff:", "0:0:0:0:0:ffff:")
_BRACKETED = re.compile(r"\[(.+)\]:([0-9]+)")
_BRACKETS = re.compile(r"\[[^\]]*\]")

# -- values ---------------------------------------------------------------------------
_JINJA_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "not"})
_STARTS_LITERAL = frozenset("0123456789'\"[({-+.")
_LITERAL_WORDS = frozenset({"True", "False", "None", "set"})
_STRING_PREFIXES = frozenset({"b", "r", "u", "f", "br", "rb", "fr", "rf"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_DOTTED_NUMBERS = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")   # 10.0.0.1, 1.2.3: never literal
_COMMENT_IN_VALUE = re.compile(r"(?:^|\s)#")
_YAML_KEY = re.compile(r":(?:[ \t]|$)")

Record = dict[str, tuple[Any, int]]   # var name -> (value, line it was set at)


def looks_like_ini(text: str) -> bool:
    """Whether ``text`` reads as an INI inventory rather than YAML/JSON, judged by its
    first line that is not blank or a comment: a ``[section]`` line or a host line is
    INI; ``key:`` (a YAML mapping), ``---``, ``%YAML``, ``{`` or ``- `` is not. An empty
    or comment-only text is not (the YAML loader says "the file is empty").

    Ansible itself tries its YAML plugin first for a file without an extension (or
    .yml/.yaml/.json) and reads it as INI when that fails, so a file whose first line
    is a YAML key but which is no YAML mapping is INI to Ansible, not to this guess."""
    for raw in _lines(text[1:] if text.startswith("\ufeff") else text):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]") or _SECTION.fullmatch(line):
            return True
        if line.startswith(("---", "%", "{", "- ")) or line == "-":
            return False
        return _YAML_KEY.search(line.split(" #", 1)[0]) is None
    return False


def load(path: str, builder: InventoryBuilder, text: str | None = None) -> None:
    """Read the INI inventory ``path`` into ``builder``. ``text`` is the file's content
    when the caller has read it already (with loader._read); else it is read here.
    Raises InventoryError (``path:line: reason``) for what Ansible refuses and for what
    fleetcheck refuses on purpose (the module docstring)."""
    if text is None:
        text = _read(path)
    elif text.startswith("\ufeff"):
        text = text[1:]
    _check_characters(text, path)
    _Reader(path, builder).read(text)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` without their line ends (\\r\\n, \\r, \\n)."""
    pos, end = 0, len(text)
    while pos < end:
        found = _EOL.search(text, pos)
        if found is None:
            yield text[pos:]
            return
        yield text[pos:found.start()]
        pos = found.end()


def _check_characters(text: str, path: str) -> None:
    """The first control character or hidden line break of ``text`` is an error."""
    bad = _FORBIDDEN.search(text)
    if bad is None:
        return
    line = sum(1 for _ in _EOL.finditer(text, 0, bad.start())) + 1
    char = bad.group()
    if char in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
        why = "a line break Ansible splits the line at, which editors do not show"
    else:
        why = "a control character, which no inventory line can hold"
    raise InventoryError(f"character U+{ord(char):04X}: {why}", path, line)


@dataclass
class _Pending:
    """A group named before it is defined: by ``[x:children]`` (``parents``: who named
    it, at which line) or by its own ``[x:vars]`` section."""

    state: str
    line: int
    parents: list[tuple[str, int]] = field(default_factory=list)


class _Reader:
    """One INI file into the builder, in one pass over its lines as the plugin makes
    it: the section being read (group and kind), the groups named before their
    section (``pending``); and, for fleetcheck's checks, every var set so far with the
    line that set it, per host and per group (given to the builder at the end)."""

    def __init__(self, path: str, builder: InventoryBuilder):
        self.path = path
        self.builder = builder
        self.line = 0
        self.group = "ungrouped"
        self.state = "hosts"
        self.pending: dict[str, _Pending] = {}
        self.host_vars: dict[str, Record] = {}
        self.group_vars: dict[str, Record] = {}
        self.warned: dict[str, str | None] = {}   # check_name, once per var name

    def error(self, reason: str, line: int | None = None) -> InventoryError:
        return InventoryError(reason, self.path, self.line if line is None else line)

    def section(self) -> str:
        return f"[{self.group}]" if self.state == "hosts" else f"[{self.group}:{self.state}]"

    # -- the file ------------------------------------------------------------------
    def read(self, text: str) -> None:
        self.builder.add_source(self.path)
        for number, raw in enumerate(_lines(text), 1):
            self.line = number
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            header = _SECTION.fullmatch(line)
            if header is not None:
                self._section(header.group(1), header.group(2))
            elif line.startswith("[") and line.endswith("]"):
                raise self.error(f"invalid section line {shown(line)}: a section is [group], "
                                 "[group:children] or [group:vars], with no blanks")
            elif self.state == "hosts":
                self._host_line(line)
            elif self.state == "vars":
                self._var_line(line)
            else:
                self._child_line(line)
        self._check_pending()
        self._set_vars()

    def _section(self, name: str, kind: str | None) -> None:
        state = kind or "hosts"
        if state not in _STATES:
            raise self.error(f"section [{name}:{kind}] has unknown type {shown(kind)} "
                             f"(expected [{name}], [{name}:children] or [{name}:vars])")
        if name not in self.builder.groups and state == "vars" and name not in self.pending:
            self.pending[name] = _Pending("vars", self.line)
        self.builder.add_group(name, self.path, self.line)
        waiting = self.pending.get(name)
        if waiting is not None and state != "vars":
            # A parent named here has had its own [parent:children] header already,
            # which settled whatever was pending for it: one level is all there is.
            if waiting.state == "children":
                for parent, line in waiting.parents:
                    self.builder.add_child(parent, name, self.path, line)
            del self.pending[name]
        self.group, self.state = name, state

    def _check_pending(self) -> None:
        for name, waiting in self.pending.items():
            if waiting.state == "vars":
                raise self.error(f"section [{name}:vars] is for group {shown(name)}, which "
                                 "is defined nowhere (no [name] or [name:children] section)",
                                 waiting.line)
            parent = waiting.parents[-1][0]
            raise self.error(f"section [{parent}:children] includes group {shown(name)}, "
                             "which is defined nowhere (no [name] or [name:children] "
                             "section)", waiting.line)

    # -- [group:children] and [group:vars] lines -------------------------------------
    def _child_line(self, line: str) -> None:
        match = _CHILD.fullmatch(line)
        if match is None:
            raise self.error(f"expected a group name in section {self.section()}, got "
                             f"{shown(line)}")
        child = match.group(1)
        if child in self.builder.groups:
            self.builder.add_child(self.group, child, self.path, self.line)
        else:
            waiting = self.pending.setdefault(child, _Pending("children", self.line))
            waiting.parents.append((self.group, self.line))

    def _var_line(self, line: str) -> None:
        if "=" not in line:
            raise self.error(f"expected key=value in section {self.section()}, got "
                             f"{shown(line)}")
        key, text = (part.strip() for part in line.split("=", 1))
        owner = f"group {shown(self.group)}"
        self._check_key(key, owner)
        value, literal = self._typed(text, owner, key)
        if not literal and _COMMENT_IN_VALUE.search(text):
            raise self.error(
                f"{owner}: the value of {key} is {shown(text)}: Ansible keeps the '#' and "
                "what follows in the value (in a [group:vars] line a comment ends only a "
                "Python literal); put the comment on a line of its own")
        self._check_var(owner, key, value)
        record = self.group_vars.get(self.group)
        self.group_vars[self.group] = self._merged(record, {key: (value, self.line)}, owner)

    # -- host lines --------------------------------------------------------------------
    def _host_line(self, line: str) -> None:
        words = self._words(line)
        pattern = words[0]
        owner = f"host {shown(pattern)}"
        names, port = self._host_names(pattern)
        if len(words) - 1 > MAX_HOST_VALUES:
            raise self.error(f"{owner}: more than {MAX_HOST_VALUES} vars on one line (the "
                             "limit of one host's values)")
        values: Record = {}
        for word in words[1:]:
            if "=" not in word:
                raise self.error(f"{owner}: expected key=value after the host pattern, got "
                                 f"{shown(word)}")
            key, text = word.split("=", 1)
            self._check_key(key, owner)
            value, _ = self._typed(text, owner, key)
            if key in values and not _same(values[key][0], value):
                raise self.error(f"{owner}: {key} is given twice on the line, with different "
                                 "values (Ansible keeps the last)")
            self._check_var(owner, key, value)
            values[key] = (value, self.line)
        created, port_value = values, None
        if port is not None:
            port_value = self._port(owner, port)
            # `db:5432 ansible_port=2202`: the explicit var wins, as in Ansible (a
            # name written with its service port, then the SSH port)
            created = {"ansible_port": (port_value, self.line), **values}
        # a known host's port is the one it has (Ansible ignores the :port), unless the
        # line sets ansible_port too (checked just above)
        recheck = port_value is not None and "ansible_port" not in values
        builder, hosts = self.builder, self.builder.hosts
        for name in names:
            new = name not in hosts
            builder.add_host(name, self.group, self.path, self.line)
            if recheck and not new:
                self._check_port_again(name, owner, port_value)
            self._add_host_vars(name, created if new else values, owner)

    def _add_host_vars(self, name: str, values: Record, owner: str) -> None:
        record = self.host_vars.get(name)
        if record is None:
            self.host_vars[name] = values      # shared by the hosts of a line: never changed
        elif values:
            self.host_vars[name] = self._merged(record, values, owner)

    def _check_port_again(self, name: str, owner: str, port: int) -> None:
        """A line that lists a known host with a port: Ansible ignores the port, so it
        must be the one the host has."""
        record = self.host_vars.get(name) or {}
        if "ansible_port" in record:
            current, where = record["ansible_port"][0], f"line {record['ansible_port'][1]}"
        elif self.builder.hosts[name].source == self.path:
            current, where = None, "earlier in this file"
        else:
            current = self.builder.hosts[name].vars.get("ansible_port")
            where = shown(self.builder.hosts[name].source, 60)
        if current is None or str(current) != str(port):
            now = "without a port" if current is None else f"with port {current!r}"
            raise self.error(
                f"{owner}: host {shown(name)} is listed {now} ({where}); Ansible takes a "
                f"host's port from the line that first lists it and ignores :{port} here")

    def _merged(self, record: Record | None, values: Record, owner: str) -> Record:
        """``record`` plus ``values`` (a new mapping); a var set again with another
        value is an error."""
        if record is None:
            return dict(values)
        merged = dict(record)
        for key, (value, line) in values.items():
            old = merged.get(key)
            if old is None:
                merged[key] = (value, line)
            elif not _same(old[0], value):
                raise self.error(f"{owner}: {key} is set again with another value (first at "
                                 f"line {old[1]}; Ansible keeps the last one)", line)
        return merged

    def _host_names(self, pattern: str) -> tuple[list[str], str | None]:
        """The host names of a pattern and its port (text), as Ansible reads them."""
        address, port = self._address(pattern)
        name = pattern if address is None else address
        if pattern.strip().endswith(":") and port is None:
            raise self.error(f"host pattern {shown(pattern)} ends in ':', which Ansible "
                             "reserves for a port")
        if address is None:
            outside = _BRACKETS.sub("", pattern)
            if ":" in outside and not _other_ipv6(pattern):
                raise self.error(
                    f"host pattern {shown(pattern)} is not an address Ansible can split a "
                    "port from: it would make a host named with the ':'")
            if "=" in outside:
                raise self.error(
                    f"host pattern {shown(pattern)} holds '=': Ansible would make a host "
                    f"named so (vars go after a host name, or in a [group:vars] section)")
        try:
            names = expand(name)
        except ValueError as exc:
            raise self.error(str(exc)) from None
        for host in names:
            if not host.strip():
                raise self.error(f"host pattern {shown(pattern)} makes an empty host name")
            if host.strip() == "---":
                raise self.error("a host named '---': this looks like a YAML file")
        return names, port

    def _address(self, pattern: str) -> tuple[str | None, str | None]:
        """(address, port) as Ansible's parse_address reads ``pattern`` with ranges, or
        (None, None) where it cannot (Ansible then takes the pattern as it is)."""
        bracketed = _BRACKETED.fullmatch(pattern)
        if bracketed is not None:
            address, port = bracketed.group(1), bracketed.group(2)
            if split_port(address)[1] is not None:
                raise self.error(f"host pattern {shown(pattern)} has two ports")
        else:
            address, port = split_port(pattern)
        if _HOSTNAME.fullmatch(address) or _is_ipv6(address):
            return address, port
        return None, None

    def _port(self, owner: str, port: str) -> int:
        if len(port) > 20:
            reason = f"ansible_port: expected a port number 1-65535, got {shown(port)}"
        else:
            reason = check_var("ansible_port", port)
        if reason:
            raise self.error(f"{owner}: {reason}")
        return int(port)

    def _words(self, line: str) -> list[str]:
        """``line`` split as shlex.split(line, comments=True) splits it (POSIX quoting
        and escapes), except that a '#' inside a word is an error, not a comment."""
        words: list[str] = []
        pos, end = 0, len(line)
        while True:
            pos = _BLANKS.match(line, pos).end()
            if pos >= end or line[pos] == "#":
                return words
            parts: list[str] = []
            while pos < end and line[pos] not in " \t\r\n":
                if line[pos] == "#":
                    cut = "".join(parts)
                    raise self.error(
                        f"'#' inside a word starts a comment in an Ansible host line: it cuts "
                        f"{shown(cut + line[pos:pos + 10] + '...', 60)} to {shown(cut, 40)}; "
                        "quote the value, or put a blank before the comment")
                piece = _PIECE.match(line, pos)
                if piece is None:
                    what = "no escaped character" if line[pos] == "\\" else "no closing quotation"
                    raise self.error(f"cannot split the host line: {what} "
                                     f"({shown(line[pos:pos + 40])})")
                text = piece.group()
                if text[0] == "'":
                    parts.append(text[1:-1])
                elif text[0] == '"':
                    parts.append(_DQ_ESCAPE.sub(r"\1", text[1:-1]))
                elif text[0] == "\\":
                    parts.append(text[1])
                else:
                    parts.append(text)
                pos = piece.end()
            words.append("".join(parts))

    # -- vars --------------------------------------------------------------------------
    def _check_key(self, key: str, owner: str) -> None:
        if not (key.isidentifier() and key.isascii()) or key in _JINJA_NAMES:
            raise self.error(f"{owner}: {shown(key, 40)} is not a valid variable name "
                             "(letters, digits and '_', not starting with a digit; Ansible "
                             "accepts it with a deprecation warning)")

    def _check_var(self, owner: str, key: str, value: Any) -> None:
        reason = check_var(key, value)
        if reason:
            raise self.error(f"{owner}: {reason}")
        if key not in self.warned:
            self.warned[key] = check_name(key)
        warning = self.warned[key]
        if warning:
            self.builder.var_warnings.append(str(self.error(f"{owner}: {warning}")))

    def _typed(self, text: str, owner: str, key: str) -> tuple[Any, bool]:
        """(value, whether it was a Python literal): Ansible's typing of an INI value."""
        if not _may_be_literal(text):
            return text, False
        if len(text) > MAX_LITERAL_CHARS:
            raise self.error(f"{owner}: the value of {key} is {len(text)} characters long "
                             f"(more than {MAX_LITERAL_CHARS}, fleetcheck's limit for a value "
                             "Ansible reads as a Python literal)")
        if _PLAIN_INT.fullmatch(text):
            return int(text), True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text, False
        except (TypeError, MemoryError, RecursionError, OverflowError) as exc:
            detail = f": {str(exc)[:80]}" if str(exc) else ""
            raise self.error(f"{owner}: Ansible cannot read the value of {key} "
                             f"({type(exc).__name__}{detail})") from None
        try:
            value, size = _plain(value)
        except ValueError as exc:
            raise self.error(f"{owner}: the value of {key}: {exc}") from None
        if size > MAX_HOST_VALUES:
            raise self.error(f"{owner}: the value of {key} holds {size} values (more than "
                             f"{MAX_HOST_VALUES}, the limit of one host)")
        return value, True

    def _set_vars(self) -> None:
        builder = self.builder
        for group, record in self.group_vars.items():
            builder.set_group_vars(group, with_aliases({k: v for k, (v, _) in record.items()}))
        done: dict[int, dict] = {}   # the hosts of a range share their record
        for host, record in self.host_vars.items():
            if not record:
                continue
            values = done.get(id(record))
            if values is None:
                values = done[id(record)] = with_aliases({k: v for k, (v, _) in
                                                          record.items()})
            builder.set_host_vars(host, values)


def _may_be_literal(text: str) -> bool:
    """False when ast.literal_eval(text) must fail, judged from how the text starts
    (most values: names, paths, addresses), so that only the rest is parsed."""
    start = text.lstrip(" \t")
    if not start:
        return False
    first = start[0]
    if first in _STARTS_LITERAL:
        return not _DOTTED_NUMBERS.fullmatch(start)
    if not first.isascii():
        return False      # an identifier (a Name) or no Python at all
    word = _WORD.match(start)
    if word is None:
        return False      # '/usr/bin', '~x', '$HOME', '<...>': no expression starts so
    rest = start[word.end():]
    return word.group() in _LITERAL_WORDS or (
        word.group().lower() in _STRING_PREFIXES and rest[:1] in ("'", '"'))


def _plain(value: Any) -> tuple[Any, int]:
    """A literal_eval result as Ansible keeps it (tuples are lists, bytes and complex
    numbers strings, Ellipsis '...'), and how many values it holds. Raises ValueError
    for what fleetcheck refuses (module docstring)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value, 1
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValueError(f"the string {shown(value, 40)} holds a lone surrogate "
                             "(no UTF-8 text can)")
        return value, 1
    if isinstance(value, bytes):
        try:
            return _plain(value.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"the bytes {shown(value, 40)} are not UTF-8 text") from None
    if isinstance(value, complex):
        return str(value), 1
    if value is Ellipsis:
        return "...", 1
    if isinstance(value, (list, tuple)):
        items, size = [], 1
        for item in value:
            plain, count = _plain(item)
            items.append(plain)
            size += count
        return items, size
    if isinstance(value, (set, frozenset)):
        # Ansible lists a set in its iteration order: fixed for numbers (they hash to
        # themselves), not for strings (their hash changes from run to run)
        if len(value) > 1 and not all(type(item) in (int, float, bool) for item in value):
            raise ValueError("a set literal of strings: Ansible makes a list of it in an "
                             "order that changes from run to run; write a list [...]")
        return _plain(list(value))
    if isinstance(value, dict):
        result, size = {}, 1
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"the mapping key {shown(key, 40)} is not a string")
            plain, count = _plain(item)
            result[key] = plain
            size += count
        return result, size
    raise ValueError(f"cannot use a {type(value).__name__}")


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1, 1.0 and True differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _other_ipv6(pattern: str) -> bool:
    """An IPv6 address Ansible's grammar does not know (``::2:3:4:5:6:7:8``, a zone
    ``fe80::1%eth0``): Ansible names the host so, which is the address itself."""
    if "[" in pattern or "]" in pattern:
        return False
    try:
        ipaddress.IPv6Address(pattern)
    except ValueError:
        return False
    return True


def _is_ipv6(address: str) -> bool:
    """Whether ``address`` is an IPv6 address as Ansible's grammar has it: groups of 1-4
    hex digits or hex ranges ``[0:ff]``, at most one '::' (the groups around it 7 at
    most, 6 on either side), or eight groups; or an IPv4 tail after 0:0:0:0:0:0:, ::,
    ::ffff: or 0:0:0:0:0:ffff: (its four parts written as IPv6 groups are)."""
    if ":" not in address or not _IPV6_CHARS.fullmatch(address):
        return False
    masked = _HEX_RANGE_RE.sub("R", address)
    if "[" in masked or "]" in masked:
        return False
    if "." in masked:
        head, _, tail = masked.rpartition(":")
        parts = tail.split(".")
        return (head + ":").lower() in _IPV4_PREFIXES and len(parts) == 4 and \
            all(_IPV6_PART.fullmatch(p) for p in parts)
    if "::" in masked:
        left, right = masked.split("::", 1)
        before = left.split(":") if left else []
        after = right.split(":") if right else []
        return len(before) <= 6 and len(after) <= 6 and len(before) + len(after) <= 7 and \
            all(_IPV6_PART.fullmatch(p) for p in before + after)
    groups = masked.split(":")
    return len(groups) == 8 and all(_IPV6_PART.fullmatch(p) for p in groups)
