"""The findings first (fleetcheck.report.summary): the verdict, the compliance scores
and the failing findings grouped by severity and check, as plain HTML at the top of
report.html; read back with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser

from fleetcheck.report import gate, summary
from fleetcheck.report.records import Record


def rec(host, check, outcome, severity="high", message="", item=None):
    return Record(host=host, check_id=check, test_id=f"{check}[{host}]", nodeid="t.py::x",
                  severity=severity, title=f"title of {check}", outcome=outcome,
                  message=message, item=item)


class Reader(HTMLParser):
    """The ids in document order, every text, and whether any script or handler came."""

    def __init__(self):
        super().__init__()
        self.ids, self.text, self.active = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "script" or any(k.startswith("on") for k in attrs):
            self.active.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def read(html: str) -> Reader:
    r = Reader()
    r.feed(html)
    return r


FLEET = ([rec(f"h{i}", "capacity.disk", "failed", "medium", "92% used") for i in range(14)]
         + [rec("web1", "sshd.config", "failed", "high", "PermitRootLogin yes"),
            rec("web2", "sshd.config", "would-fix", "high", "PermitRootLogin yes"),
            rec("web1", "capacity.disk", "passed", "medium"),
            rec("web1", "raid.md_healthy", "not-applicable", "high"),
            rec("web2", "x.y", "waived", "critical"),
            rec("dead", "sshd.config", "unreachable", "high")])


def test_scores_are_the_weighted_share_of_judged_checks():
    assert summary.score([rec("a", "x", "passed", "high"), rec("a", "y", "failed", "low")]) \
        == round(100 * 5 / 6, 1)
    assert summary.score([rec("a", "x", "fixed", "critical"),
                          rec("a", "y", "not-applicable", "high"),
                          rec("a", "z", "waived", "high")]) == 100.0
    assert summary.score([rec("a", "x", "not-applicable")]) is None


def test_the_verdict_then_scores_then_findings_worst_first():
    hosts = sorted({r.host for r in FLEET})
    s = summary.build(FLEET, gate.decide(FLEET), hosts)
    failing = gate.decide(FLEET).failing
    assert s.verdict.startswith(f"FAIL: {len(failing)} failing on 17 of {len(hosts)} hosts")
    assert "(16 findings: 2 high, 14 medium); 1 unreachable; gate: any finding fails" \
        in s.verdict
    assert [(g.severity, g.check_id, len(g.hosts)) for g in s.groups] == [
        ("high", "sshd.config", 2), ("medium", "capacity.disk", 14)]
    assert s.hosts["dead"] is None and s.hosts["h0"] == 0.0 and s.hosts["web1"] == 37.5   # 3 of 5 + 3
    html = summary.render(s)
    page = read(html)
    # what a reader needs first on one screen: the verdict, the grid, the worst findings
    assert page.ids == ["fc-summary", "fc-verdict", "fc-score", "fc-grid-slot",
                        "fc-plain-grid", "fc-findings", "fc-host-scores"]
    assert not page.active
    text = "".join(page.text)
    assert "[high] sshd.config failed on 2 hosts: web1, web2" in text
    assert text.index("[high] sshd.config") < text.index("[medium] capacity.disk")
    assert "capacity.disk failed on 14 hosts" in text


def test_a_passing_run_and_a_tolerating_gate():
    ok = [rec("a", "x.y", "passed"), rec("b", "x.y", "failed", "low")]
    s = summary.build(ok, gate.decide(ok, "high"), ["a", "b"])
    assert s.passed and s.verdict == ("PASS: no failing finding on 2 hosts; 1 tolerated; "
                                      "gate: --fail-on high")
    assert s.groups == [] and "fc-findings" not in summary.render(s)


def test_host_values_never_become_markup():
    nasty = '<img src=x onerror="alert(1)">'
    records = [rec(nasty, "x.y", "failed", message="</details><script>alert(2)</script>",
                   item='"><b>')]
    html = summary.render(summary.build(records, gate.decide(records), [nasty]))
    page = read(html)
    assert not page.active and "<script>" not in html and "<img" not in html
    assert nasty in "".join(page.text)


def history_of(*runs):
    """A trend.History from [(run_id, records), ...], oldest first."""
    from fleetcheck.report import trend

    return trend.History([trend.point(run_id, trend.tally(records)) for run_id, records in runs])


def test_the_trend_and_the_sparklines_with_their_numbers():
    nasty = '<b onmouseover="x">'
    before = [rec("web1", "a.b", "failed"), rec("web1", "c.d", "failed", "low"),
              rec(nasty, "a.b", "failed")]
    now = [rec("web1", "a.b", "passed"), rec("web2", "a.b", "failed", "critical")]
    history = history_of(("20261201T100000Z-aaaa", before), ("20261202T100000Z-bbbb", now))
    html = summary.render(summary.build(now, gate.decide(now), ["web1", "web2"]), history)
    page = read(html)
    assert page.ids[-4:] == ["fc-findings", "fc-trend", "fc-trend-numbers",
                             "fc-host-scores"] and not page.active
    assert 'class="fc-trend"' in html                 # two runs: a picture
    text = "".join(page.text)
    assert "over the last 2 runs of this inventory and selection, oldest left, this run " \
           "right: 3 then, 1 now" in text
    # the numbers as a table: run, each severity that had a finding, all, unreachable
    assert "Runcriticalhighlowallunreachable hosts" in text
    assert "2026-12-01 10:00021302026-12-02 10:0010010" in text
    assert "Failing findings, last 2 runs" in text
    assert 'aria-label="web1: failing findings over 2 runs: 2, 0"' in html
    assert 'aria-label="web2: failing findings over 2 runs: none, 1"' in html
    assert "-, 1" in text and "2, 0" in text        # beside each sparkline
    bad = [rec(nasty, "a.b", "failed")]
    html = summary.render(summary.build(bad, gate.decide(bad), [nasty]),
                          history_of(("20261201T100000Z-aaaa", before), (nasty, bad)))
    assert nasty not in html and not read(html).active
    assert 'aria-label="&lt;b onmouseover=&quot;x&quot;&gt;: failing findings' in html


def test_one_run_and_many_hosts():
    recs = [rec(f"h{i:04d}", "a.b", "failed" if i % 2 else "passed") for i in range(600)]
    history = history_of(("only", recs))
    html = summary.render(summary.build(recs, gate.decide(recs), sorted({r.host for r in recs})),
                          history)
    assert "no earlier run to compare with; now 300" in "".join(read(html).text)
    assert 'class="fc-trend"' not in html   # one run is a column of dots: numbers only
    assert html.count('class="fc-spark"') == summary.MAX_SPARKLINES
    assert html.count('class="fc-spark-numbers"') == 600


def test_a_plain_grid_for_javascript_off():
    """The host x area grid in plain HTML inside <noscript> (fleet.js draws the
    interactive one): each cell its worst outcome and its counts, host values escaped."""
    from fleetcheck.report import gate, summary
    from fleetcheck.report.records import Record

    def rec(host, check, outcome):
        return Record(host=host, check_id=check, test_id=f"{check}[{host}]",
                      nodeid=f"t.py::t[{host}]", severity="high", title="t",
                      outcome=outcome, message="m")

    records = [rec("web1", "sshd.config", "failed"), rec("web1", "sshd.baseline", "passed"),
               rec("<b>x</b>", "raid.md", "passed")]
    html = summary.of_run(records, ["web1", "<b>x</b>"], gate.decide(records))
    grid = html[html.index("<noscript>"):html.index("</noscript>")]
    assert '<th>raid</th><th>sshd</th>' in grid
    assert '<tr><th>web1</th><td></td><td class="fc-failed">1 failed, 1 passed</td></tr>' in grid
    assert "&lt;b&gt;x&lt;/b&gt;" in grid and "<b>x</b>" not in grid


def test_each_failing_record_with_its_evidence_table(monkeypatch):
    """Opened (and on paper), a group lists each record with its evidence as expected /
    actual / verdict rows from the check's compare= declaration; values escaped; the
    first MAX_EVIDENCE_TABLES records only, and the page says so."""
    records = [rec("web1", "sshd.config", "failed", message="PermitRootLogin yes"),
               rec("web2", "sshd.config", "failed"), rec("web3", "sshd.config", "failed")]
    records[0].evidence = {"want": "no", "got": "<b>yes</b>", "sha256": "ab" * 32}
    records[1].evidence = {"want": "no", "got": "no"}
    records[2].evidence = {"want": "no", "got": "maybe"}
    checks = {"sshd.config": {"compare": [["PermitRootLogin", "want", "got"]]}}
    monkeypatch.setattr(summary, "MAX_EVIDENCE_TABLES", 2)
    html = summary.of_run(records, ["web1", "web2", "web3"], gate.decide(records),
                          checks=checks)
    findings = html[html.index('<div id="fc-findings">'):]
    assert findings.count('<table class="fc-evidence">') == 2
    assert ("<tr><td>PermitRootLogin</td><td>no</td><td>&lt;b&gt;yes&lt;/b&gt;</td>"
            "<td>failed</td></tr>") in findings
    assert "<tr><td>PermitRootLogin</td><td>no</td><td>no</td><td>as expected</td></tr>" \
        in findings
    assert "ab" * 32 not in html and "maybe" not in html       # internal; the third record
    assert "The evidence of the first 2 failing records is shown here" in findings
    assert not read(html).active
