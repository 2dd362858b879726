"""What the tests comparing fleetcheck's inventories with ansible-core's share (the
tests' directory is on sys.path: tests/conftest.py is there).

- :func:`decoded`: ansible-inventory's tagged JSON values, as the values themselves;
- :func:`selected`: fleetcheck's answer to a --limit, from the directory Ansible is run
  from (an @FILE is relative to it);
- :func:`kept`: what Ansible's host order keeps from run to run (order.py).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from fleetcheck.inventory import Inventory, InventoryError


def decoded(pairs: dict):
    """``object_hook`` for ansible-inventory's JSON: a tagged value (a bytes literal
    arrives as an 'unsafe' string) is the value itself."""
    if set(pairs) == {"__ansible_unsafe"}:
        return pairs["__ansible_unsafe"]
    return pairs


def selected(inventory: Inventory, pattern: str | None,
             directory: Path) -> list[str] | InventoryError:
    """The names ``inventory.select(pattern)`` gives, or its one-line InventoryError."""
    before = os.getcwd()
    os.chdir(directory)
    try:
        return [host.name for host in inventory.select(pattern)]
    except InventoryError as exc:
        assert "\n" not in str(exc)
        return exc
    finally:
        os.chdir(before)


def kept(names: list[str], level_of: dict[str, int]) -> tuple:
    """What Ansible keeps from run to run: levels 0 and 1 in order, each deeper level
    as a set (a list of hosts not sorted by level stays unequal)."""
    return tuple((level, tuple(group) if level <= 1 else frozenset(group))
                 for level, group in itertools.groupby(names, key=level_of.__getitem__))
