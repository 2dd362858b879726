"""Every fact parser against real captured outputs, data-driven.

``tests/fixtures/facts/<format>/<case>.txt`` is a captured output, byte for byte, and
``<case>.json`` says where it came from (``source``) and either the parsed fact
expected (``fact``, written by reading the text) or a substring of the ParseError
that the input must raise (``error``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleetcheck import facts
from fleetcheck.facts.base import ParseError, to_jsonable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts"


def _cases():
    for txt in sorted(FIXTURES.glob("*/*.txt")):
        yield pytest.param(txt, id=f"{txt.parent.name}/{txt.stem}")


CASES = list(_cases())


def _load(txt: Path) -> tuple[str, dict]:
    with open(txt, encoding="utf-8", newline="") as fh:  # keep \r, tabs, trailing blanks
        text = fh.read()
    expected = json.loads(txt.with_suffix(".json").read_text(encoding="utf-8"))
    return text, expected


@pytest.mark.parametrize("txt", CASES)
def test_fixture(txt: Path):
    text, expected = _load(txt)
    module = facts.get(txt.parent.name)
    assert expected.get("source"), "every fixture says where it came from"
    if "error" in expected:
        with pytest.raises(ParseError, match=re.escape(expected["error"])) as info:
            module.parse(text)
        assert re.search(r"\bline \d+\b", str(info.value)), "a ParseError names the line"
    else:
        assert to_jsonable(module.parse(text)) == expected["fact"]


def test_every_fixture_has_its_json():
    assert CASES, "no fixtures found"
    for path in FIXTURES.glob("*/*"):
        partner = path.with_suffix(".json" if path.suffix == ".txt" else ".txt")
        assert partner.exists(), f"{path.name} has no {partner.name}"


def test_every_registered_format_has_fixtures():
    for name in facts.REGISTRY:
        assert list((FIXTURES / name).glob("*.txt")), f"no fixtures for {name}"
