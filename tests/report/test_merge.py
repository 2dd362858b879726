"""`fleetcheck report merge` (fleetcheck.report.merge): two real runs of disjoint
host sets (pytester, local hosts) merged into one report with the same HTML, JSON,
JUnit and gate; overlapping hosts, other versions and unreadable runs refused in one
line with exit 2; and docs/ci's sharded workflow, valid for GitHub and run as written."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"

CHECKS = '''
import pytest

@pytest.mark.check("demo.disk", severity="high")
def test_disk(host, evidence):
    evidence["used"] = 95 if host.name in ("b", "d") else 10
    assert evidence["used"] < 90, "disk full on " + host.name

@pytest.mark.check("demo.low", severity="low")
def test_low(host):
    assert host.name != "a", "a low finding"
'''
INVENTORY = ("all:\n  children:\n"
             "    dc1:\n      hosts:\n        a: {ansible_connection: local}\n"
             "        b: {ansible_connection: local}\n"
             "    dc2:\n      hosts:\n        c: {ansible_connection: local}\n"
             "        d: {ansible_connection: local}\n")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleetcheck", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def shards(pytester):
    pytester.makepyfile(test_demo=CHECKS)
    pytester.makefile(".yml", inv=INVENTORY)
    for group in ("dc1", "dc2"):
        res = pytester.runpytest("--inventory", "inv.yml", "--limit", group,
                                 "--reports-dir", f"reports-{group}", "-p", "no:randomly")
        assert res.ret == 1
    return pytester.path


def test_two_shards_are_one_fleet_report(shards):
    res = cli("report", "merge", "reports-dc1", "reports-dc2", "--out", "merged",
              cwd=shards)
    assert res.returncode == 1, res.stderr            # the gate: failing findings
    assert "gate (any finding fails): 3 failing -> FAIL" in res.stdout
    merged = shards / "merged"
    data = json.loads((merged / "results.json").read_text())
    run, records = data["run"], data["records"]
    assert run["hosts"] == ["a", "b", "c", "d"]
    assert [m["hosts"] for m in run["merged_from"]] == [["a", "b"], ["c", "d"]]
    failing = sorted((r["host"], r["check_id"]) for r in records if r["outcome"] == "failed")
    assert failing == [("a", "demo.low"), ("b", "demo.disk"), ("d", "demo.disk")]
    assert run["gate"]["failing"] == 3 and run["gate"]["exit_code"] == 1
    shard_runs = [json.loads((shards / f"reports-{g}" / "last" / "results.json").read_text())
                  for g in ("dc1", "dc2")]
    assert len(records) == sum(len(s["records"]) for s in shard_runs) == 8
    # the JUnit: both runs' test cases, each suite named after its run
    suites = ET.parse(merged / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [f"fleetcheck {s['run']['run_id']}"
                                               for s in shard_runs]
    assert sum(len(s.findall("testcase")) for s in suites) == 8
    # the HTML: the summary and the fleet section over every record
    html = (merged / "report.html").read_text()
    assert "FAIL: 3 failing on 3 of 4 hosts" in html
    page = json.loads(re.search(r'id="fleetcheck-data">(.*?)</script>', html, re.S).group(1))
    assert page["hosts"] == ["a", "b", "c", "d"] and len(page["records"]) == 8
    assert "Merged from 2 runs" in html
    # the merged gate may be another: --fail-on high tolerates the low finding
    res = cli("report", "merge", "reports-dc1", "reports-dc2", "--out", "merged-high",
              "--fail-on", "high", cwd=shards)
    assert res.returncode == 1 and "2 failing, 1 tolerated" in res.stdout, res.stdout
    res = cli("report", "merge", "reports-dc1/last", "--out", "one", "--fail-on", "critical",
              cwd=shards)
    assert res.returncode == 0, res.stdout + res.stderr


def refused(res) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and res.stdout == ""
    (line,) = res.stderr.splitlines()
    return line


def test_overlapping_hosts_other_versions_and_bad_runs_are_refused(shards, pytester):
    # a third run that audits b again
    pytester.runpytest("--inventory", "inv.yml", "--limit", "b,c", "--reports-dir",
                       "reports-again", "-p", "no:randomly")
    line = refused(cli("report", "merge", "reports-dc1", "reports-dc2", "reports-again",
                       "--out", "m", cwd=shards))
    assert "2 host(s) in more than one run: b (" in line and "c (" in line, line
    assert not (shards / "m").exists()
    # another fleetcheck version
    other = shards / "reports-dc2" / "last" / "results.json"
    data = json.loads(other.read_text())
    data["run"]["fleetcheck_version"] = "0.0.1"
    other.write_text(json.dumps(data))
    line = refused(cli("report", "merge", "reports-dc1", "reports-dc2", "--out", "m",
                       cwd=shards))
    assert "different fleetcheck versions" in line and "0.0.1" in line, line
    # not a results.json, and no run at all
    other.write_text('{"run": [1], "records": "x"}')
    line = refused(cli("report", "merge", "reports-dc1", "reports-dc2", "--out", "m",
                       cwd=shards))
    assert "not a fleetcheck results.json" in line, line
    line = refused(cli("report", "merge", "nowhere", "--out", "m", cwd=shards))
    assert line.startswith("fleetcheck report merge: nowhere: no results.json"), line


def test_differing_gates_need_a_fail_on(shards, pytester):
    pytester.runpytest("--inventory", "inv.yml", "--limit", "dc2", "--fail-on", "high",
                       "--reports-dir", "reports-high", "-p", "no:randomly")
    line = refused(cli("report", "merge", "reports-dc1", "reports-high", "--out", "m",
                       cwd=shards))
    assert "gates differ" in line and "give --fail-on" in line, line
    res = cli("report", "merge", "reports-dc1", "reports-high", "--out", "m",
              "--fail-on", "medium", cwd=shards)
    assert res.returncode == 1, res.stderr


def test_the_sharded_workflow_is_valid_and_runs_as_written(pytester):
    """docs/ci/github-actions-sharded.yml: valid for GitHub's workflow schema; its
    shard command, run for each group of its matrix, and its merge command, run on
    their reports, give one fleet report gated on high."""
    import jsonschema
    from importlib import resources

    text = (DOCS / "github-actions-sharded.yml").read_text()
    doc = yaml.safe_load(text)
    doc["on"] = doc.pop(True)
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    schema = json.loads((vendor / "github-workflows.json").read_text(encoding="utf-8"))
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))
    assert not errors, [e.message for e in errors][:3]
    groups = doc["jobs"]["audit"]["strategy"]["matrix"]["group"]
    runs = {s.get("name"): s.get("run") for job in doc["jobs"].values() for s in job["steps"]}
    shard, merge = runs["Audit the group's hosts"], runs["One fleet report, one gate"]
    pytester.makepyfile(test_demo=CHECKS)
    pytester.makeini("[pytest]\naddopts = -p no:randomly\n")
    (pytester.path / "inventories").mkdir()
    (pytester.path / "inventories" / "prod.yml").write_text(INVENTORY)
    venv_bin = Path(sys.executable).parent
    (pytester.path / ".venv").symlink_to(venv_bin.parent)
    for group in groups:
        command = shard.replace("${{ matrix.group }}", group).replace("-n auto", "-n 0")
        res = subprocess.run(["bash", "-c", command], cwd=pytester.path,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr   # exit 1 is the merge's
        # what the upload of reports-GROUP/last/ and the download give the merge job
        shard_dir = pytester.path / "shards" / f"fleetcheck-{group}"
        shard_dir.parent.mkdir(exist_ok=True)
        (pytester.path / f"reports-{group}" / "last").resolve().rename(shard_dir)
    args = shlex.split(merge)
    res = subprocess.run(["bash", "-c", merge], cwd=pytester.path, capture_output=True,
                         text=True, timeout=300)
    assert args[args.index("--fail-on") + 1] == "high"
    assert res.returncode == 1, res.stdout + res.stderr     # two high findings
    assert "2 failing, 1 tolerated" in res.stdout
    assert (pytester.path / "reports" / "merged" / "report.html").is_file()
