"""The terminal of an audit (fleetcheck.report.terminal): a verdict line, each host's
findings one line each, no traceback for a failed check, a short one for a bug, users'
tests as pytest shows them, and a fleet of clean hosts in a few lines.

Every host is local:// (this machine), as in tests/plugin/test_plugin.py."""

from __future__ import annotations

import json
import re

from fleetcheck.report.records import Record
from fleetcheck.report.terminal import CLEAN_HOSTS_LISTED, CLEAN_NAMES_SHOWN, summary_lines

INVENTORY = """
all:
  hosts:
    web1: {ansible_connection: local, wanted: [PermitRootLogin, X11Forwarding]}
    web2: {ansible_connection: local}
    db1: {ansible_connection: local}
"""

CHECKS = """
import pytest
from fleetcheck.facts.base import FactError

@pytest.mark.check("demo.name", severity="high", facts=[])
def test_name(host, evidence):
    evidence["name"] = host.name
    assert host.name != "web2", f"{host.name} is named web2, expected anything else"

@pytest.mark.check("demo.fail", severity="critical", facts=[])
def test_fail(host):
    if host.name == "db1":
        pytest.fail("db1 says no, expected yes")

@pytest.mark.check("sshd.baseline", severity="high", items="wanted", facts=[])
def test_items(host, item):
    assert item != "PermitRootLogin", f"{item} is yes, expected no"

@pytest.mark.check("demo.low", severity="low", facts=[])
def test_low(host):
    assert host.name != "web1", "a low one"

def lookup(table):
    return table["missing"]

@pytest.mark.check("demo.bug", severity="medium", facts=[])
def test_bug(host):
    if host.name == "web1":
        lookup({})

@pytest.mark.check("demo.fact", severity="medium", facts=[])
def test_fact(host):
    if host.name == "web2":
        raise FactError("`cat /nope` exited 1: No such file or directory")

@pytest.mark.check("demo.xfail", severity="info", facts=[])
def test_xfail(host):
    pytest.xfail("not for this host")
"""


def summary(res) -> list[str]:
    """The lines of the fleetcheck summary, its separator to the reports line."""
    lines = res.stdout.lines
    start = next(i for i, line in enumerate(lines) if "fleetcheck summary" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("reports: "))
    return lines[start + 1:end]


def failures_section(res) -> str:
    """pytest's FAILURES section, up to the summary."""
    out = res.stdout.str()
    if "= FAILURES =" not in out:
        return ""
    return out.split("= FAILURES =", 1)[1].split("fleetcheck summary", 1)[0]


