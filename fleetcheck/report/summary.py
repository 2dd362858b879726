"""The findings first: what report.html shows at its top, without JavaScript.

Pure: records and the gate's verdict in, a Summary out; `render` makes its HTML, every
value from a host escaped.

- the verdict: one line, PASS or FAIL, what fails and the gate;
- the compliance score, for the fleet and for each host: the share of judged checks
  that pass, weighted by severity (WEIGHTS: critical 10, high 5, medium 3, low 1, info
  0.5). Judged are the records that say something of the host's state: passed and
  fixed (it passes now) count as passing, failed, would-fix and error as not;
  not-applicable and waived ones are left out, and so is an unreachable host's record
  (nothing was judged: its score is none, and the verdict says it is unreachable);
- the failing records grouped by severity, worst first, then by check: "sshd.config
  failed on 2 hosts: web1, web2", each host's message beside it;
- given the earlier runs of the same inventory and selection (fleetcheck.report.trend),
  a trend chart of the failing findings per severity and, in the host scores table, a
  sparkline of each host's failing findings (fleetcheck.report.charts: inline SVG), each
  with its numbers as text beside it.

The verdict is the one the gate decided at the end of the run (FleetRun.verdict, from
fleetcheck.report.wiring): the summary never judges the records a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from fleetcheck.report import charts, details
from fleetcheck.report.gate import FINDINGS, Verdict
from fleetcheck.report.records import SEVERITIES, WORST_FIRST, Record, severity_rank

if TYPE_CHECKING:
    from fleetcheck.report.trend import History

WEIGHTS = {"critical": 10.0, "high": 5.0, "medium": 3.0, "low": 1.0, "info": 0.5}
PASSING = frozenset({"passed", "fixed"})
JUDGED = PASSING | FINDINGS
MAX_GRID_HOSTS = 500        # hosts in the grid read without JavaScript
MAX_HOSTS_SHOWN = 50        # hosts named in one group; the rest are counted
MAX_RECORDS_SHOWN = 500     # records listed in one group; the rest are counted
MAX_EVIDENCE_TABLES = 2000  # failing records given their evidence table in the summary
MAX_SPARKLINES = 500        # hosts drawn a sparkline (the lowest scores first); the rest: numbers
NUMBERS_SHOWN = 8           # a host's latest numbers written beside its sparkline


@dataclass
class Group:
    severity: str
    check_id: str
    title: str
    records: list[Record] = field(default_factory=list)

    @property
    def hosts(self) -> list[str]:
        return sorted({r.host for r in self.records})


@dataclass
class Summary:
    verdict: str                                # the one line
    passed: bool
    score: float | None                         # the fleet's, 0-100; None: nothing judged
    hosts: dict[str, float | None]              # host -> score
    groups: list[Group]                         # failing findings, worst first
    unreachable: list[str]
    # the host x area grid: area names, and host -> area -> outcome -> count
    areas: list[str] = field(default_factory=list)
    grid: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def score(records: list[Record]) -> float | None:
    total = good = 0.0
    for r in records:
        if r.outcome not in JUDGED:
            continue
        weight = WEIGHTS.get(r.severity, 1.0)
        total += weight
        good += weight if r.outcome in PASSING else 0.0
    return None if total == 0 else round(100.0 * good / total, 1)


def build(records: list[Record], verdict: Verdict, hosts: list[str]) -> Summary:
    by_host: dict[str, list[Record]] = {h: [] for h in hosts}
    for r in records:
        by_host.setdefault(r.host, []).append(r)
    unreachable = sorted({r.host for r in records if r.outcome == "unreachable"})
    groups: dict[tuple[str, str], Group] = {}
    for r in verdict.failing:
        if r.outcome not in FINDINGS:
            continue
        g = groups.setdefault((r.severity, r.check_id), Group(r.severity, r.check_id, r.title))
        g.records.append(r)
    ordered = sorted(groups.values(), key=lambda g: (severity_rank(g.severity),
                                                     -len(g.hosts), g.check_id))
    findings = sum(len(g.records) for g in ordered)
    passed = not verdict.failing
    if passed:
        line = f"PASS: no failing finding on {len(by_host)} hosts"
    else:
        sev = {}
        for g in ordered:
            sev[g.severity] = sev.get(g.severity, 0) + len(g.records)
        parts = [f"{n} {s}" for s, n in sorted(sev.items(), key=lambda kv: severity_rank(kv[0]))]
        failing_hosts = {r.host for r in verdict.failing}
        line = (f"FAIL: {len(verdict.failing)} failing on {len(failing_hosts)} of "
                f"{len(by_host)} hosts" + (f" ({findings} finding{'s' if findings != 1 else ''}: "
                                           + ", ".join(parts) + ")"
                                           if findings else "")
                + (f"; {len(unreachable)} unreachable" if unreachable else ""))
    if verdict.tolerated:
        line += f"; {len(verdict.tolerated)} tolerated"
    line += "; gate: " + (f"--fail-on {verdict.fail_on}" if verdict.fail_on
                          else "any finding fails")
    host_scores = {h: (None if h in unreachable else score(rs)) for h, rs in by_host.items()}
    judged = [r for r in records if r.host not in unreachable]
    grid: dict[str, dict[str, dict[str, int]]] = {h: {} for h in by_host}
    for r in records:
        cell = grid[r.host].setdefault(r.area, {})
        cell[r.outcome] = cell.get(r.outcome, 0) + 1
    return Summary(line, passed, score(judged), host_scores, ordered, unreachable,
                   sorted({r.area for r in records}), grid)


def _score_text(value: float | None) -> str:
    return "none" if value is None else f"{value:g}%"


def render(s: Summary, history: History | None = None,
           checks: dict[str, dict] | None = None) -> str:
    """The summary as HTML (no script: it reads with JavaScript off).

    Its order is what a reader needs first on one screen: the verdict and the score,
    the host x area grid (fleet.js draws the interactive one into #fc-grid-slot; the
    plain one is its <noscript>), the failing findings worst first (each record with
    its evidence table, seen when its group is opened and on paper), then the trend
    and the hosts' scores. `checks`: check id -> what the page knows of the check
    (details.check_info: its `compare` declaration) for the evidence tables."""
    runs = history.points if history is not None else []
    out = ['<section id="fc-summary" class="fc-summary">',
           f'<p id="fc-verdict" class="{"fc-passed" if s.passed else "fc-failed"}">'
           f"{escape(s.verdict)}</p>",
           f'<p id="fc-score">Compliance score: <b>{_score_text(s.score)}</b> of the judged '
           "checks pass, weighted by severity (critical 10, high 5, medium 3, low 1, info "
           "0.5; not-applicable, waived and unreachable records left out)</p>",
           '<div id="fc-grid-slot" class="fleetcheck fc-grid-slot">', _plain_grid(s),
           "</div>"]
    if s.groups:
        out.append(_findings(s, checks or {}))
    if runs:
        out.append(_trend(history))
    out.append('<table id="fc-host-scores" class="fc-scores"><thead><tr><th>Host</th>'
               "<th>Score</th>" + (f"<th>Failing findings, last {len(runs)} "
                                   f"run{'s' if len(runs) != 1 else ''}</th>" if runs else "")
               + "</tr></thead><tbody>")
    for n, (host, value) in enumerate(sorted(s.hosts.items(), key=lambda kv: (
            kv[1] is not None, kv[1] if kv[1] is not None else 0, kv[0]))):
        note = " (unreachable)" if host in s.unreachable else ""
        out.append(f"<tr><td>{escape(host)}</td><td>{_score_text(value)}{note}</td>")
        if runs:
            out.append(f'<td class="fc-spark-cell">{_spark(history, host, n)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def _findings(s: Summary, checks: dict[str, dict]) -> str:
    """The failing findings grouped by severity and check, each group a <details>
    (closed on screen; opened on paper by page.js and fleet.css) listing its records
    with their message and, for the first MAX_EVIDENCE_TABLES records, their evidence
    as expected / actual / verdict rows (details.evidence_rows)."""
    out = ['<div id="fc-findings"><h3>Failing findings, worst first</h3>']
    tables = 0
    for g in s.groups:
        hosts = g.hosts
        named = ", ".join(escape(h) for h in hosts[:MAX_HOSTS_SHOWN]) + (
            f" and {len(hosts) - MAX_HOSTS_SHOWN} more" if len(hosts) > MAX_HOSTS_SHOWN
            else "")
        out.append(f'<details class="fc-group fc-sev-{escape(g.severity)}" '
                   f'data-check="{escape(g.check_id)}" data-severity="{escape(g.severity)}">'
                   f"<summary><b>[{escape(g.severity)}] {escape(g.check_id)}</b> failed on "
                   f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}: {named}"
                   f" <i>{escape(g.title)}</i></summary><ul>")
        compare = (checks.get(g.check_id) or {}).get("compare")
        shown = sorted(g.records, key=lambda r: (r.host, r.item or ""))[:MAX_RECORDS_SHOWN]
        for r in shown:
            item = f" [{escape(r.item)}]" if r.item else ""
            out.append(f"<li><b>{escape(r.host)}</b>{item} {escape(r.outcome)}: "
                       f"{escape(r.message)}")
            if tables < MAX_EVIDENCE_TABLES:
                table = _evidence(r, compare)
                tables += bool(table)
                out.append(table)
            out.append("</li>")
        if len(g.records) > len(shown):
            out.append(f"<li>and {len(g.records) - len(shown)} more records (results.json "
                       "has every record)</li>")
        out.append("</ul></details>")
    if tables >= MAX_EVIDENCE_TABLES:
        out.append(f"<p>The evidence of the first {MAX_EVIDENCE_TABLES} failing records is "
                   "shown here; the records table below and results.json have the rest.</p>")
    out.append("</div>")
    return "".join(out)


def _evidence(r: Record, compare) -> str:
    rows = details.evidence_rows(r.evidence, compare, r.outcome)
    if not rows:
        return ""
    body = "".join("<tr>" + "".join(f"<td>{escape(cell) if cell else '-'}</td>"
                                    for cell in row) + "</tr>" for row in rows)
    return ('<table class="fc-evidence"><thead><tr><th>evidence</th><th>expected</th>'
            f"<th>actual</th><th>verdict</th></tr></thead><tbody>{body}</tbody></table>")


def _plain_grid(s: Summary) -> str:
    """The host x area grid for a page read with JavaScript off (inside <noscript>:
    fleet.js draws the interactive one otherwise): each cell its worst outcome and the
    counts, at most MAX_GRID_HOSTS hosts (the rest counted)."""
    if not s.grid or not s.areas:
        return ""
    out = ['<noscript><h3>Hosts x areas</h3><table id="fc-plain-grid" class="fc-scores">'
           '<thead><tr><th>Host</th>'
           + "".join(f"<th>{escape(a)}</th>" for a in s.areas) + "</tr></thead><tbody>"]
    hosts = list(s.grid)
    for host in hosts[:MAX_GRID_HOSTS]:
        cells = []
        for area in s.areas:
            counts = s.grid[host].get(area) or {}
            worst = next((o for o in WORST_FIRST if counts.get(o)), None)
            text = ", ".join(f"{counts[o]} {o}" for o in WORST_FIRST if counts.get(o))
            cells.append(f'<td class="fc-{escape(worst)}">{escape(text)}</td>' if worst
                         else "<td></td>")
        out.append(f"<tr><th>{escape(host)}</th>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    if len(hosts) > MAX_GRID_HOSTS:
        out.append(f"<p>and {len(hosts) - MAX_GRID_HOSTS} more hosts (results.json has "
                   "every record)</p>")
    out.append("</noscript>")
    return "".join(out)


def _numbers(values: list) -> str:
    return ", ".join("-" if v is None else f"{v:g}" for v in values)


def _spark(history: History, host: str, n: int) -> str:
    values = history.host_series(host)
    shown = values[-NUMBERS_SHOWN:]
    text = ("... " if len(values) > len(shown) else "") + _numbers(shown)
    picture = (charts.sparkline(values, f"{host}: failing findings")
               if n < MAX_SPARKLINES else "")
    return f'{picture} <span class="fc-spark-numbers">{escape(text)}</span>'


def _trend(history: History) -> str:
    """The trend chart, what it shows in words, and its numbers (a table)."""
    runs = history.points
    totals = [sum(p.findings.values()) for p in runs]
    caption = (f"Failing findings (failed, would-fix, error) per severity over the last "
               f"{len(runs)} run{'s' if len(runs) != 1 else ''} of this inventory and "
               "selection, oldest left, this run right")
    if len(runs) == 1:
        caption += ": no earlier run to compare with; now " + f"{totals[0]}"
    else:
        caption += f": {totals[0]} then, {totals[-1]} now"
    if history.skipped:
        caption += (f" ({history.skipped} run{'s' if history.skipped != 1 else ''} "
                    "of it could not be read)")
    severities = [sev for sev in SEVERITIES if any(p.findings.get(sev) for p in runs)] \
        or list(SEVERITIES)
    # one run is one column of dots: its numbers say it better than a picture
    picture = charts.trend([(p.label, p.findings) for p in runs]) if len(runs) > 1 else ""
    out = ['<figure id="fc-trend" class="fc-trend-figure">', picture,
           f"<figcaption>{escape(caption)}</figcaption>",
           '<details id="fc-trend-numbers"><summary>The numbers</summary>'
           '<table class="fc-scores"><thead><tr><th>Run</th>'
           + "".join(f"<th>{escape(sev)}</th>" for sev in severities)
           + "<th>all</th><th>unreachable hosts</th></tr></thead><tbody>"]
    for p, total in zip(runs, totals):
        out.append(f'<tr><td title="{escape(p.run_id)}">{escape(p.label)}</td>'
                   + "".join(f"<td>{p.findings.get(sev, 0)}</td>" for sev in severities)
                   + f"<td>{total}</td><td>{p.unreachable}</td></tr>")
    out.append("</tbody></table></details></figure>")
    return "".join(out)


def of_run(records: list[Record], hosts: list[str], verdict: Verdict,
           history: History | None = None, checks: dict[str, dict] | None = None) -> str:
    """The summary's HTML for a run's records and the gate's verdict on them."""
    return render(build(records, verdict, hosts), history, checks)
