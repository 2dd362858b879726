"""The pure parts of the reports, without pytest running pytest: gate, waivers,
history diff, Prometheus label escaping, the inert JSON of the HTML section."""

import datetime as dt
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleetcheck.inventory import HostEntry, InventoryError
from fleetcheck.report import gate, history, html, nagios, prometheus, waivers
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
    text = prometheus.render(records, gate.decide(records), 1.0, 2.0, "R")
    fam = {f.name: f for f in text_string_to_metric_families(text)}
    (sample,) = fam["fleetcheck_check_outcome"].samples
    assert sample.labels["host"] == nasty and sample.labels["item"] == 'i"1'


def test_section_json_is_inert_in_script():
    text = html.script_json({"m": "</script><script>alert(1)</script>&<!--\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["m"].startswith("</script>")
