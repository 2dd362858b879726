"""The one error type of the inventory package."""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")


def one_line(text: object) -> str:
    """``text`` with every line break (and the blanks around it) turned into one space."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


class InventoryError(Exception):
    """An inventory (or a --limit / --hosts value) that fleetcheck refuses.

    ``str(e)`` is always ONE line: ``<file>:<line>: <what is wrong>``, with
    ``:<line>`` left out when no line is known and ``<file>:`` left out when the
    problem is not in a file (``--limit 'x' selects no host (...)``).
    The parts are kept as ``e.file``, ``e.line`` and ``e.reason``.
    """

    def __init__(self, reason: str, file: str | None = None, line: int | None = None):
        self.reason = one_line(reason)
        self.file = one_line(file) if file is not None else None
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.file is None:
            return self.reason
        if self.line is None:
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}: {self.reason}"

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):  # survive pickling (pytest-xdist ships errors between processes)
        return (type(self), (self.reason, self.file, self.line))


def name_list(names, limit: int = 10) -> str:
    """'a, b, c' for error messages, cut after ``limit`` names: 'a, b, ... (+15 more)'."""
    names = list(names)
    if not names:
        return "nothing"
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... (+{len(names) - limit} more)"
    return shown
