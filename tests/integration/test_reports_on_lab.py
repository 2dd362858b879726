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


def test_the_report_of_a_lab_run_in_a_browser(healthy, tmp_path):
    """A --remediate run on the lab with a fix (web1's PermitRootLogin), a failure no
    fix touches (app1's second uid 0) and an unreachable host (ns2's link down), seen
    in headless chromium: at 1400 px the first screen has the verdict, the grid and the
    worst findings, and the failing record shows expected against actual; at 400 px the
    page does not scroll sideways; printed (A4), the PDF has the grid and every failing
    record. Screenshots and the PDF are kept in reports/test-artifacts/."""
    import sys

    from fleet import REPO
    sys.path.insert(0, str(REPO / "tests" / "report"))
    import report_browser

    healthy.fault("web1", "permit-root-login")
    healthy.fault("app1", "second-uid0")
    healthy.fault("ns2", "link-down")
    rc, records, out = audit(tmp_path, "--remediate", "-k", "sshd.config or users")
    outcomes = {(r["host"], r["check_id"]): r["outcome"] for r in records
                if r["outcome"] not in ("passed", "not-applicable")}
    assert outcomes == {("web1", "sshd.config"): "fixed", ("app1", "users.accounts"): "failed",
                        ("ns2", "sshd.config"): "unreachable",
                        ("ns2", "users.accounts"): "unreachable"}, out
    report = tmp_path / "reports" / "last" / "report.html"
    driver, profile = report_browser.start()
    try:
        driver.set_window_size(1400, 1000)
        report_browser.open_report(driver, report)
        report_browser.screenshot(driver, tmp_path, "report-lab-1400")
        bottoms = driver.execute_script("""
            function bottom(sel) { var e = document.querySelector(sel);
                                   return e ? e.getBoundingClientRect().bottom : null; }
            return {screen: innerHeight, verdict: bottom('#fc-verdict'),
                    grid: bottom('#fc-grid'), worst: bottom('#fc-findings details')};""")
        assert bottoms["verdict"] < bottoms["grid"] < bottoms["worst"] <= bottoms["screen"], \
            bottoms
        verdict = driver.execute_script("return document.getElementById('fc-verdict').innerText")
        # app1's finding, and ns2's records (one per sshd directive) unreachable
        assert re.match(r"FAIL: \d+ failing on 2 of 5 hosts \(1 finding: 1 high\); "
                        r"1 unreachable", verdict), verdict
        worst = driver.execute_script("""
            var d = document.querySelector('#fc-findings details'); d.open = true;
            return [d.getAttribute('data-check'), d.innerText];""")
        assert worst[0] == "users.accounts" and "app1" in worst[1], worst
        assert "expected" in worst[1] and "actual" in worst[1], worst[1]
        driver.set_window_size(400, 900)
        report_browser.open_report(driver, report)
        report_browser.screenshot(driver, tmp_path, "report-lab-400")
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        driver.set_window_size(1400, 1000)
        report_browser.open_report(driver, report)
        text, _ = report_browser.pdf_of(driver, tmp_path, "report-lab")
        flat = re.sub(r"\s+", "", text)
        assert "Hostsxareas" in flat and "FAIL:" in text
        for host in ("app1", "ns2"):
            assert host in text
        # the failing record, with its evidence table
        assert re.search(r"app1 \[uid0\] failed: UID 0 account\(s\) besides root: toor", text), text
        assert re.search(r"UID 0 root root, toor failed", text), text
        assert re.search(r"ns2 2 unreachable 4 unreachable", text), text
    finally:
        report_browser.stop(driver, profile)
