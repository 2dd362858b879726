"""--prometheus FILE: text exposition format for node_exporter's textfile collector.

One sample per record of ``fleetcheck_check_outcome`` (value 1, the outcome as a
label: a record has exactly one outcome) and ``fleetcheck_check_duration_seconds``;
totals per outcome; run time and duration. Written to a temporary file in the same
directory and renamed, so the collector never reads half a file.
"""

from __future__ import annotations


from fleetcheck.report.gate import Verdict
from fleetcheck.report.records import OUTCOMES, Record


def escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str | None) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()
                          if v is not None) + "}"


def render(records: list[Record], verdict: Verdict, started: float, duration: float,
           run_id: str) -> str:
    lines = [
        "# HELP fleetcheck_check_outcome Outcome of one check on one host (1 = this outcome).",
        "# TYPE fleetcheck_check_outcome gauge",
    ]
    for r in records:
        lines.append("fleetcheck_check_outcome" + _labels(
            host=r.host, check=r.check_id, item=r.item or "", severity=r.severity,
            outcome=r.outcome) + " 1")
    lines += [
        "# HELP fleetcheck_check_duration_seconds Duration of one check on one host.",
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
        "# HELP fleetcheck_gate_failing Records that fail the CI gate (--fail-on, --allow-unreachable).",
        "# TYPE fleetcheck_gate_failing gauge",
        f"fleetcheck_gate_failing {len(verdict.failing)}",
        "# HELP fleetcheck_last_run_timestamp_seconds When the last run started.",
        "# TYPE fleetcheck_last_run_timestamp_seconds gauge",
        "fleetcheck_last_run_timestamp_seconds" + _labels(run_id=run_id) + f" {started:.3f}",
        "# HELP fleetcheck_last_run_duration_seconds How long the last run took.",
        "# TYPE fleetcheck_last_run_duration_seconds gauge",
        f"fleetcheck_last_run_duration_seconds {duration:.3f}",
    ]
    return "\n".join(lines) + "\n"
