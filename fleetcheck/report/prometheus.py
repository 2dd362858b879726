"""--prometheus FILE: text exposition format for node_exporter's textfile collector.

One sample per record of ``fleetcheck_check_outcome`` (value 1, the outcome as a
label: a record has exactly one outcome) and ``fleetcheck_check_duration_seconds`` (the
check's own time: the waits for the host's gathering are taken out); totals per
outcome; per host, its records that fail the gate by severity; when the last run
started and how long it took. No label changes from run to run (no run id): every
series stays one series across runs. Written to a temporary file in the same
directory and renamed, so the collector never reads half a file.
"""

from __future__ import annotations


from fleetcheck.report.gate import Verdict
from fleetcheck.report.records import OUTCOMES, SEVERITIES, Record


def escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str | None) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()
                          if v is not None) + "}"


def render(records: list[Record], verdict: Verdict, started: float, duration: float) -> str:
    lines = [
        "# HELP fleetcheck_check_outcome Outcome of one check on one host (1 = this outcome).",
        "# TYPE fleetcheck_check_outcome gauge",
    ]
    for r in records:
        lines.append("fleetcheck_check_outcome" + _labels(
            host=r.host, check=r.check_id, item=r.item or "", severity=r.severity,
            outcome=r.outcome) + " 1")
    lines += [
        "# HELP fleetcheck_check_duration_seconds The check's own time on one host (its "
        "setup and call, without the waits for the host's gathering).",
        "# TYPE fleetcheck_check_duration_seconds gauge",
    ]
    for r in records:
        lines.append("fleetcheck_check_duration_seconds" + _labels(
            host=r.host, check=r.check_id, item=r.item or "") + f" {float(r.duration):g}")
    lines += [
        "# HELP fleetcheck_records Records of the last run by outcome.",
        "# TYPE fleetcheck_records gauge",
    ]
    for outcome in OUTCOMES:
        lines.append(f'fleetcheck_records{{outcome="{outcome}"}} {verdict.counts.get(outcome, 0)}')
    lines += [
        "# HELP fleetcheck_host_failing Records of a host that fail the CI gate, by "
        "severity (unreachable ones as severity=\"unreachable\").",
        "# TYPE fleetcheck_host_failing gauge",
    ]
    per_host: dict[str, dict[str, int]] = {}
    for r in records:
        per_host.setdefault(r.host, dict.fromkeys((*SEVERITIES, "unreachable"), 0))
    for r in verdict.failing:
        key = "unreachable" if r.outcome == "unreachable" else r.severity
        row = per_host.setdefault(r.host, dict.fromkeys((*SEVERITIES, "unreachable"), 0))
        row[key] = row.get(key, 0) + 1
    for host, row in per_host.items():
        lines += [f"fleetcheck_host_failing{_labels(host=host, severity=sev)} {n}"
                  for sev, n in row.items()]
    lines += [
        "# HELP fleetcheck_gate_failing Records that fail the CI gate (--fail-on, --allow-unreachable).",
        "# TYPE fleetcheck_gate_failing gauge",
        f"fleetcheck_gate_failing {len(verdict.failing)}",
        "# HELP fleetcheck_last_run_timestamp_seconds When the last run started.",
        "# TYPE fleetcheck_last_run_timestamp_seconds gauge",
        f"fleetcheck_last_run_timestamp_seconds {started:.3f}",
        "# HELP fleetcheck_last_run_duration_seconds How long the last run took.",
        "# TYPE fleetcheck_last_run_duration_seconds gauge",
        f"fleetcheck_last_run_duration_seconds {duration:.3f}",
    ]
    return "\n".join(lines) + "\n"
