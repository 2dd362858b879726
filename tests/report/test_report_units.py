"""The pure parts of the reports, without pytest running pytest: gate, waivers,
history diff, Prometheus label escaping, the inert JSON of the HTML section."""

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from nagios_output import parse_plugin_output
from prometheus_client.parser import text_string_to_metric_families

from fleetcheck.inventory import HostEntry, InventoryError
from fleetcheck.report import gate, history, html, nagios, prometheus, sarif, waivers
from fleetcheck.report.records import Record


def rec(host, check, outcome, severity="high", item=None, message=""):
    return Record(host=host, check_id=check, test_id=f"{check}[{host}]", nodeid="t.py::x",
                  severity=severity, title=check, outcome=outcome, item=item, message=message)


def test_gate_thresholds_and_unreachable():
    records = [rec("a", "x.y", "failed", "low"), rec("b", "x.y", "error", "critical"),
               rec("c", "x.y", "unreachable", "info"), rec("d", "x.y", "waived", "critical"),
               rec("e", "x.y", "would-fix", "medium"), rec("f", "x.y", "fixed", "critical")]
    v = gate.decide(records)
    assert [r.host for r in v.failing] == ["a", "b", "c", "e"] and v.exit_code == 1
    v = gate.decide(records, "high", allow_unreachable=True)
    assert [r.host for r in v.failing] == ["b"]
    assert sorted(r.host for r in v.tolerated) == ["a", "c", "e"]
    v = gate.decide([r for r in records if r.host in "df"], "info")
    assert v.exit_code == 0 and sum(v.counts.values()) == 2
    assert nagios.status(gate.decide(records)) == nagios.CRITICAL
    assert nagios.status(gate.decide(records[2:3])) == nagios.UNKNOWN
    assert nagios.status(gate.decide(records[4:5])) == nagios.WARNING
    assert nagios.status(gate.decide(records[3:4])) == nagios.OK


def hosts(**groups_by_host):
    return {h: HostEntry(h, {"fleetcheck_waivers": WAIVERS}, ["all"] + g.split(), "inv.yml")
            for h, g in groups_by_host.items()}


WAIVERS = [{"check": "ssh.*", "hosts": "web:!web2", "reason": "r", "owner": "o",
            "expires": dt.date(2030, 1, 1)},
           {"check": "raid.md_healthy", "hosts": "db*", "reason": "r2",
            "expires": "2020-01-01"}]


def test_waiver_matching_and_expiry():
    book = waivers.load(hosts(web1="web", web2="web", db1=""), today=dt.date(2025, 1, 1))
    assert book.find("web1", "ssh.root").check == "ssh.*"
    assert book.find("web2", "ssh.root") is None
    assert book.find("db1", "ssh.root") is None
    r = book.apply(rec("db1", "raid.md_healthy", "failed").to_json())
    assert r["outcome"] == "failed" and r["waiver"]["expired"] is True
    r = book.apply(rec("web1", "ssh.root", "failed").to_json())
    assert r["outcome"] == "waived" and "expired" not in r["waiver"]
    assert book.apply(rec("web1", "ssh.root", "error").to_json())["outcome"] == "error"
    assert [w.check for w in book.stale([rec("web1", "ssh.root", "passed")])] == ["raid.md_healthy"]


def test_waiver_errors_are_one_line():
    bad = {"x": HostEntry("x", {"fleetcheck_waivers": [{"check": "a.b", "reason": "r",
                                                        "expires": "soon"}]}, ["all"], "inv.yml")}
    with pytest.raises(InventoryError) as exc:
        waivers.load(bad)
    assert str(exc.value) == ("inv.yml: fleetcheck_waivers[0] of host 'x': "
                              "expires 'soon' is not a date (YYYY-MM-DD)")


