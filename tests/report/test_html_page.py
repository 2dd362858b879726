"""report.html as one page (fleetcheck.report.html): the summary shows the gate's own
verdict, the trend over earlier runs, and pytest-html's parts in one "pytest details"
section whose counts agree with fleetcheck's (read from the file, no browser)."""

from __future__ import annotations

import html as html_lib
import json
import re

from fleetcheck.report import gate, html
from fleetcheck.report.records import Record
from fleetcheck.state import FleetRun


def rec(host, check, outcome, severity="high"):
    return Record(host=host, check_id=check, test_id=f"{check}[{host}]", nodeid=f"t.py::{check}[{host}]",
                  severity=severity, title="t", outcome=outcome, message=f"{check} said so")


def state_of(records) -> FleetRun:
    state = FleetRun(run_id="20261204T000000Z-0000", hosts={"web1": None, "web2": None},
                     inventory_paths=["prod.yml"], limit=None, pool=None)
    state.records = {r.nodeid: r for r in records}
    return state


def test_the_summary_shows_the_verdict_the_gate_decided(monkeypatch):
    """One source of truth: the verdict RunReports decided (FleetRun.verdict), not the
    records judged again from the gate's metadata; should the two ever disagree, the
    page says the decided one."""
    records = [rec("web1", "a.high", "failed", "high"), rec("web2", "a.ok", "passed")]
    state = state_of(records)
    state.verdict = gate.decide(records, "critical")          # the high failure tolerated
    state.summary["gate"] = {"fail_on": "any", "allow_unreachable": False}   # says otherwise
    calls = []
    real = FleetRun.metadata
    monkeypatch.setattr(FleetRun, "metadata", lambda self: calls.append(1) or real(self))
    page = html.render_section(state)
    verdict = re.search(r'<p id="fc-verdict" class="([\w-]+)">([^<]*)</p>', page)
    assert verdict.groups() == ("fc-passed", "PASS: no failing finding on 2 hosts; 1 "
                                             "tolerated; gate: --fail-on critical")
    assert len(calls) == 1                                    # the summary and the data
    state.verdict = gate.decide(records)
    assert "FAIL: 1 failing" in html.render_section(state)


CHECKS = '''
import pytest

@pytest.mark.check("web.fail", severity="high", title="fails")
def test_fail(host, evidence):
    assert False, "not right on " + host.name

@pytest.mark.check("web.err", severity="medium", title="breaks")
def test_err(host, evidence):
    raise RuntimeError("boom on " + host.name)

@pytest.mark.check("web.na", severity="low", title="not here")
def test_na(host, evidence):
    pytest.skip("nothing to see on " + host.name)

@pytest.mark.check("web.ok", severity="low", title="fine")
def test_ok(host, evidence):
    pass

def test_plain():
    assert 1 + 1 == 3
'''


def fleet(pytester):
    pytester.makefile(".yml", inv="all:\n  hosts:\n    a: {ansible_connection: local}\n"
                                  "    b: {ansible_connection: local}\n")
    pytester.makepyfile(test_page=CHECKS)


def pytest_html_rows(page: str) -> dict:
    blob = re.search(r'data-jsonblob="(.*?)"', page, re.S).group(1)
    return json.loads(html_lib.unescape(blob))["tests"]


def test_pytest_details_counts_agree_with_fleetchecks(pytester):
    fleet(pytester)
    pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly")
    page = (pytester.path / "reports" / "last" / "report.html").read_text()
    # pytest-html's filters: a record's error is an Error, not a Failed (pytest's own
    # failure of test_plain stays a Failed)
    filters = dict((label, int(n)) for n, label in re.findall(
        r'<span class="\w+">(\d+) ([A-Za-z ]+),?</span>', page))
    assert filters["Failed"] == 3 and filters["Errors"] == 2, filters
    assert filters["Passed"] == 2 and filters["Skipped"] == 2, filters
    rows = pytest_html_rows(page)
    assert {k: v[0]["result"] for k, v in rows.items() if "test_err" in k} == {
        "test_page.py::test_err[a]": "Error", "test_page.py::test_err[b]": "Error"}
    counts = re.search(r'<p id="fc-pytest-counts">([^<]*)</p>', page).group(1)
    assert "pytest&#x27;s test outcomes: 3 Failed, 2 Passed, 2 Skipped, 2 Errors. " \
           "fleetcheck&#x27;s records: 2 passed, 2 failed, 2 not-applicable, 2 error." in counts
    # the result column is headed as pytest's; the logs start with the fleetcheck line,
    # a skip's is no (file, line, reason) tuple, an error keeps pytest's traceback
    assert '<th class="sortable" data-column-type="result">pytest</th>' in page
    na = rows["test_page.py::test_na[a]"][0]["log"]
    assert na.startswith("fleetcheck: not-applicable [low] web.na on a: nothing to see on a")
    assert "Skipped:" not in na and "test_page.py&#x27;, " not in na
    failed = rows["test_page.py::test_fail[a]"][0]["log"]
    assert failed == "fleetcheck: failed [high] web.fail on a: not right on a\n"
    err = rows["test_page.py::test_err[a]"][0]["log"]
    assert err.startswith("fleetcheck: error [medium] web.err on a: RuntimeError: boom on a")
    assert " pytest: call " in err and "raise RuntimeError" in err
    assert "1 + 1 == 3" in rows["test_page.py::test_plain"][0]["log"]   # not a check: as it was
    # one page, the findings first: the summary, the fleet section, then pytest details
    order = [page.index(x) for x in ('id="fc-verdict"', 'id="fleetcheck"', 'id="fc-pytest"',
                                     'id="results-table"')]
    assert order == sorted(order)
    env = re.search(r'<table id="fc-pytest-environment".*?</table>', page).group(0)
    assert "<th>Inventory</th><td>inv.yml</td>" in env


def test_the_trend_over_runs_and_the_gates_verdict(pytester):
    fleet(pytester)
    pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly")
    pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly", "-k", "fail")  # subset
    pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly", "--fail-on", "high")
    last = pytester.path / "reports" / "last"
    tally = json.loads((last / "run.json").read_text())["tally"]
    assert tally["findings"] == {"critical": 0, "high": 2, "medium": 2, "low": 0, "info": 0}
    assert tally["hosts"]["a"]["findings"] == 2
    page = (last / "report.html").read_text()
    # the first and the third run (the -k subset is another selection)
    assert "over the last 2 runs of this inventory and selection" in page
    assert 'aria-label="a: failing findings over 2 runs: 2, 2"' in page
    verdict = re.search(r'<p id="fc-verdict" class="[\w-]+">([^<]*)</p>', page).group(1)
    results = json.loads((last / "results.json").read_text())["run"]["gate"]
    assert results["fail_on"] == "high" and results["failing"] == 2 and results["tolerated"] == 2
    assert verdict.startswith("FAIL: 2 failing on 2 of 2 hosts")
    assert verdict.endswith("; 2 tolerated; gate: --fail-on high")
