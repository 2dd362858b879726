"""--nagios: the Nagios plugin output of the gate's verdict, as the Nagios Plugin
Development Guidelines define it: a first line `FLEETCHECK STATUS - text | perfdata`,
then the long output (one line per failing record, worst first, at most LONG_LINES);
nothing else goes to stdout (pytest's own output goes to stderr). The text's count
is perfdata's `failing` (the gate's), split the same way, and names the worst checks
and hosts.

Status, worst first: CRITICAL (2) when a failing finding is critical or high; UNKNOWN
(3) when hosts could not be audited (unreachable, not allowed) or the run is
incomplete (interrupted, stopped, nothing selected, or a subset of the checks:
incomplete_line, which still says what a subset found); WARNING (1) when the
failing findings are all medium, low or info; OK (0) otherwise. Tolerated findings
(below --fail-on) and waived ones do not raise the status; they are in the perfdata.
"""

from __future__ import annotations

from fleetcheck.report.gate import FINDINGS, Verdict
from fleetcheck.report.records import OUTCOMES, SEVERITIES, severity_rank
from fleetcheck.values import shown

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
SEVERE = frozenset({"critical", "high"})
WORST = 3           # checks and hosts the first line names
LONG_LINES = 10     # failing records the long output lists
MAX_NAME = 60       # characters of a host or check name in the output
MAX_MESSAGE = 200   # characters of a record's message in the long output


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
    """Every outcome's count, then `failing` (what the text counts, the gate's) split
    into the severities of its findings and its unreachable records, `tolerated` and
    `hosts`: plain integers, labels without blanks or quotes (the plugin guidelines'
    `label=value`)."""
    perf = " ".join(f"{perf_label(o)}={verdict.counts.get(o, 0)}" for o in OUTCOMES)
    split = _split(verdict)
    return perf + (f" failing={len(verdict.failing)}"
                   + "".join(f" failing_{sev}={split.get(sev, 0)}" for sev in SEVERITIES)
                   + f" failing_unreachable={split.get('unreachable', 0)}"
                   f" tolerated={len(verdict.tolerated)} hosts={hosts}")


def _split(verdict: Verdict) -> dict[str, int]:
    """The failing records by severity (findings) or as `unreachable`."""
    out: dict[str, int] = {}
    for r in verdict.failing:
        key = "unreachable" if r.outcome == "unreachable" else r.severity
        out[key] = out.get(key, 0) + 1
    return out


def incomplete_line(verdict: Verdict, hosts: int, why: str,
                    found: bool = False) -> tuple[int, str]:
    """A run that is incomplete says nothing of the fleet as a whole: UNKNOWN. With
    ``found`` (a subset that ran to its end), the line also says what it found and
    what that alone would be ("found: 1 failing (1 critical); ... (CRITICAL)")."""
    line = f"FLEETCHECK UNKNOWN - the run is incomplete: {why}"
    if found:
        code, body = _findings(verdict, hosts)
        line += f"; found: {body} ({NAMES[code]})"
    return UNKNOWN, f"{line} | {perfdata(verdict, hosts)}" + long_output(verdict)


def status_line(verdict: Verdict, hosts: int) -> tuple[int, str]:
    """(exit code, 'FLEETCHECK CRITICAL - ... | passed=3 failed=1 ...' and the long
    output's lines) of a complete run."""
    code, body = _findings(verdict, hosts)
    return code, (f"FLEETCHECK {NAMES[code]} - {body} | {perfdata(verdict, hosts)}"
                  + long_output(verdict))


def _name(text: str, limit: int = MAX_NAME) -> str:
    """A host or check name (or a message) as the output shows it: bounded, one line,
    no '|' (which would start the perfdata)."""
    text = str(text)
    if len(text) <= limit and text.isprintable() and "|" not in text:
        return text
    return shown(text, limit).replace("|", "/")


def _worst(verdict: Verdict) -> str:
    """The worst checks (by severity, then by how many hosts) and the hosts with the
    most failing records: `worst: sshd.config on web1 [high], capacity.disk on 14
    hosts [medium]; hosts: web1 (5), app1 (3)`."""
    findings = [r for r in verdict.failing if r.outcome in FINDINGS]
    checks: dict[str, tuple[int, set[str]]] = {}
    for r in findings:
        rank, where = checks.get(r.check_id, (len(SEVERITIES), set()))
        checks[r.check_id] = (min(rank, severity_rank(r.severity)), where | {r.host})
    ranked = sorted(checks.items(), key=lambda kv: (kv[1][0], -len(kv[1][1]), kv[0]))
    parts = []
    if ranked:
        parts.append("worst: " + ", ".join(
            f"{_name(check)} on "
            + (_name(next(iter(where))) if len(where) == 1 else f"{len(where)} hosts")
            + f" [{SEVERITIES[rank] if rank < len(SEVERITIES) else 'unknown'}]"
            for check, (rank, where) in ranked[:WORST]))
    per_host: dict[str, int] = {}
    for r in verdict.failing:
        per_host[r.host] = per_host.get(r.host, 0) + 1
    top = sorted(per_host.items(), key=lambda kv: (-kv[1], kv[0]))[:WORST]
    if len(top) > 1 and top[0][1] > 1:     # only when some host stands out
        parts.append("hosts: " + ", ".join(f"{_name(h)} ({n})" for h, n in top))
    return "; ".join(parts)


def long_output(verdict: Verdict) -> str:
    """The plugin's long output (the lines after the first): one line per failing
    record, worst first, at most LONG_LINES of them."""
    ranked = sorted(verdict.failing, key=lambda r: (
        r.outcome == "unreachable", severity_rank(r.severity), r.check_id, r.host))
    lines = [f"{_name(r.host)} {_name(r.check_id)} [{r.severity}] {r.outcome}"
             + (f": {_name(r.message.splitlines()[0], MAX_MESSAGE)}"
                if r.message.strip() else "") for r in ranked[:LONG_LINES]]
    if len(ranked) > LONG_LINES:
        lines.append(f"... and {len(ranked) - LONG_LINES} more failing records")
    return "".join("\n" + ln for ln in lines)


def _findings(verdict: Verdict, hosts: int) -> tuple[int, str]:
    """(status, what the failing records say) of a verdict: the count is perfdata's
    `failing`, split as its failing_* values are."""
    code = status(verdict)
    unreachable = sorted({r.host for r in verdict.failing if r.outcome == "unreachable"})
    parts = []
    if verdict.failing:
        split = _split(verdict)
        parts.append(f"{len(verdict.failing)} failing ("
                     + ", ".join(f"{split[k]} {k}" for k in (*SEVERITIES, "unreachable")
                                 if split.get(k)) + ")")
        worst = _worst(verdict)
        if worst:
            parts.append(worst)
    if unreachable:
        parts.append(f"{len(unreachable)} host(s) unreachable: "
                     + ", ".join(_name(h) for h in unreachable[:5])
                     + (" ..." if len(unreachable) > 5 else ""))
    if not parts:
        parts.append("no failing finding")
    total = sum(verdict.counts.values())
    parts.append(f"{total} records on {hosts} hosts")
    return code, "; ".join(parts)
