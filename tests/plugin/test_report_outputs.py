"""Every output of one run (results.json, JUnit, HTML data, Nagios, Prometheus, SARIF)
agrees on the counts; each is valid for its consumer; history shows the change.

One fleet of local:// hosts with every kind of record: passed, failed (critical and
low), waived, not-applicable, error and unreachable (a closed loopback port).
"""

import json
import re
import socket
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from nagios_output import parse_plugin_output
from prometheus_client.parser import text_string_to_metric_families

SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"

CHECKS = """
import os
import pytest

@pytest.mark.check("demo.crit", severity="critical", title="host is not c")
def test_crit(host, evidence):
    evidence["name"] = host.name
    assert host.name != "c", "c is critical"

@pytest.mark.check("demo.low", severity="low", title="host is not a")
def test_low(host):
    assert host.name != "a", "a is a low finding"

@pytest.mark.check("sys.na", severity="info", title="never applies")
def test_na(host):
    pytest.skip("not here")

@pytest.mark.check("sys.broken", severity="medium", title="errors on b")
def test_broken(host):
    if host.name == "b":
        raise RuntimeError("cannot parse")

@pytest.mark.check("sys.flip", severity="high", title="flips between runs")
def test_flip(host):
    bad = os.environ.get("FLIP_BAD", "")
    assert host.name not in bad.split(","), "flip"
"""


def inventory(port: int) -> str:
    return f"""
all:
  vars:
    fleetcheck_waivers:
      - {{check: "demo.low", hosts: "b", reason: "b accepted", owner: ops, expires: 2099-01-01}}
      - {{check: "demo.crit", hosts: "c", reason: "c being replaced", owner: ops, expires: 2099-01-01}}
  hosts:
    a: {{ansible_connection: local}}
    b: {{ansible_connection: local}}
    c: {{ansible_connection: local}}
    d: {{ansible_connection: local}}
    dead: {{ansible_host: 127.0.0.1, ansible_port: {port}}}
"""


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fleet(pytester, closed_port, monkeypatch):
    pytester.makefile(".yml", inv=inventory(closed_port))
    pytester.makepyfile(test_demo=CHECKS)

    def run(*args, flip_bad=""):
        monkeypatch.setenv("FLIP_BAD", flip_bad)
        return pytester.runpytest("--inventory", "inv.yml", *args)
    return run


def latest(pytester) -> Path:
    return pytester.path / "reports" / "last"


