"""--nagios: one Nagios plugin status line from the gate's verdict.

Status, worst first: CRITICAL (2) when a failing finding is critical or high; UNKNOWN
(3) when hosts could not be audited (unreachable, not allowed) or the run is
incomplete (interrupted, stopped, nothing selected, or a subset of the checks:
incomplete_line, which still says what a subset found); WARNING (1) when the
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


def perfdata(verdict: Verdict, hosts: int) -> str:
    perf = " ".join(f"{perf_label(o)}={verdict.counts.get(o, 0)}" for o in OUTCOMES)
    return perf + (f" failing={len(verdict.failing)} tolerated={len(verdict.tolerated)}"
                   f" hosts={hosts}")


def incomplete_line(verdict: Verdict, hosts: int, why: str,
                    found: bool = False) -> tuple[int, str]:
    """A run that is incomplete says nothing of the fleet as a whole: UNKNOWN. With
    ``found`` (a subset that ran to its end), the line also says what it found and
    what that alone would be ("found: 1 failing (1 critical); ... (CRITICAL)")."""
    line = f"FLEETCHECK UNKNOWN - the run is incomplete: {why}"
    if found:
        code, body = _findings(verdict, hosts)
        line += f"; found: {body} ({NAMES[code]})"
    return UNKNOWN, f"{line} | {perfdata(verdict, hosts)}"


def status_line(verdict: Verdict, hosts: int) -> tuple[int, str]:
    """(exit code, 'FLEETCHECK CRITICAL - ... | passed=3 failed=1 ...') of a complete run."""
    code, body = _findings(verdict, hosts)
    return code, f"FLEETCHECK {NAMES[code]} - {body} | {perfdata(verdict, hosts)}"


def _findings(verdict: Verdict, hosts: int) -> tuple[int, str]:
    """(status, what the failing records say) of a verdict."""
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
    return code, "; ".join(parts)
