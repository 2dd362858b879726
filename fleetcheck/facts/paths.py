"""Whether paths exist on the host, and as what: `dir`, `file`, `other` or `missing`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "paths"
SCRIPT = r"""for p; do
  if [ -d "$p" ]; then echo "dir $p"; elif [ -f "$p" ]; then echo "file $p"
  elif [ -e "$p" ]; then echo "other $p"; else echo "missing $p"; fi
done
"""
KINDS = {"dir", "file", "other", "missing"}


def command(hostvars: Mapping[str, Any], paths: tuple[str, ...] = ()) -> Command:
    bad = [p for p in paths if not str(p).startswith("/") or "\n" in str(p)]
    if bad:
        raise FactError(f"paths fact needs absolute one-line paths, got {bad[0]!r}")
    return Command("sh -c %s fleetcheck" + " %s" * len(paths), SCRIPT, *paths)


@dataclass
class Paths:
    kinds: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> Paths:
    out = Paths()
    for n, line in enumerate(text.splitlines(), start=1):
        kind, sep, path = line.partition(" ")
        if not sep or kind not in KINDS or not path.startswith("/"):
            raise ParseError(f"line {n}: expected 'dir|file|other|missing PATH', "
                             f"got {shown(line)}")
        out.kinds[path] = kind
    return out
