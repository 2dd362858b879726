"""The one error type of the inventory package, and the limits every source is held to.

An inventory is untrusted input (a CMDB over HTTP, a script, a file someone else
writes), so what it can make the controller spend is bounded. Each limit is far above
what a real inventory needs; going past one is a one-line InventoryError naming it:

  MAX_HOSTS             1,000,000 hosts in the whole inventory (checked as hosts are
                        added, before the next one is made)
  MAX_HOSTS_PER_PATTERN   100,000 hosts from one name pattern (``web[1:100000]``),
                        counted before any name is built
  MAX_NESTING                 100 levels of nested lists/mappings in a YAML file or a
                        JSON document (deeper data ran into Python's recursion limit)
  MAX_GROUP_DEPTH             100 groups from 'all' down to the deepest group
  MAX_ALIAS_NODES         500,000 nodes that YAML aliases add when expanded, per file
                        (a 1 KB "billion laughs" document expands to billions)
  MAX_HOST_VALUES         100,000 values (every scalar, list and mapping, counted
                        through shared parts) in one host's merged vars
  MAX_MERGED_ENTRIES   50,000,000 entries of the mappings that merging vars makes, for
                        all hosts together (each host's own top level, and a mapping
                        merged over another; what hosts share is made once): about
                        50 vars for each of MAX_HOSTS hosts, a few GB at most
  MAX_SOURCE_BYTES        256 MiB read from one file, script or URL
  MAX_REASON                  400 characters of an error's reason (a value in it is
                        cut to 80 by fleetcheck.values.shown; this is the last resort)

and, where the files are found (beside the limits they bound):

  directory.MAX_FILES      10,000 files read from one inventory directory
  directory.MAX_DEPTH          20 levels of directories below an inventory directory
  vardirs.MAX_FILES_PER_ENTITY  10,000 group_vars/host_vars files for one group or host
  vardirs.MAX_DIR_DEPTH        20 levels of directories below group_vars/NAME/
  delegate: ansible-inventory runs at most TIMEOUT_FACTOR x --inventory-timeout, and
  its output is held to MAX_SOURCE_BYTES (its process group is killed past either)
"""

from __future__ import annotations

import itertools
import re

MAX_HOSTS = 1_000_000
MAX_HOSTS_PER_PATTERN = 100_000
MAX_NESTING = 100
MAX_GROUP_DEPTH = 100
MAX_ALIAS_NODES = 500_000
MAX_HOST_VALUES = 100_000
MAX_MERGED_ENTRIES = 50_000_000
MAX_SOURCE_BYTES = 256 * 1024 * 1024
MAX_REASON = 400
MAX_FILE_SHOWN = 200

_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")


def one_line(text: object) -> str:
    """``text`` with every line break (and the blanks around it) turned into one space."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}... (cut, {len(text)} characters)"


class InventoryError(Exception):
    """An inventory (or a --limit / --hosts value) that fleetcheck refuses.

    ``str(e)`` is always ONE line: ``<file>:<line>: <what is wrong>``, with
    ``:<line>`` left out when no line is known and ``<file>:`` left out when the
    problem is not in a file (``--limit 'x' selects no host (...)``). The reason is
    cut to MAX_REASON characters and the file to MAX_FILE_SHOWN, whatever they embed.
    The parts are kept as ``e.file``, ``e.line`` and ``e.reason``.
    """

    def __init__(self, reason: str, file: str | None = None, line: int | None = None):
        self.reason = _cut(one_line(reason), MAX_REASON)
        self.file = _cut(one_line(file), MAX_FILE_SHOWN) if file is not None else None
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
    """'a, b, c' for error messages, cut after ``limit`` names: 'a, b, ... (+15 more)'.
    Each name is cut to 40 characters."""
    if not hasattr(names, "__len__"):
        names = list(names)
    shown = [name if len(name) <= 40 else f"{name[:37]}..."
             for name in itertools.islice(names, limit)]
    if not shown:
        return "nothing"
    text = ", ".join(shown)
    if len(names) > limit:
        text += f", ... (+{len(names) - limit} more)"
    return text