def test_history_diff():
    before = [rec("a", "x.y", "failed"), rec("b", "x.y", "failed"), rec("c", "x.y", "passed"),
              rec("d", "x.y", "failed")]
    now = [rec("a", "x.y", "passed"), rec("b", "x.y", "error"), rec("c", "x.y", "failed")]
    change = history.diff(before, now, "R1")
    assert [r.host for r in change.new_failures] == ["c"]
    assert [r.host for r in change.resolved] == ["a"]
    assert [r.host for r in change.still_failing] == ["b"]
    assert [g["host"] for g in change.gone] == ["d"]


def test_prometheus_labels_escaped_and_parsed():
    nasty = 'we"b\\1\nx'
    records = [rec(nasty, "x.y", "failed", item='i"1')]
    text = prometheus.render(records, gate.decide(records), 1.0, 2.0)
    fam = {f.name: f for f in text_string_to_metric_families(text)}
    (sample,) = fam["fleetcheck_check_outcome"].samples
    assert sample.labels["host"] == nasty and sample.labels["item"] == 'i"1'


def test_prometheus_series_stay_the_same_across_runs_and_count_per_host():
    """No label changes from one run to the next (no run id): the set of series of two
    runs of the same fleet is the same; per host, its failing records by severity."""
    def series(records, started):
        text = prometheus.render(records, gate.decide(records), started, 3.0)
        fams = text_string_to_metric_families(text)
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in fams
                for s in f.samples}
    one = [rec("a", "x.y", "failed", "high"), rec("a", "z.z", "failed", "low"),
           rec("b", "x.y", "passed"), rec("c", "x.y", "unreachable", "info")]
    two = [rec("a", "x.y", "passed"), rec("a", "z.z", "failed", "low"),
           rec("b", "x.y", "failed", "medium"), rec("c", "x.y", "passed", "info")]
    first, second = series(one, 100.0), series(two, 200.0)
    stable = {k for k in first if k[0] != "fleetcheck_check_outcome"}   # its outcome label
    assert stable == {k for k in second if k[0] != "fleetcheck_check_outcome"}
    assert first[("fleetcheck_last_run_timestamp_seconds", ())] == 100.0
    failing = {(dict(k[1])["host"], dict(k[1])["severity"]): v for k, v in first.items()
               if k[0] == "fleetcheck_host_failing" and v}
    assert failing == {("a", "high"): 1, ("a", "low"): 1, ("c", "unreachable"): 1}
    assert len([k for k in first if k[0] == "fleetcheck_host_failing"]) == 3 * 6