def html_data(path: Path) -> dict:
    html = path.read_text()
    m = re.search(r'<script type="application/json" id="fleetcheck-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_every_output_agrees(fleet, pytester):
    res = fleet("--prometheus", "out/fleet.prom", "--sarif", "out/fleet.sarif", flip_bad="d")
    assert res.ret == 1
    run = json.loads((latest(pytester) / "results.json").read_text())
    records = run["records"]
    counts = Counter(r["outcome"] for r in records)
    assert counts == {"passed": 12, "failed": 2, "waived": 1, "not-applicable": 4,
                      "error": 1, "unreachable": 5}, counts
    assert run["run"]["gate"]["counts"] == {o: counts.get(o, 0) for o in run["run"]["gate"]["counts"]}

    # JUnit: one testcase per record, unreachable hosts present, properties
    tree = ET.parse(latest(pytester) / "junit.xml")
    cases = tree.getroot().iter("testcase")
    props = [{p.get("name"): p.get("value") for p in c.iter("property")} for c in cases]
    assert len(props) == len(records)
    assert Counter(p["outcome"] for p in props) == counts
    assert {p["host"] for p in props if p["outcome"] == "unreachable"} == {"dead"}
    assert all({"host", "check_id", "severity", "outcome"} <= set(p) for p in props)

    # HTML: the fleet section carries the same records
    data = html_data(latest(pytester) / "report.html")
    assert Counter(r["o"] for r in data["records"]) == counts
    assert data["gate"]["failing"] == run["run"]["gate"]["failing"]

    # Prometheus: parsed by prometheus_client, one outcome sample per record
    prom = (pytester.path / "out" / "fleet.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(prom)}
    outcome_samples = families["fleetcheck_check_outcome"].samples
    assert len(outcome_samples) == len(records)
    assert Counter(s.labels["outcome"] for s in outcome_samples) == counts
    totals = {s.labels["outcome"]: s.value for s in families["fleetcheck_records"].samples}
    assert {k: int(v) for k, v in totals.items() if v} == dict(counts)
    assert families["fleetcheck_gate_failing"].samples[0].value == run["run"]["gate"]["failing"]
    assert not [p for p in (pytester.path / "out").iterdir() if p.name.startswith(".")]

    # SARIF: valid against the 2.1.0 schema; one result per failing record, waived suppressed
    sarif = json.loads((pytester.path / "out" / "fleet.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(sarif)
    results = sarif["runs"][0]["results"]
    # GitHub's GH1003: a region with a startLine; a host of inv.yml points at its line
    regions = {r["properties"]["host"]: (r["locations"][0]["physicalLocation"]
                                         ["artifactLocation"]["uri"],
                                         r["locations"][0]["physicalLocation"]["region"]
                                         ["startLine"]) for r in results}
    inv_lines = (pytester.path / "inv.yml").read_text().splitlines()
    for host, (uri, line) in regions.items():
        assert uri == "inv.yml" and inv_lines[line - 1].strip().startswith(host), (host, uri)
    bad = sum(counts[o] for o in ("failed", "error", "unreachable", "would-fix"))
    assert len([r for r in results if "suppressions" not in r]) == bad
    assert len([r for r in results if "suppressions" in r]) == counts["waived"]
    assert Counter(r["properties"]["outcome"] for r in results) == {
        o: n for o, n in counts.items() if o in ("failed", "error", "unreachable", "waived")}


def test_nagios_line_agrees_and_replaces_testinfras(fleet, pytester):
    """stdout is the plugin output alone (the status line, then one long-output line
    per failing record); pytest's own output goes to stderr."""
    res = fleet("--nagios", flip_bad="d")
    status, text, perf, long = parse_plugin_output(res.stdout.str())
    assert status == "CRITICAL", text
    assert "TESTINFRA" not in res.stdout.str() + res.stderr.str()
    assert res.ret == 2
    run = json.loads((latest(pytester) / "results.json").read_text())
    counts = Counter(r["outcome"] for r in run["records"])
    for outcome in run["run"]["gate"]["counts"]:
        assert int(perf[outcome.replace("-", "_")]) == counts.get(outcome, 0)
    failing = run["run"]["gate"]["failing"]
    assert int(perf["failing"]) == failing and f"- {failing} failing (" in text
    assert len(long) == min(failing, 10) + (failing > 10)
    failed = {(r["host"], r["check_id"]) for r in run["records"]
              if r["outcome"] in ("failed", "error", "unreachable")}
    assert {tuple(ln.split(" ")[:2]) for ln in long} <= failed
    assert "fleetcheck gate" in res.stderr.str()     # the terminal summary, on stderr


@pytest.mark.parametrize("args, status, code", [
    (("--limit", "d"), "OK", 0),                                 # all passed
    (("--limit", "a:d"), "WARNING", 1),                          # a low finding
    (("--limit", "c:d"), "OK", 0),                               # c's critical is waived
    (("--limit", "a:d", "--flip", "a"), "CRITICAL", 2),          # a high finding
    (("--limit", "c:d:dead"), "UNKNOWN", 3),                     # unreachable only
    (("--limit", "c:d:dead", "--allow-unreachable"), "OK", 0),
])
def test_nagios_status_by_severity(fleet, args, status, code):
    """Complete runs (every check on the hosts of --limit), one per status."""
    args, flip = (args[:-2], args[-1]) if "--flip" in args else (args, "")
    res = fleet("--nagios", *args, flip_bad=flip)
    assert res.stdout.lines[0].startswith(f"FLEETCHECK {status} - "), res.stdout.lines[0]
    assert res.ret == code


@pytest.mark.parametrize("args, found", [
    (("-k", "na", "--limit", "a:b"), "OK"),
    (("-k", "low", "--limit", "a:b"), "WARNING"),
    (("-k", "flip", "--limit", "a:d"), "CRITICAL"),
])
def test_nagios_subset_is_unknown_and_says_what_it_found(fleet, args, found):
    res = fleet("--nagios", *args, flip_bad="a")
    first = res.stdout.lines[0]
    assert first.startswith("FLEETCHECK UNKNOWN - the run is incomplete: a subset of the "
                            "checks"), first
    assert first.split(" | ")[0].endswith(f"({found})"), first
    assert res.ret == 3


def test_history_shows_the_change(fleet, pytester):
    fleet("-k", "flip", "--allow-unreachable", flip_bad="a,b")
    res = fleet("-k", "flip", "--allow-unreachable", flip_bad="b,c")
    out = res.stdout.str()
    run = json.loads((latest(pytester) / "results.json").read_text())
    change = run["run"]["history"]
    assert change["previous_run"] and change["previous_run"] != run["run"]["run_id"]
    assert [r["host"] for r in change["new_failures"]] == ["c"]
    assert [r["host"] for r in change["resolved"]] == ["a"]
    # dead was unreachable both times: still failing, with b
    assert sorted(r["host"] for r in change["still_failing"]) == ["b", "dead"]
    assert "1 new failures, 1 resolved, 2 still failing" in out
    assert "new failure: c sys.flip [high] failed" in out
    assert "resolved: a sys.flip [high] passed" in out
    assert html_data(latest(pytester) / "report.html")["history"] == change


def test_history_ignores_other_inventories(fleet, pytester):
    fleet("-k", "flip", flip_bad="a")
    pytester.makefile(".yml", other="all:\n  hosts:\n    a: {ansible_connection: local}\n")
    res = pytester.runpytest("--inventory", "other.yml", "-k", "flip")
    assert "history: no previous run of this inventory" in res.stdout.str()


def test_keep_reports_prunes_old_runs_but_not_what_history_needs(fleet, pytester):
    for _ in range(3):
        res = fleet("--limit", "d", "--keep-reports", "1")
    res.stdout.fnmatch_lines(["reports: 1 old run(s) removed (--keep-reports 1): *"])
    fleet("--limit", "a:d", "--keep-reports", "1")     # another selection
    runs = sorted(p.name for p in (pytester.path / "reports").iterdir()
                  if not p.is_symlink() and not p.name.startswith("."))
    # this run, and the newest run of the other selection (its next run's history)
    assert len(runs) == 2, runs
    assert all((pytester.path / "reports" / r / "run.json").is_file() for r in runs)


def test_the_environment_block_describes_the_run(fleet, pytester):
    import html as html_lib

    fleet("--limit", "d")
    page = (latest(pytester) / "report.html").read_text()
    blob = re.search(r'data-jsonblob="([^"]*)"', page).group(1)
    env = json.loads(html_lib.unescape(blob))["environment"]
    assert set(env) == {"Run", "Inventory", "Hosts", "Limit", "Remediate", "Started by",
                        "fleetcheck", "Controller"}, env
    assert env["Run"] == latest(pytester).resolve().name and env["Limit"] == "d"
    assert "Packages" not in env and "Plugins" not in env
    # the findings first: the verdict comes before pytest-html's own table
    assert page.index('id="fc-verdict"') < page.index('id="results-table"')