def test_findings_grouped_by_host_one_line_each(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(passed=11, failed=6, xfailed=3)
    assert res.ret == 1
    assert summary(res) == [
        "fleetcheck FAIL: 3 hosts, 6 findings (1 critical, 2 high, 2 medium, 1 low)",
        "web1  2 failed, 1 error, 4 passed, 1 not-applicable",
        "  [high] sshd.baseline[PermitRootLogin]  PermitRootLogin is yes, expected no",
        "  [medium] demo.bug  error: KeyError: 'missing'",
        "  [low] demo.low  a low one",
        "web2  1 failed, 1 error, 3 passed, 1 not-applicable",
        "  [high] demo.name  web2 is named web2, expected anything else",
        # cut to the terminal's width (pytester's is 80)
        "  [medium] demo.fact  error: FactError: `cat /nope` exited 1: No such file or...",
        "db1   1 failed, 4 passed, 1 not-applicable",
        "  [critical] demo.fail  db1 says no, expected yes",
    ]


def test_a_failed_check_has_no_traceback_and_keeps_its_reason(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml")
    failures = failures_section(res)
    # only the bug has a block: no finding (assert, pytest.fail) nor FactError
    assert [line for line in failures.splitlines() if line.startswith("____")] == [
        line for line in failures.splitlines() if "demo.bug[web1]" in line]
    for said in ("demo.name", "demo.fail", "sshd.baseline", "demo.low", "FactError"):
        assert said not in failures
    out = res.stdout.str()
    assert "def test_name" not in out and "assert 'web2' != 'web2'" not in out
    # the one line is the reason everywhere pytest says one: -rf, JUnit
    res.stdout.fnmatch_lines([
        "FAILED test_demo.py::test_name[[]web2] - web2 is named web2, expected anything*",
        "FAILED test_demo.py::test_fail[[]db1] - db1 says no, expected yes"])
    junit = next((pytester.path / "reports").glob("*/junit.xml")).read_text()
    assert 'message="db1 says no, expected yes"' in junit
    assert 'message="PermitRootLogin is yes, expected no"' in junit


def test_an_erroring_check_keeps_a_short_traceback(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-k", "bug")
    failures = failures_section(res)
    assert "demo.bug[web1]" in failures
    assert "test_demo.py:28: in test_bug" in failures        # --tb=short: file:line: in
    assert "E   KeyError: 'missing'" in failures
    assert "def lookup" not in failures                      # not the long style's source
    (record,) = [r for r in json.loads(next((pytester.path / "reports").glob(
        "*/results.json")).read_text())["records"] if r["outcome"] == "error"]
    assert record["message"] == "KeyError: 'missing'"


def test_an_explicit_tb_shows_everything(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-k", "name or bug", "--tb=long")
    failures = failures_section(res)
    assert "demo.name[web2]" in failures and "def test_name(host, evidence):" in failures
    assert "AssertionError: web2 is named web2" in failures
    assert "def lookup(table):" in failures                  # the long style
    # the summary is the same
    assert "  [high] demo.name  web2 is named web2, expected anything else" in summary(res)


def test_fleet_tracebacks_brings_back_pytests_traceback_of_a_finding(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-k", "name or fact or (fail and not xfail)",
                             "--fleet-tracebacks")
    res.assert_outcomes(passed=6, failed=3)
    failures = failures_section(res)
    blocks = [line for line in failures.splitlines() if line.startswith("____")]
    assert len(blocks) == 3                                  # every failed check has one
    # pytest's own report of the assertion: the check's source and pytest's E lines
    assert "def test_name(host, evidence):" in failures
    assert "AssertionError: web2 is named web2, expected anything else" in failures
    assert re.search(r"\nE +Failed: db1 says no, expected yes\n", failures)
    assert "FactError: `cat /nope` exited 1" in failures
    # the summary is the same, one line per finding
    assert "  [critical] demo.fail  db1 says no, expected yes" in summary(res)
    without = pytester.runpytest("--inventory", "inv.yml", "-k", "name or fact or (fail and not xfail)")
    assert failures_section(without) == ""


def test_users_tests_keep_pytests_output(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_mine="""
def test_mine(host):
    assert "wanted" not in host.vars, "wants things"
""")
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(passed=2, failed=1)
    failures = failures_section(res)
    assert "def test_mine(host):" in failures and "AssertionError: wants things" in failures
    assert "  [medium] mine.mine  wants things" in summary(res)


MANY = 25   # more than CLEAN_HOSTS_LISTED


def test_many_clean_hosts_are_one_line(pytester):
    assert MANY > CLEAN_HOSTS_LISTED
    hosts = "\n".join(f"    h{n:02d}: {{ansible_connection: local}}" for n in range(MANY))
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n{hosts}\n")
    pytester.makepyfile(test_demo="""
import pytest

@pytest.mark.check("demo.ok", severity="low", facts=[])
def test_ok(host):
    assert host.name != "h07", "h07 is not ok"
""")
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(passed=MANY - 1, failed=1)
    names = ", ".join(f"h{n:02d}" for n in [0, 1, 2, 3, 4, 5, 6, 8][:CLEAN_NAMES_SHOWN])
    assert summary(res) == [
        f"fleetcheck FAIL: {MANY} hosts, 1 finding (1 low)",
        "h07  1 failed",
        "  [low] demo.ok  h07 is not ok",
        f"{MANY - 1} hosts without findings (-v lists each): {names}, ...",
    ]
    res = pytester.runpytest("--inventory", "inv.yml", "-v")
    lines = summary(res)
    assert len(lines) == 1 + MANY + 1
    assert lines[1:4] == ["h00  1 passed", "h01  1 passed", "h02  1 passed"]
    assert lines[8:10] == ["h07  1 failed", "  [low] demo.ok  h07 is not ok"]


def rec(host: str, outcome: str = "passed", **kw) -> Record:
    fields = dict(check_id="x.y", test_id=f"x.y[{host}]", nodeid=f"t.py::t[{host}]",
                  severity="high", title="x is y", outcome=outcome)
    fields.update(kw)
    return Record(host=host, **fields)


def test_a_clean_fleet_of_1000_is_two_lines():
    hosts = [f"web{n:04d}" for n in range(1000)]
    records = [rec(h) for h in hosts]
    lines = [line.text for line in summary_lines(records, hosts, width=100,
                                                 gate={"exit_code": 0, "fail_on": "any"})]
    assert lines == ["fleetcheck pass: 1000 hosts, no findings",
                     "1000 hosts without findings (-v lists each): web0000, web0001, "
                     "web0002, web0003, web0004, ..."]
    # the names that fit whole in a narrower terminal
    assert summary_lines(records, hosts, width=80)[1].text == (
        "1000 hosts without findings (-v lists each): web0000, web0001, web0002, ...")
    assert len(summary_lines([rec(h) for h in hosts], hosts, verbose=1)) == 1001


def test_unreachable_tolerated_and_hostile_messages():
    hosts = ["a", "dead"]
    records = [rec("a", "failed", severity="low", message="bad\x1b[31m value\nsecond"),
               rec("dead", "unreachable", message="connection refused"),
               rec("dead", "unreachable", check_id="x.z", message="connection refused")]
    lines = [line.text for line in summary_lines(
        records, hosts, gate={"exit_code": 0, "fail_on": "critical", "tolerated": 2})]
    assert lines == [
        "fleetcheck pass (--fail-on critical, 2 tolerated): 2 hosts (1 unreachable), "
        "1 finding (1 low)",
        "a     1 failed",
        "  [low] x.y  bad?[31m value",          # no escape sequence, first line only
        "dead  2 unreachable (connection refused)",
    ]
    cut = summary_lines([rec("a", "failed", message="m" * 200)], ["a"], width=40)
    assert [len(line.text) for line in cut[1:]] == [len("a  1 failed"), 40]
    assert len(summary_lines([rec("a", "failed", message="m" * 200)], ["a"], width=40,
                             verbose=2)[2].text) > 200


def test_the_reason_is_not_cut_for_an_item_the_message_names():
    long_item = "net.ipv4.conf.default.accept_source_route"
    finding = rec("a", "failed", check_id="sysctl.baseline", item=long_item,
                  message=f"{long_item} is 1, expected 0")
    assert summary_lines([finding], ["a"], width=90)[2].text == (
        f"  [high] sysctl.baseline  {long_item} is 1, expected 0")
    assert summary_lines([finding], ["a"], width=200)[2].text == (
        f"  [high] sysctl.baseline[{long_item}]  {long_item} is 1, expected 0")
