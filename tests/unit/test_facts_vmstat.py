"""vmstat and nproc: commands, `live`, and the cases the captures do not cover."""

from __future__ import annotations

import re

import pytest

from fleetcheck.facts import nproc, vmstat
from fleetcheck.facts.base import ParseError

HEADER = ("procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----\n"
          " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st\n")
ROW = " 1  0      0 23981176  27024 570996    0    0     0     8  183  262  0  1 99  0  0\n"


def test_command_defaults():
    assert vmstat.command({}).render() == "LC_ALL=C vmstat 1 6"   # 5 live samples


def test_command_from_inventory():
    cmd = vmstat.command({"capacity": {"vmstat": {"interval": 2, "samples": "10"}}})
    assert cmd.render() == "LC_ALL=C vmstat 2 10"
    assert cmd.args == (2, 10)


@pytest.mark.parametrize("bad", [0, -1, "1; reboot", "x", 1.5])
def test_command_rejects_what_is_not_a_positive_count(bad):
    with pytest.raises(ValueError, match="capacity.vmstat.interval"):
        vmstat.command({"capacity": {"vmstat": {"interval": bad}}})


def test_live_drops_the_since_boot_sample():
    parsed = vmstat.parse(HEADER + ROW + ROW + ROW)
    assert [s.since_boot for s in parsed.samples] == [True, False, False]
    assert len(parsed.live) == 2 and not any(s.since_boot for s in parsed.live)


def test_live_keeps_a_lone_sample():
    parsed = vmstat.parse(HEADER + ROW)
    assert parsed.live == parsed.samples


@pytest.mark.parametrize("text, reason", [
    (HEADER + ROW.replace(" 262", " 2x2"), "line 3: column cs: '2x2' is not a count"),
    (HEADER + ROW.replace(" 262", " -262"), "is not a count"),
    (HEADER.splitlines()[1] + "\n" + ROW, "line 1: vmstat column header without the 'procs ---' line"),
    (HEADER.replace(" cs ", " xx "), "line 2: unknown vmstat column(s) xx"),
    (HEADER.replace(" st", " wa"), "repeats a column"),
    (HEADER + ROW.replace(" 99 ", " "), "line 3: 16 values for 17 columns"),
    (HEADER.replace(" st", "") + ROW, "line 3: 17 values for 16 columns"),
    (HEADER + ROW + HEADER.replace(" st", ""), "line 5: repeated vmstat header differs"),
    ("procs ---x--- -----timestamp-----\n r  b   swpd   free  si   so    bi    bo   in   cs us sy id\n",
     "line 2: vmstat -t header without a time zone column"),
    ("procs -------timestamp----\n r  b swpd free si so bi bo in cs us sy id UTC\n"
     " 1 0 0 1 0 0 0 0 1 1 1 1 98 2026-13-01 99:00\n", "line 3: bad timestamp"),
    ("procs --memory--\n r  b   free\n 1 0 5\n", "lacks column(s) swpd, si, so"),
])
def test_vmstat_malformed_constructed(text, reason):
    with pytest.raises(ParseError, match=re.escape(reason)):
        vmstat.parse(text)


def test_nproc_command_and_parse():
    assert nproc.command({}).render() == "nproc"
    assert nproc.parse("16\n").cpus == 16


@pytest.mark.parametrize("text, reason", [
    ("0\n", "line 1: not a CPU count"),
    ("four\n", "line 1: not a CPU count"),
    ("2\n3\n", "line 2: nproc prints one number"),
    ("\n\n", "empty input"),
    ("²\n", "not a CPU count"),
])
def test_nproc_malformed(text, reason):
    with pytest.raises(ParseError, match=re.escape(reason)):
        nproc.parse(text)
