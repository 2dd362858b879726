"""``--limit``: Ansible's host patterns, read as ``ansible all --limit PATTERN`` reads them.

Splitting (ansible-core's split_host_pattern): a limit with a comma is split on its
commas only (``web:&prod,db1`` is the two patterns ``web:&prod``, which matches
nothing, and ``db1``). A limit without one is a single pattern when the whole of it
reads as a host address (``web[1:3]``, ``2001:db8::1``, ``db1:2222``), and is
otherwise split on ':' and on blanks outside complete ``[...]`` (``web:db[1:2]`` ->
``web``, ``db[1:2]``; a '[' never closed and a lone ']' are dropped). ``@FILE`` stands
for the lines of FILE, each line one pattern (Ansible's retry files).

A pattern is an optional '&' (intersection) or '!' (exclusion), then a host name, a
group name, an fnmatch glob or a ``~regex`` (re.match: from the start of the name).
Globs and regexes are tried against group names (every host in or below a matching
group) and host names; a plain word against host names only when no group has that
name, and a plain pattern (no '&'/'!') that is a host name is that host.

A pattern other than a ``~regex`` may end with a subscript: ``[i]`` (``[-1]`` the last),
``[i:j]`` (both included), ``[i:]``, ``[i-j]``. It counts positions in what the rest of
the pattern matched, in Ansible's order: the hosts of each matching group (each in
order.group_order, the groups in inventory order), then the matching host names in
the order they were defined -- a host reached twice counts twice. A trailing bracket
of digits is always a subscript, never a host range: ``web[1]`` is the second host of
group web (not host web1), ``db[1:2]`` the second and third of group db, ``web0[12]``
the thirteenth of what ``web0`` matches. ``[:2]`` or ``[-1:]`` are no subscript (nor
are they for Ansible): they stay fnmatch classes. Ansible's quirks are kept: ``[i:0]``
is ``[i]``; a subscript past the end of a slice is cut, past the end of a single index
is an error, and over a pattern that matched nothing selects nothing.

Evaluation: the union of the plain patterns (every host when there is none), then
each '&' pattern intersected, then each '!' pattern removed. The hosts come back in
the order ``ansible all --list-hosts`` prints them: Inventory.hosts (build.py
orders it with order.ansible_order).

Departures from Ansible, on purpose:
- an empty limit (``--limit ""``, an @FILE with no pattern in it) is an error, not
  "no limit" (``--limit "$UNSET"`` must not mean the whole fleet);
- '&' or '!' followed by nothing or by another '&'/'!' (``web:!``, ``!!web``) is an
  error (Ansible fails with a Python traceback on the first and reads the second as
  the name '!web');
- ``[i-j]`` is read as ``[i:j]`` without Ansible's deprecation warning; a subscript
  number of more than 18 digits is out of range (Ansible's int() accepts 4,300);
- a host named 'all' does not shrink the inventory to itself (for Ansible the
  pattern 'all' of ``ansible all`` is then that host).
Measured against ansible-core 2.19 by tests/unit/test_inventory_order.py.

Cost: each distinct pattern is matched once: one regex over every group and host
name, and a set of hosts per matching group (the hosts' group lists, gathered once).
A subscript orders only the (at most two) groups it cuts into.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetcheck.values import shown

from .errors import MAX_SOURCE_BYTES, InventoryError, name_list
from .order import group_order

if TYPE_CHECKING:
    from collections.abc import Callable

    from .model import HostEntry, Inventory

_GLOB_CHARS = (".", "?", "*", "[")
MAX_INDEX_DIGITS = 18   # a subscript number longer than this is past any inventory
_SUBSCRIPT = re.compile(r"\[(-?[0-9]+|[0-9]+[:-][0-9]*)\]\Z")


def quoted(limit: str) -> str:
    """``'web*'`` as error messages show a pattern: in quotes, cut to 80 characters."""
    if len(limit) <= 78:
        return f"'{limit}'"
    return f"'{limit[:60]}...' ({len(limit)} characters)"


# -- splitting ----------------------------------------------------------------------

def split_patterns(limit: str) -> list[str]:
    """The patterns of a limit, as Ansible splits it (see the module docstring);
    ``@FILE`` is not read here."""
    if "," in limit:
        pieces = limit.split(",")
    elif is_address(limit):
        pieces = [limit]
    else:
        pieces = _split_colons(limit)
    return [piece.strip() for piece in pieces if piece.strip()]


def _split_colons(text: str) -> list[str]:
    """Runs of characters other than ':', '[', ']' and blanks, a complete ``[...]``
    counting as part of a run (even with ':' or blanks inside)."""
    pieces: list[str] = []
    current: list[str] = []
    close, i = -1, 0
    while i < len(text):
        char = text[i]
        if char == "[":
            if close != -2 and close < i:
                close = text.find("]", i)
                close = -2 if close < 0 else close   # -2: no ']' anywhere after
            if close > i:
                current.append(text[i : close + 1])
                i = close + 1
                continue
        if char in ":[]" or char.isspace():
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    pieces.append("".join(current))
    return [piece for piece in pieces if piece]


def expand_files(limit: str, patterns: list[str]) -> list[str]:
    """``patterns`` with each ``@FILE`` replaced by the lines of FILE (stripped; blank
    lines left out; a line is one pattern, not split again)."""
    result: list[str] = []
    for pattern in patterns:
        if pattern.startswith("@"):
            text = _read_limit_file(limit, pattern[1:])
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            result.extend(line.strip() for line in lines if line.strip())
        else:
            result.append(pattern)
    return result


def _read_limit_file(limit: str, path: str) -> str:
    """The text of a limit file: a regular file (opened without blocking, so a FIFO
    cannot hang the run), at most MAX_SOURCE_BYTES of UTF-8."""
    where = f"--limit {quoted(limit)}: limit file {shown(path)}"
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InventoryError(f"--limit {quoted(limit)}: cannot read limit file {shown(path)}: "
                             f"{exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise InventoryError(f"{where} is not a file")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise InventoryError(f"{where} is larger than {MAX_SOURCE_BYTES} bytes")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InventoryError(f"--limit {quoted(limit)}: cannot read limit file "
                             f"{shown(path)}: {reason}") from None
    finally:
        os.close(descriptor)


# -- is the whole limit one host address? (ansible's parse_address, ranges allowed) ---

_HEX_RANGE = re.compile(r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]", re.I)
_NAME_RANGE = re.compile(r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]", re.I)
_HEX_PART = re.compile("[0-9a-f]{1,4}|\0", re.I)   # NUL: a range, put in by _is_ipv6
_WORD = re.compile(r"\w")


def is_address(text: str) -> bool:
    """Whether ``text`` is one host name, IPv4 or IPv6 address (each possibly with
    ``[x:y]`` ranges), with an optional ``:port`` (``[addr]:port`` for IPv6)."""
    head, colon, port = _chomp(text).rpartition(":")
    if colon and _is_port(port) and len(head) > 2 and head[0] == "[" and head[-1] == "]" \
            and "\n" not in head:
        text = head[1:-1]
    head, colon, port = _chomp(text).rpartition(":")
    if colon and _is_port(port) and _no_bare_colon(head):
        text = head
    text = _chomp(text)
    return _is_hostname(text) or _is_ipv6(text)


def _chomp(text: str) -> str:
    """``text`` without one final newline (Ansible's regexes end in '$', which allows one)."""
    return text[:-1] if text.endswith("\n") else text


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _no_bare_colon(text: str) -> bool:
    """No ':' and no unmatched bracket outside complete ``[...]``."""
    depth_open = False
    for char in text:
        if char == "[":
            if depth_open:
                continue
            depth_open = True
        elif char == "]":
            if not depth_open:
                return False
            depth_open = False
        elif char == ":" and not depth_open:
            return False
    return not depth_open


def _is_hostname(text: str) -> bool:
    """Labels joined by '.': each starts with a word character or a range, goes on
    with word characters, '-' or ranges, and does not end with '-' or '_'."""
    return bool(text) and all(_is_label(label) for label in text.split("."))


def _is_label(label: str) -> bool:
    i, last = 0, ""
    while i < len(label):
        char = label[i]
        if char == "[":
            match = _NAME_RANGE.match(label, i)
            if not match:
                return False
            i, last = match.end(), "]"
            continue
        if char == "-" and i == 0:
            return False
        if char != "-" and not _WORD.match(char):
            return False
        i, last = i + 1, char
    return last not in ("", "-", "_")


def _is_ipv6(text: str) -> bool:
    """Eight groups of hex digits (or ranges), or fewer with one '::' (at most six on
    either side, seven in all), or the IPv4-in-IPv6 forms (``::ffff:a.b.c.d``, ...)."""
    if "\0" in text:
        return False
    text = _HEX_RANGE.sub("\0", text)
    if "[" in text or "]" in text:
        return False
    head, dot, _ = text.partition(".")
    if dot:
        prefix, _, first = head.rpartition(":")
        dotted = [first] + text[len(head) + 1 :].split(".")
        return len(dotted) == 4 and all(map(_is_hex_part, dotted)) and \
            prefix.lower() in ("0:0:0:0:0:0", ":", "::ffff", "0:0:0:0:0:ffff")
    if text.count("::") > 1:
        return False
    if "::" not in text:
        parts = text.split(":")
        return len(parts) == 8 and all(map(_is_hex_part, parts))
    left, right = (side.split(":") if side else [] for side in text.split("::"))
    return len(left) <= 6 and len(right) <= 6 and len(left) + len(right) <= 7 and \
        all(map(_is_hex_part, left + right))


def _is_hex_part(text: str) -> bool:
    return bool(_HEX_PART.fullmatch(text))


# -- subscripts ----------------------------------------------------------------------

@dataclass(frozen=True)
class Subscript:
    """``[start]`` (``stop`` None) or ``[start:stop]`` (stop included; END: the last)."""

    start: int
    stop: int | None = None
    END = -1

    def positions(self, count: int) -> range | None:
        """The positions it picks among ``count`` matches; None: a single index past
        the end (an error for Ansible)."""
        if self.stop is None:
            if not -count <= self.start < count:
                return None
            first = self.start % count
            return range(first, first + 1)
        stop = count - 1 if self.stop == self.END else min(self.stop, count - 1)
        return range(min(self.start, count), stop + 1)


def split_subscript(pattern: str) -> tuple[str, Subscript | None]:
    """``'web[1:2]'`` -> ``('web', Subscript(1, 2))``; a ``~regex`` has none."""
    match = None if pattern.startswith("~") else _SUBSCRIPT.search(pattern)
    if match is None or match.start() == 0 or "\n" in pattern[: match.start()]:
        return pattern, None
    inside = match.group(1)
    head = pattern[: match.start()]
    numbers = re.fullmatch(r"([0-9]+)[:-]([0-9]*)", inside)
    if numbers is None:
        return head, Subscript(_number(inside))
    start, stop = numbers.groups()
    if not stop:
        return head, Subscript(_number(start), Subscript.END)
    if _number(stop) == 0:        # Ansible's quirk: [i:0] is [i]
        return head, Subscript(_number(start))
    return head, Subscript(_number(start), _number(stop))


def _number(text: str) -> int:
    digits = text.lstrip("-")
    value = int(digits) if len(digits) <= MAX_INDEX_DIGITS else 10**MAX_INDEX_DIGITS
    return -value if text.startswith("-") else value


# -- selecting -----------------------------------------------------------------------

def select(inventory: Inventory, limit: str | list[str] | None) -> list[HostEntry]:
    """The hosts ``limit`` selects, in Ansible's order (None: every host)."""
    order = list(inventory.hosts)     # in Ansible's order (build.py)
    if limit is None:
        if not order:
            raise InventoryError("the inventory has no host")
        return [inventory.hosts[name] for name in order]
    if isinstance(limit, str):
        patterns = split_patterns(limit)
    else:
        patterns = [p for piece in limit for p in split_patterns(piece)]
        limit = ",".join(limit)
    patterns = expand_files(limit, patterns)
    if not patterns:
        raise InventoryError(f"--limit {quoted(limit)}: empty pattern")
    for pattern in patterns:
        if pattern[0] in "&!" and (len(pattern) == 1 or pattern[1] in "&!"):
            raise InventoryError(
                f"--limit {quoted(limit)}: {pattern[0]!r} must be followed by a pattern")

    matcher = _Matcher(inventory, limit)
    plain = [p for p in patterns if p[0] not in "&!"] or ["all"]
    selected: set[str] = set()
    for pattern in dict.fromkeys(plain):
        if pattern in inventory.hosts:  # a host name is that host, even if a group has it
            selected.add(pattern)
        else:
            selected |= matcher.hosts(pattern)
    for pattern in dict.fromkeys(p for p in patterns if p[0] == "&"):
        selected &= matcher.hosts(pattern[1:])
    for pattern in dict.fromkeys(p for p in patterns if p[0] == "!"):
        selected -= matcher.hosts(pattern[1:])

    hosts = [inventory.hosts[name] for name in order if name in selected]
    if not hosts:
        raise InventoryError(
            f"--limit {quoted(limit)} selects no host (inventory has: {name_list(order)})")
    return hosts


class _Matcher:
    """The hosts a pattern matches (ansible's _match_one_pattern), each distinct
    pattern once."""

    def __init__(self, inventory: Inventory, limit: str):
        self.inventory, self.limit = inventory, limit
        self._members: dict[str, set[str]] | None = None
        self._done: dict[str, set[str]] = {}

    def hosts(self, pattern: str) -> set[str]:
        found = self._done.get(pattern)
        if found is None:
            found = self._done[pattern] = self._match(pattern)
        return found

    def members(self, group: str) -> set[str]:
        """The hosts in ``group`` or below (one pass over the hosts, the first time)."""
        if self._members is None:
            self._members = {}
            for name, host in self.inventory.hosts.items():
                for member_of in host.groups:
                    self._members.setdefault(member_of, set()).add(name)
        return self._members.get(group, set())

    def defined(self) -> list[str]:
        """Host names in the order they were defined (Ansible's inventory.hosts dict),
        which a glob or regex with a subscript indexes."""
        return self.inventory.defined or list(self.inventory.hosts)

    def _match(self, pattern: str) -> set[str]:
        expr, subscript = split_subscript(pattern)
        match = self._compile(expr)
        groups = [name for name in self.inventory.groups if match(name)]
        names: list[str] = []
        if not groups or expr.startswith("~") or any(c in expr for c in _GLOB_CHARS):
            names = [name for name in self.defined() if match(name)]
        if subscript is None:
            hosts = set(names)
            for group in groups:
                hosts |= self.members(group)
            return hosts
        return self._cut(pattern, expr, subscript, groups, names)

    def _cut(self, pattern: str, expr: str, subscript: Subscript, groups: list[str],
             names: list[str]) -> set[str]:
        """The hosts at the subscript's positions in: each group's hosts, then
        ``names``. Only a group the positions cut into is put in order."""
        parts: list[tuple[str | None, int]] = [(g, len(self.members(g))) for g in groups]
        parts.append((None, len(names)))
        count = sum(size for _, size in parts)
        if count == 0:
            return set()
        positions = subscript.positions(count)
        if positions is None:
            raise InventoryError(
                f"--limit {quoted(self.limit)}: {shown(pattern)} selects no host: "
                f"{shown(expr)} matches {count} host{'s' if count != 1 else ''}, so "
                f"{shown(pattern[len(expr):], 40)} is out of range")
        hosts: set[str] = set()
        offset = 0
        for group, size in parts:
            first, last = max(positions.start, offset), min(positions.stop, offset + size)
            if first < last:
                if first == offset and last == offset + size:
                    hosts |= self.members(group) if group is not None else set(names)
                else:
                    ordered = names if group is None else \
                        group_order(self.inventory, group)
                    hosts.update(ordered[first - offset : last - offset])
            offset += size
        return hosts

    def _compile(self, expr: str) -> Callable[[str], object]:
        regex = expr[1:] if expr.startswith("~") else fnmatch.translate(expr)
        try:
            return re.compile(regex).match
        except (re.error, RecursionError, OverflowError) as exc:
            what = "regular expression" if expr.startswith("~") else "pattern"
            raise InventoryError(
                f"--limit {quoted(self.limit)}: invalid {what} "
                f"{shown(expr[1:] if expr.startswith('~') else expr)}: {exc}") from None
