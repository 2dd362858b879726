"""Inventory directories: ``--inventory inventories/prod/`` reads every file in it, in
the order ansible-core's InventoryManager.parse_source reads them.

Each directory's entries are sorted (by name, as Python sorts strings); an entry is
skipped when its name is hidden (``.git``, ``.gitkeep``), is ``group_vars``,
``host_vars`` or ``vars_plugins``, ends with one of the ignored extensions
(ansible.cfg ``inventory_ignore_extensions``, default ``.pyc .pyo .swp .bak ~ .rpm .md
.txt .rst .orig .cfg .retry``) or matches one of the ignored patterns (regular
expressions searched anywhere in the name, ``inventory_ignore_patterns``). A
subdirectory is read where it sorts, recursively, by the same rules. Each file is
then read as any inventory source is (sources.py: INI, YAML, an executable script, a
plugin configuration), so formats mix freely.

group_vars/ and host_vars/ go with the directory itself (vardirs.py), not with the
files in it or its subdirectories, as in Ansible.

Limits (untrusted input): at most MAX_FILES files and MAX_DEPTH levels of
subdirectories; a directory that contains itself (a symlink loop) is an error.
Where fleetcheck departs from Ansible: a file in the directory that no reader takes
is an error naming it (Ansible warns and goes on without it); hide it with an
ignore pattern.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from .errors import InventoryError

ALWAYS_IGNORED = (r"^\.", r"^host_vars$", r"^group_vars$", r"^vars_plugins$")
MAX_FILES = 10_000
MAX_DEPTH = 20


def ignore_rule(extensions: Iterable[str], patterns: Iterable[str]) -> re.Pattern:
    """The one regular expression Ansible builds (IGNORED in inventory/manager.py): the
    names always skipped, each pattern, each extension at the end of a name."""
    parts = list(ALWAYS_IGNORED) + [f"(?:{p})" for p in patterns]
    parts += [re.escape(ext) + "$" for ext in extensions]
    return re.compile("|".join(parts))


def files(top: str, ignored: re.Pattern) -> list[str]:
    """Every file of inventory directory ``top`` to read, in Ansible's order."""
    found: list[str] = []
    stack = [(top, iter(_entries(top, ignored)), os.path.realpath(top))]
    while stack:
        directory, entries, _ = stack[-1]
        for entry in entries:
            path = os.path.join(directory, entry)
            if os.path.isdir(path):
                real = os.path.realpath(path)
                if any(real == open_real for _, _, open_real in stack):
                    raise InventoryError("an inventory directory contains itself (a symlink "
                                         "loop)", path)
                if len(stack) > MAX_DEPTH:
                    raise InventoryError(f"inventory directories nested more than {MAX_DEPTH} "
                                         "levels deep", path)
                stack.append((path, iter(_entries(path, ignored)), real))
                break
            found.append(path)
            if len(found) > MAX_FILES:
                raise InventoryError(f"more than {MAX_FILES} files in the inventory directory "
                                     "(the limit of one directory source)", top)
        else:
            stack.pop()
    return found


def _entries(directory: str, ignored: re.Pattern) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise InventoryError(f"cannot read the inventory directory: {exc.strerror or exc}",
                             directory) from None
    return sorted(name for name in names if not ignored.search(name))
