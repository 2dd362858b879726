"""No input makes a parser crash: every failure is a ParseError.

Each real fixture is damaged the ways captures get damaged (cut at any character,
a line dropped, a line doubled, a character changed) and fed to its parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck import facts
from fleetcheck.facts.base import ParseError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts"


def _variants(text: str):
    for i in range(0, len(text) + 1, max(1, len(text) // 150)):
        yield text[:i]
    lines = text.splitlines(keepends=True)
    for i in range(len(lines)):
        yield "".join(lines[:i] + lines[i + 1:])
        yield "".join(lines[:i + 1] + lines[i:])
    for i in range(0, len(text), max(1, len(text) // 60)):
        for ch in ("x", "[", "9", "\n", "\t", " ", "("):
            yield text[:i] + ch + text[i + 1:]


@pytest.mark.parametrize("txt", sorted(FIXTURES.glob("*/*.txt")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_damaged_inputs_raise_only_parse_errors(txt: Path):
    module = facts.get(txt.parent.name)
    text = txt.read_text(encoding="utf-8")
    for variant in _variants(text):
        try:
            module.parse(variant)
        except ParseError:
            pass
