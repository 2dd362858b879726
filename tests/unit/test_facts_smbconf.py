"""smbconf: what Samba 4 does with parameters before any section and with runs of
blanks, held against testparm 4.17.12 (tests/fixtures/facts/smbconf/samba417_*: a raw
smb.conf and what testparm made of it). The short texts below are constructed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.facts import smbconf
from fleetcheck.facts.base import ParseError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "smbconf"


def _read(name: str) -> str:
    with open(FIXTURES / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def test_parameters_before_the_first_section_are_global():
    conf = smbconf.parse("workgroup = LAB\n[s]\n\tpath = /srv/s\n")
    assert conf.globals == {"workgroup": "LAB"}
    assert [s.name for s in conf.shares] == ["s"]


def test_a_run_of_blanks_in_a_section_name_is_one_share():
    conf = smbconf.parse("[my  share]\n\tpath = /srv/a\n[my share]\n\tcomment = c\n"
                         "[MY  SHARE]\n\tread only = no\n")
    assert len(conf.shares) == 1
    share = conf.share("my share")
    assert share is not None and share.name == "my share"
    assert share.params == {"path": "/srv/a", "comment": "c", "read only": "no"}


def test_a_run_of_blanks_is_its_first_character():
    conf = smbconf.parse("[c\t \td]\n\tcomment = x  \t y\n")
    assert conf.shares[0].name == "c\td" and conf.shares[0].params["comment"] == "x y"


def test_blanks_at_the_ends_of_a_section_name_are_part_of_it():
    conf = smbconf.parse("[x]\n\tpath = /a\n[ x ]\n\tpath = /b\n")
    assert [(s.name, s.path) for s in conf.shares] == [("x", "/a"), (" x ", "/b")]


@pytest.mark.parametrize("header", ["[global]", "[ global ]", "[GLOBAL ]", "[glo bal]"])
def test_global_ignores_blanks(header):
    conf = smbconf.parse(f"{header}\n\tworkgroup = W\n")
    assert conf.globals == {"workgroup": "W"} and conf.shares == []


def test_a_blank_section_name_is_an_error():
    with pytest.raises(ParseError, match="line 1: bad section name"):
        smbconf.parse("[  ]\n")


def test_raw_file_reads_as_testparm_loaded_it():
    raw = smbconf.parse(_read("samba417_raw_blank_runs.txt"))
    loaded = smbconf.parse(_read("samba417_testparm_blank_runs.txt"))

    def shape(conf, defaults=()):
        lower = {k: v.lower() for k, v in conf.globals.items() if k not in defaults}
        return lower, {s.name: {k: v.lower() for k, v in s.params.items()}
                       for s in conf.shares}

    # testparm adds the default idmap line and writes booleans as Yes/No
    assert shape(raw) == shape(loaded, defaults={"idmap config * : backend"})


def test_a_header_ends_at_its_first_bracket():
    conf = smbconf.parse("[a] ; a comment\n\tpath = /a\n[b]junk\n\tpath = /b\n")
    assert [(s.name, s.path) for s in conf.shares] == [("a", "/a"), ("b", "/b")]
    with pytest.raises(ParseError, match="line 1: section header without closing ]"):
        smbconf.parse("[c\n\tpath = /c\n")
