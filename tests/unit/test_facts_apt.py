"""apt: `apt-get -s -qq` output (no summary by design) beside the usual one.

Real captures: tests/fixtures/facts/apt/debian12_qq_* and debian12_140_upgrades_not_quiet
(the same machine, the same moment, with and without -qq). The Remv and new-package
lines below are constructed, in apt's format (`Remv NAME [VERSION]`, an Inst without
an [OLD] version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.facts import apt
from fleetcheck.facts.base import FactError, ParseError, to_jsonable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "apt"


def test_quiet_and_not_quiet_captures_agree():
    quiet = apt.parse((FIXTURES / "debian12_qq_140_upgrades.txt").read_text())
    loud = apt.parse((FIXTURES / "debian12_140_upgrades_not_quiet.txt").read_text())
    assert to_jsonable(quiet.upgrades) == to_jsonable(loud.upgrades)
    assert (quiet.upgraded, quiet.newly_installed, quiet.to_remove) == (140, 0, 0)
    assert (quiet.not_upgraded, loud.not_upgraded) == (None, 0)


def test_quiet_counts_new_packages_and_removals_from_the_lines():
    text = ("Inst libfoo2 (2.0-1 Debian:12.15/oldstable [amd64])\n"
            "Remv libfoo1 [1.0-3]\n"
            "Inst foo [1.0-3] (2.0-1 Debian:12.15/oldstable [amd64])\n"
            "Conf libfoo2 (2.0-1 Debian:12.15/oldstable [amd64])\n"
            "Conf foo (2.0-1 Debian:12.15/oldstable [amd64])\n")
    sim = apt.parse(text)
    assert (sim.upgraded, sim.newly_installed, sim.to_remove, sim.not_upgraded) == (
        1, 1, 1, None)


def test_quiet_output_cut_before_a_conf_line():
    with pytest.raises(ParseError, match="line 1: 'foo' is installed but never configured"):
        apt.parse("Inst foo [1] (2 Debian:12/stable [amd64])\n")


def test_without_qq_the_summary_is_required():
    text = (FIXTURES / "debian12_117_upgrades.txt").read_text()
    cut = "\n".join(line for line in text.splitlines() if " upgraded, " not in line)
    with pytest.raises(ParseError, match="no 'N upgraded"):
        apt.parse(cut)


def test_the_fact_command_is_not_quiet_so_from_result_wants_a_summary():
    with pytest.raises(FactError, match="no 'N upgraded"):
        apt.from_result(0, "", "")
    with pytest.raises(FactError, match="exited 100: E: Could not get lock"):
        apt.from_result(100, "", "E: Could not get lock /var/lib/dpkg/lock-frontend\n")
    sim = apt.from_result(0, (FIXTURES / "lab_healthy.txt").read_text(), "")
    assert sim.not_upgraded == 0 and sim.upgrades == []
