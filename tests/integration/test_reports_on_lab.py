"""Issue "reports": on the lab with injected faults, one run's outputs (results.json,
JUnit, HTML data, Prometheus, SARIF, Nagios) agree on every count, and a second run
after healing shows the difference."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from fleet import audit
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration
BAD = ("failed", "error", "unreachable", "would-fix")


def test_outputs_agree_and_history_on_the_lab(healthy, tmp_path):
    healthy.fault("web1", "permit-root-login")
    healthy.fault("app1", "service-stopped")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ("-k", "not capacity", "--prometheus", str(out_dir / "f.prom"),
            "--sarif", str(out_dir / "f.sarif"), "--nagios")
    rc, records, out = audit(tmp_path, *args)
    # a -k subset is not the fleet's state: --prometheus is left as it was (absent here)
    assert not (out_dir / "f.prom").exists(), out
    run = json.loads((tmp_path / "reports" / "last" / "results.json").read_text())["run"]
    assert run["complete"] is False and run["ran_to_end"] is True
    counts = Counter(r["outcome"] for r in records)
    assert counts["failed"] == 2, out
    assert {(r["host"], r["check_id"]) for r in records if r["outcome"] == "failed"} == {
        ("web1", "sshd.config"), ("app1", "service.running")}
    assert rc == 3  # --nagios: a subset is UNKNOWN, and says it found high-severity findings
    assert re.search(r"^FLEETCHECK UNKNOWN - the run is incomplete: a subset of the checks "
                     r"\(-k 'not capacity'\); found: 2 failing.*\(CRITICAL\) \|", out, re.M), out

    latest = tmp_path / "reports" / "last"
    props = [{p.get("name"): p.get("value") for p in case.iter("property")}
             for case in ET.parse(latest / "junit.xml").getroot().iter("testcase")]
    assert Counter(p["outcome"] for p in props) == counts
    html = (latest / "report.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="fleetcheck-data">'
                                r'(.*?)</script>', html, re.S).group(1))
    assert Counter(r["o"] for r in data["records"]) == counts
    sarif = json.loads((out_dir / "f.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == sum(counts[o] for o in BAD)
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False  # a -k subset

    # the same faults, every check: the Prometheus file is written and agrees
    _, records_all, _ = audit(tmp_path, "--prometheus", str(out_dir / "f.prom"))
    families = {f.name: f for f in text_string_to_metric_families(
        (out_dir / "f.prom").read_text())}
    assert Counter(s.labels["outcome"] for s in families["fleetcheck_check_outcome"].samples
                   ) == Counter(r["outcome"] for r in records_all)

    healthy.heal_all()
    rc, records, out = audit(tmp_path, "-k", "not capacity")
    assert rc == 0, out
    history = json.loads((tmp_path / "reports" / "last" / "results.json").read_text()
                         )["run"]["history"]
    assert {(r["host"], r["check_id"]) for r in history["resolved"]} == {
        ("web1", "sshd.config"), ("app1", "service.running")}, history
    assert history["new_failures"] == [] and history["still_failing"] == []
