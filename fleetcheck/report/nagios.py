"""--nagios: one Nagios plugin status line from the gate's verdict.

Status, worst first: CRITICAL (2) when a failing finding is critical or high; UNKNOWN
(3) when hosts could not be audited (unreachable, not allowed); WARNING (1) when the
failing findings are all medium, low or info; OK (0) otherwise. Tolerated findings
(below --fail-on) and waived ones do not raise the status; they are in the perfdata.
"""

from __future__ import annotations

from fleetcheck.report.gate import FINDINGS, Verdict
from fleetcheck.report.records import OUTCOMES

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
SEVERE = frozenset({"critical", "high"})


def status(verdict: Verdict) -> int:
    findings = [r for r in verdict.failing if r.outcome in FINDINGS]
    if any(r.severity in SEVERE for r in findings):
        return CRITICAL
    if any(r.outcome == "unreachable" for r in verdict.failing):
        return UNKNOWN
    return WARNING if findings else OK


def perf_label(outcome: str) -> str:
    return outcome.replace("-", "_")


def status_line(verdict: Verdict, hosts: int) -> tuple[int, str]:
    """(exit code, 'FLEETCHECK CRITICAL - ... | passed=3 failed=1 ...')."""
    code = status(verdict)
    findings = [r for r in verdict.failing if r.outcome in FINDINGS]
    unreachable = sorted({r.host for r in verdict.failing if r.outcome == "unreachable"})
    parts = []
    if findings:
        sev: dict[str, int] = {}
        for r in findings:
            sev[r.severity] = sev.get(r.severity, 0) + 1
        parts.append(f"{len(findings)} failing ("
                     + ", ".join(f"{n} {s}" for s, n in sev.items()) + ")")
    if unreachable:
        parts.append(f"{len(unreachable)} host(s) unreachable: " + ", ".join(unreachable[:5])
                     + (" ..." if len(unreachable) > 5 else ""))
    if not parts:
        parts.append("no failing finding")
    total = sum(verdict.counts.values())
    parts.append(f"{total} records on {hosts} hosts")
    perf = " ".join(f"{perf_label(o)}={verdict.counts.get(o, 0)}" for o in OUTCOMES)
    perf += f" failing={len(verdict.failing)} tolerated={len(verdict.tolerated)} hosts={hosts}"
    return code, f"FLEETCHECK {NAMES[code]} - {'; '.join(parts)} | {perf}"