def test_section_json_is_inert_in_script():
    text = html.script_json({"m": "</script><script>alert(1)</script>&<!--\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["m"].startswith("</script>")


# -- Nagios: the plugin guidelines' output format -------------------------------------------

def test_nagios_text_and_perfdata_agree_and_name_the_worst():
    records = [rec("web1", "sshd.config", "failed", "high", message="PermitRootLogin yes"),
               rec("web1", "sysctl.value", "failed", "medium"),
               rec("dead", "x.y", "unreachable", "info")]
    records += [rec(f"h{i}", "capacity.disk", "failed", "medium") for i in range(14)]
    records += [rec("ok1", "capacity.disk", "passed", "medium"),
                rec("low1", "capacity.load", "failed", "low")]
    v = gate.decide(records, "medium")
    code, out = nagios.status_line(v, 18)
    status, text, perf, long = parse_plugin_output(out)
    assert (code, status) == (nagios.CRITICAL, "CRITICAL")
    assert perf["failing"] == len(v.failing) == 17 and perf["tolerated"] == 1
    assert f"{int(perf['failing'])} failing (1 high, 15 medium, 1 unreachable)" in text
    assert (perf["failing_high"], perf["failing_medium"], perf["failing_unreachable"]) == \
        (1, 15, 1)
    assert perf["failed"] == 17 and perf["passed"] == 1 and perf["hosts"] == 18
    assert "worst: sshd.config on web1 [high], capacity.disk on 14 hosts [medium]" in text
    assert "hosts: web1 (2)" in text and "1 host(s) unreachable: dead" in text
    assert long[0] == "web1 sshd.config [high] failed: PermitRootLogin yes"
    assert long[-2].startswith("h") and long[-1] == "... and 7 more failing records"
    assert len(long) == nagios.LONG_LINES + 1


def test_nagios_output_stays_one_status_line_whatever_the_names():
    hostile = [rec("a|b=c", "x.y\nCRITICAL", "failed", "high", message="m|n\nsecond line"),
               rec("h" * 300, "z.z", "failed", "low")]
    code, out = nagios.status_line(gate.decide(hostile), 2)
    status, text, perf, long = parse_plugin_output(out)
    assert status == "CRITICAL" and len(out.split("\n")[0]) < 1024
    assert len(long) == 2 and perf["failing"] == 2
    code, out = nagios.status_line(gate.decide([rec("a", "x.y", "passed")]), 1)
    assert parse_plugin_output(out)[:2] == ("OK", "FLEETCHECK OK - no failing finding; "
                                            "1 records on 1 hosts")
    code, out = nagios.incomplete_line(gate.decide(hostile), 2, "interrupted", found=True)
    assert parse_plugin_output(out)[0] == "UNKNOWN" and code == nagios.UNKNOWN


# -- SARIF: what GitHub code scanning accepts ------------------------------------------------

SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def github_problems(log: dict) -> list[str]:
    """The GitHub code scanning upload rules fleetcheck's results could break (its
    documented SARIF support: GH1003 a region with startLine in every location; a
    relative uri under %SRCROOT%; security-severity a number 0.0-10.0 as a string)."""
    out = []
    run = log["runs"][0]
    for i, res in enumerate(run["results"]):
        for loc in res["locations"]:
            phys = loc["physicalLocation"]
            if not isinstance(phys.get("region", {}).get("startLine"), int) \
                    or phys["region"]["startLine"] < 1:
                out.append(f"GH1003 result {i}: no region.startLine")
            uri = phys["artifactLocation"]["uri"]
            if uri.startswith("/") or ".." in uri.split("/"):
                out.append(f"result {i}: uri {uri} is not under the repository")
    for rule in run["tool"]["driver"]["rules"]:
        sev = rule.get("properties", {}).get("security-severity")
        if sev is not None and not 0.0 <= float(sev) <= 10.0:
            out.append(f"rule {rule['id']}: security-severity {sev}")
    return out


def test_sarif_locations_and_security_severity(tmp_path, monkeypatch):
    inv = tmp_path / "inventories" / "prod.yml"
    inv.parent.mkdir()
    inv.write_text("all:\n  hosts:\n    web1:\n      ansible_host: 10.0.0.1\n"
                   "    'db-1':\n")
    entries = {"web1": HostEntry("web1", {}, ["all"], str(inv)),
               "db-1": HostEntry("db-1", {}, ["all"], str(inv)),
               "far": HostEntry("far", {}, ["all"], "/elsewhere/inv.yml")}
    lines = sarif.inventory_lines(entries, tmp_path)
    assert lines == {"web1": ("inventories/prod.yml", 3), "db-1": ("inventories/prod.yml", 5)}
    records = [rec("web1", "sshd.config", "failed", "high"),
               rec("db-1", "capacity.disk", "failed", "critical"),
               rec("far", "web.tls", "unreachable", "medium"),
               rec("web1", "capacity.disk", "passed", "critical")]
    log = sarif.build(records, "1.0", "R", hosts=lines)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    assert github_problems(log) == []
    results = log["runs"][0]["results"]
    where = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results]
    assert where == [("inventories/prod.yml", 3), ("inventories/prod.yml", 5), ("t.py", 1)]
    rules = {r["id"]: r["properties"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["sshd.config"]["security-severity"] == "8.0"
    assert rules["web.tls"]["security-severity"] == "5.5"
    assert "security-severity" not in rules["capacity.disk"]
