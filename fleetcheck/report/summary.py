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
  failed on 2 hosts: web1, web2", each host's message beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from fleetcheck.report.gate import FINDINGS, Verdict
from fleetcheck.report.records import Record, severity_rank

WEIGHTS = {"critical": 10.0, "high": 5.0, "medium": 3.0, "low": 1.0, "info": 0.5}
PASSING = frozenset({"passed", "fixed"})
JUDGED = PASSING | FINDINGS
MAX_HOSTS_SHOWN = 50        # hosts named in one group; the rest are counted


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
                f"{len(by_host)} hosts" + (f" ({findings} findings: " + ", ".join(parts) + ")"
                                           if findings else "")
                + (f"; {len(unreachable)} unreachable" if unreachable else ""))
    if verdict.tolerated:
        line += f"; {len(verdict.tolerated)} tolerated"
    line += "; gate: " + (f"--fail-on {verdict.fail_on}" if verdict.fail_on
                          else "any finding fails")
    host_scores = {h: (None if h in unreachable else score(rs)) for h, rs in by_host.items()}
    judged = [r for r in records if r.host not in unreachable]
    return Summary(line, passed, score(judged), host_scores, ordered, unreachable)


def _score_text(value: float | None) -> str:
    return "none" if value is None else f"{value:g}%"


def render(s: Summary) -> str:
    """The summary as HTML (no script: it reads with JavaScript off)."""
    out = ['<section id="fc-summary" class="fc-summary">',
           f'<p id="fc-verdict" class="{"fc-passed" if s.passed else "fc-failed"}">'
           f"{escape(s.verdict)}</p>",
           f'<p id="fc-score">Compliance score: <b>{_score_text(s.score)}</b> of the judged '
           "checks pass, weighted by severity (critical 10, high 5, medium 3, low 1, info "
           "0.5; not-applicable, waived and unreachable records left out)</p>"]
    out.append('<table id="fc-host-scores" class="fc-scores"><thead><tr><th>Host</th>'
               "<th>Score</th></tr></thead><tbody>")
    for host, value in sorted(s.hosts.items(), key=lambda kv: (
            kv[1] is not None, kv[1] if kv[1] is not None else 0, kv[0])):
        note = " (unreachable)" if host in s.unreachable else ""
        out.append(f"<tr><td>{escape(host)}</td><td>{_score_text(value)}{note}</td></tr>")
    out.append("</tbody></table>")
    if s.groups:
        out.append('<div id="fc-findings"><h3>Failing findings, worst first</h3>')
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
            for r in sorted(g.records, key=lambda r: (r.host, r.item or ""))[:500]:
                item = f" [{escape(r.item)}]" if r.item else ""
                out.append(f"<li><b>{escape(r.host)}</b>{item} {escape(r.outcome)}: "
                           f"{escape(r.message)}</li>")
            out.append("</ul></details>")
        out.append("</div>")
    out.append("</section>")
    return "".join(out)



def of_run(records: list[Record], hosts: list[str], gate_meta: dict | None) -> str:
    """The summary's HTML for a run's records, judged as its gate was (results.json's
    run.gate: fail_on, allow_unreachable)."""
    from fleetcheck.report import gate

    meta = gate_meta or {}
    fail_on = meta.get("fail_on")
    verdict = gate.decide(records, None if fail_on in (None, "any") else fail_on,
                          bool(meta.get("allow_unreachable")))
    return render(build(records, verdict, hosts))
