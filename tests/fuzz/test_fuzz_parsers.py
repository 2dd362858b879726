"""Every fact parser against hostile text: the real captured outputs
(tests/fixtures/facts) damaged the ways a hostile or broken host damages them, and
arbitrary text. The rule (fleetcheck/facts/base.py): `parse(text)` returns a value
that is plain JSON (no inf or nan), or raises ParseError with a message of one
printable line, bounded in length; never any other exception. `python -m fleetcheck
parse` on such files exits 0 or 2 with one line on stderr, never a traceback.

Damage: characters and bytes changed, lines doubled, dropped or swapped, the text cut,
numbers of thousands of digits spliced in (int() refuses more than 4300), non-ASCII,
NUL and line-break characters other than \\n, lines of up to 100 000 characters, and
deep nesting of braces and brackets for the block formats. Profile "fleetcheck"
(tests/fuzz/conftest.py): derandomized, 150 examples per test (400 for the damaged
captures of each format, 40 files through the command); about 20 s in all.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck import facts
from fleetcheck.__main__ import main
from fleetcheck.facts.base import ParseError, to_jsonable

FACTS = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
FORMATS = sorted(facts.REGISTRY)
MAX_MESSAGE = 400


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as fh:  # keep \r, as captured
        return fh.read()


FIXTURES = {fmt: [_read(p) for p in sorted((FACTS / fmt).glob("*.txt"))] for fmt in FORMATS}

# Characters that mean something to some parser, or that str.splitlines(), int(),
# isdigit() and terminals treat specially.
SPECIAL = ["\x00", "\t", "\r", "\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\ufeff",
           "\udce9", "é", "ß", "²", "٣", "日", "\U0001f600", "\\", '"', "'", "{", "}", "[",
           "]", "(", ")", "<", ">", ";", ":", "=", ",", "#", "%", "-", "/", ".", "*", "|",
           "$", " ", "0", "9", "x", "U", "_"]
CHAR = st.one_of(st.sampled_from(SPECIAL), st.characters())
SNIPPET = st.text(alphabet=CHAR, min_size=1, max_size=8)
DIGITS = re.compile(r"[0-9]+")
NESTING = {
    "ganesha": ["EXPORT {", "{", "}", "CLIENT {\n", "FSAL { Name = VFS; ", "a = {"],
    "named_conf": ["options {\n", "{\n", "};\n", 'zone "x" {\n', 'view "v" {\n', "a {"],
    "smbconf": ["[", "]", "[a]\n", "[[a]]\n", "a = [b]\n", "\\\n"],
}


def _at(draw, text: str) -> int:
    return draw(st.integers(0, len(text)))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def change_char(draw, text):
    i = _at(draw, text)
    return text[:i] + draw(CHAR) + text[i + 1:]


def insert(draw, text):
    i = _at(draw, text)
    return text[:i] + draw(SNIPPET) + text[i:]


def change_byte(draw, text):
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    if data:
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    # as a connection would decode what it cannot read
    return data.decode("utf-8", draw(st.sampled_from(["replace", "surrogateescape",
                                                       "backslashreplace"])))


def double_line(draw, text):
    lines = _lines(text)
    i = draw(st.integers(0, len(lines) - 1))
    return "".join(lines[:i + 1] + lines[i:])


def drop_line(draw, text):
    lines = _lines(text)
    i = draw(st.integers(0, len(lines) - 1))
    return "".join(lines[:i] + lines[i + 1:])


def swap_lines(draw, text):
    lines = _lines(text)
    i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def cut(draw, text):
    return text[:_at(draw, text)]


def huge_number(draw, text):
    digits = "9" * draw(st.sampled_from([41, 4299, 4300, 4301, 5000])
                        | st.integers(1, 6000))
    runs = list(DIGITS.finditer(text))
    if runs and draw(st.booleans()):
        run = draw(st.sampled_from(runs))  # a number the parser reads, made huge
        return text[:run.start()] + digits + text[run.end():]
    i = _at(draw, text)
    return text[:i] + digits + text[i:]


def long_line(draw, text):
    i = _at(draw, text)
    piece = draw(st.sampled_from(SPECIAL) | SNIPPET)
    return text[:i] + piece * (draw(st.integers(1000, 100_000)) // len(piece)) + text[i:]


def repeat_piece(draw, text):
    """A piece of the text itself, repeated: a regex over that line may backtrack."""
    i = _at(draw, text)
    piece = text[i:i + draw(st.integers(1, 12))] or "x"
    return text[:i] + piece * (draw(st.integers(100, 20_000)) // len(piece)) + text[i:]


MUTATIONS = [change_char, insert, change_byte, double_line, drop_line, swap_lines, cut,
             huge_number, long_line, repeat_piece]


def nesting(fmt):
    def nest(draw, text):
        lines = _lines(text)
        i = draw(st.integers(0, len(lines)))
        piece = draw(st.sampled_from(NESTING[fmt]))
        return "".join(lines[:i]) + piece * draw(st.integers(1, 5000)) + "".join(lines[i:])
    return nest


@st.composite
def damaged(draw, fmt: str) -> str:
    text = draw(st.sampled_from(FIXTURES[fmt]))
    ops = MUTATIONS + ([nesting(fmt)] * 3 if fmt in NESTING else [])
    for _ in range(draw(st.integers(1, 4))):
        text = draw(st.sampled_from(ops))(draw, text)
    return text


def parses_or_refuses(fmt: str, text: str) -> None:
    module = facts.get(fmt)
    try:
        value = module.parse(text)
    except ParseError as exc:
        message = str(exc)
        assert message, "an empty ParseError"
        assert message.isprintable(), f"not one printable line: {message[:300]!r}"
        assert len(message) <= MAX_MESSAGE, f"{len(message)} characters: {message[:300]!r}"
        return
    # plain JSON, as `python -m fleetcheck parse` prints it: no inf or nan
    json.dumps(to_jsonable(value), allow_nan=False)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=400,  # the profile's 150 for arbitrary text; damage is cheap
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_damaged_fixtures(fmt, data):
    parses_or_refuses(fmt, data.draw(damaged(fmt)))


@pytest.mark.parametrize("fmt", FORMATS)
@given(text=st.text(alphabet=CHAR, max_size=400) | st.text(max_size=200))
def test_arbitrary_text(fmt, text):
    parses_or_refuses(fmt, text)


@st.composite
def damaged_file(draw) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(FORMATS))
    data = draw(damaged(fmt)).encode("utf-8", "surrogateescape")
    if draw(st.booleans()) and data:  # raw bytes too: not UTF-8 at all
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([draw(st.integers(128, 255))]) + data[i + 1:]
    return fmt, data


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.data_too_large])
@given(case=damaged_file())
def test_parse_command_on_damaged_files(case, tmp_path_factory):
    fmt, data = case
    path = tmp_path_factory.mktemp("parse") / "captured.txt"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["parse", fmt, str(path)])
    assert code in (0, 2), err.getvalue()
    if code == 0:
        assert err.getvalue() == ""
        json.loads(out.getvalue())
    else:
        assert out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"fleetcheck parse: {path}: "), lines
