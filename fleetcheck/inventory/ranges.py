"""Host name patterns of YAML inventories: ``web[01:20]``, ``web[1:10:2]``, ``db-[a:c]``,
several ranges in one name, and an optional ``:port`` suffix (``web1:2222``)."""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
import string

from fleetcheck.values import shown

from .errors import MAX_HOSTS_PER_PATTERN

MAX_DIGITS = 18  # a range bound or step: beyond this it is no host number
_DIGITS = re.compile(r"[0-9]+")
_PORT_SUFFIX = re.compile(r"(.+):([0-9]+)")
_BRACKETS = re.compile(r"\[[^\]]*\]")


def split_port(key: str) -> tuple[str, str | None]:
    """``'web[1:3]:2222'`` -> ``('web[1:3]', '2222')``, ``'[2001:db8::1]:2222'`` ->
    ``('2001:db8::1', '2222')``; names without a port (and bare IPv6 addresses, whose
    colons are not a port separator) come back unchanged."""
    match = _PORT_SUFFIX.fullmatch(key)
    if match and ":" not in _BRACKETS.sub("", match.group(1)):
        return _unbracketed(match.group(1)), match.group(2)
    return _unbracketed(key), None


def _unbracketed(name: str) -> str:
    """``[2001:db8::1]`` (an IPv6 address in brackets, as Ansible writes one with a
    port) -> ``2001:db8::1``; anything else (a range) unchanged."""
    if name.startswith("[") and name.endswith("]") and ":" in name:
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return name
        return name[1:-1]
    return name


def count(pattern: str) -> int:
    """How many host names ``pattern`` stands for, computed without building them.
    Raises ValueError as :func:`expand` does."""
    return math.prod(len(piece) for piece in _pieces(pattern))


def expand(pattern: str) -> list[str]:
    """Every host name ``pattern`` stands for, in order. Raises ValueError saying what
    is wrong with a malformed range, one that expands to nothing, or one that stands
    for more than MAX_HOSTS_PER_PATTERN hosts (counted before any name is built)."""
    if "[" not in pattern and "]" not in pattern:
        return [pattern]
    pieces = _pieces(pattern)
    total = math.prod(len(piece) for piece in pieces)
    if total > MAX_HOSTS_PER_PATTERN:
        raise ValueError(
            f"host pattern {shown(pattern)} expands to {total} hosts "
            f"(more than {MAX_HOSTS_PER_PATTERN})"
        )
    return ["".join(parts) for parts in itertools.product(*pieces)]


class _Numbers:
    """The names of a numeric range, as a sequence that knows its length unbuilt."""

    def __init__(self, values: range, width: int):
        self.values, self.width = values, width

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        width = self.width
        return (str(value).zfill(width) for value in self.values)


def _pieces(pattern: str) -> list:
    """``pattern`` as a list of pieces (a literal in a one-item list, a range as a
    sized sequence of its values); the host names are their product."""
    if "[" not in pattern and "]" not in pattern:
        return [[pattern]]
    pieces: list = []
    pos = 0
    while pos < len(pattern):
        start = pattern.find("[", pos)
        stray = pattern.find("]", pos)
        if stray >= 0 and (start < 0 or stray < start):
            raise ValueError(f"unmatched ']' in host name {shown(pattern)}")
        if start < 0:
            pieces.append([pattern[pos:]])
            break
        end = pattern.find("]", start)
        if end < 0:
            raise ValueError(f"unterminated host range in {shown(pattern)} (missing ']')")
        inner = pattern[start + 1 : end]
        if "[" in inner:
            raise ValueError(f"nested '[' in host range of {shown(pattern)}")
        pieces.append([pattern[pos:start]])
        pieces.append(_range(inner, pattern))
        pos = end + 1
    return pieces


def _range(inner: str, pattern: str):
    where = f"host range {shown('[' + inner + ']', 40)} in {shown(pattern)}"
    fields = inner.split(":")
    if len(fields) not in (2, 3):
        raise ValueError(f"malformed {where} (expected [start:end] or [start:end:step])")
    beg, end = fields[0] or "0", fields[1]
    if not end:
        raise ValueError(f"malformed {where}: no end value")
    step_text = fields[2] if len(fields) == 3 else "1"
    if _DIGITS.fullmatch(step_text) and len(step_text) > MAX_DIGITS:
        raise ValueError(f"malformed {where}: step has more than {MAX_DIGITS} digits")
    if not _DIGITS.fullmatch(step_text) or int(step_text) == 0:
        raise ValueError(f"malformed {where}: step must be a positive integer, "
                         f"got {shown(step_text, 40)}")
    step = int(step_text)

    if _DIGITS.fullmatch(beg) and _DIGITS.fullmatch(end):
        if len(beg) > MAX_DIGITS or len(end) > MAX_DIGITS:
            raise ValueError(f"malformed {where}: a number has more than {MAX_DIGITS} digits")
        width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
        if width and len(end) != width:
            raise ValueError(
                f"malformed {where}: a zero-padded range needs start and end of the same width"
            )
        values = range(int(beg), int(end) + 1, step)
        if not values:
            raise ValueError(f"{where} expands to nothing (start {beg} is after end {end})")
        return _Numbers(values, width)

    letters = string.ascii_letters
    if len(beg) == 1 and len(end) == 1 and beg in letters and end in letters:
        first, last = letters.index(beg), letters.index(end)
        if first > last:
            raise ValueError(f"{where} expands to nothing (start {beg!r} is after end {end!r})")
        return list(letters[first : last + 1 : step])

    raise ValueError(
        f"malformed {where}: start and end must both be numbers (01:20) or both single letters (a:f)"
    )
