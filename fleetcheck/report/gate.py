"""The CI gate: which records fail the run, and the exit code that follows.

Pure: records in, a Verdict out. The plugin applies it to pytest's exit status.

- failed / would-fix / error records fail the run when their severity is at or above
  ``--fail-on`` (default: every severity, i.e. any finding fails); below it they are
  reported and counted as *tolerated*;
- unreachable records fail the run unless ``--allow-unreachable`` (whatever the
  check's severity: an unreachable host was not audited at all);
- passed, fixed, waived and not-applicable records never fail it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetcheck.report.records import OUTCOMES, SEVERITIES, Record, severity_rank

FINDINGS = frozenset({"failed", "would-fix", "error"})

EXIT_OK = 0
EXIT_FAILED = 1


@dataclass
class Verdict:
    fail_on: str | None
    allow_unreachable: bool
    failing: list[Record] = field(default_factory=list)     # records that fail the run
    tolerated: list[Record] = field(default_factory=list)   # findings below --fail-on / allowed unreachable
    counts: dict[str, int] = field(default_factory=dict)    # outcome -> n (every outcome)
    by_severity: dict[str, dict[str, int]] = field(default_factory=dict)  # severity -> outcome -> n

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failing else EXIT_OK

    def to_json(self) -> dict:
        return {
            "fail_on": self.fail_on or "any",
            "allow_unreachable": self.allow_unreachable,
            "exit_code": self.exit_code,
            "failing": len(self.failing),
            "tolerated": len(self.tolerated),
            "counts": self.counts,
            "by_severity": self.by_severity,
        }

    def describe(self) -> str:
        """One line for the terminal."""
        threshold = f"--fail-on {self.fail_on}" if self.fail_on else "any finding fails"
        text = f"gate ({threshold}): {len(self.failing)} failing"
        if self.tolerated:
            text += f", {len(self.tolerated)} tolerated"
        return text + (" -> FAIL" if self.failing else " -> pass")


def counts(records: list[Record]) -> dict[str, int]:
    """outcome -> count, with every outcome present (0 when none), in OUTCOMES order."""
    out = dict.fromkeys(OUTCOMES, 0)
    for rec in records:
        out[rec.outcome] = out.get(rec.outcome, 0) + 1
    return out


def by_severity(records: list[Record]) -> dict[str, dict[str, int]]:
    out = {sev: dict.fromkeys(OUTCOMES, 0) for sev in SEVERITIES}
    for rec in records:
        out.setdefault(rec.severity, dict.fromkeys(OUTCOMES, 0))
        out[rec.severity][rec.outcome] = out[rec.severity].get(rec.outcome, 0) + 1
    return out


def decide(records: list[Record], fail_on: str | None = None,
           allow_unreachable: bool = False) -> Verdict:
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ValueError(f"--fail-on must be one of {', '.join(SEVERITIES)}")
    verdict = Verdict(fail_on=fail_on, allow_unreachable=allow_unreachable,
                      counts=counts(records), by_severity=by_severity(records))
    limit = severity_rank(fail_on) if fail_on else len(SEVERITIES)
    for rec in records:
        if rec.outcome == "unreachable":
            (verdict.tolerated if allow_unreachable else verdict.failing).append(rec)
        elif rec.outcome in FINDINGS:
            at_or_above = severity_rank(rec.severity) <= limit
            (verdict.failing if at_or_above else verdict.tolerated).append(rec)
    return verdict
