"""Result records: one per host x check, the single source every reporter reads."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

OUTCOMES = ("passed", "failed", "fixed", "would-fix", "waived", "not-applicable",
            "unreachable", "error")
SEVERITIES = ("critical", "high", "medium", "low", "info")
# Worst first: the grid colours a cell by the worst outcome among its records.
WORST_FIRST = ("unreachable", "error", "failed", "would-fix", "waived", "fixed",
               "not-applicable", "passed")
# Outcomes that are findings: the check did not pass on this host.
BAD_OUTCOMES = frozenset({"failed", "would-fix", "unreachable", "error"})


@dataclass
class Record:
    host: str
    check_id: str
    test_id: str             # check_id[host] or check_id[host-item]
    nodeid: str
    severity: str
    title: str
    outcome: str
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    duration: float = 0.0
    item: str | None = None  # the part of the test id after the host, if any
    # The waiver that matched this record (report.waivers.Waiver.to_json()), with
    # "expired": true when it matched but no longer applies; None when none matched.
    waiver: dict[str, Any] | None = None

    @property
    def area(self) -> str:
        return self.check_id.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        # A shallow copy: evidence and plan are JSON values built for this record
        # alone (plugin._jsonable) and never changed in place; asdict() deep-copied
        # them for every report of every check (a tenth of a 50-host run's test thread).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["area"] = self.area
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Record":
        data = dict(data)
        data.pop("area", None)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


def severity_rank(severity: str) -> int:
    """0 for critical ... 4 for info; unknown sorts last."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)


def summarize(records: list[Record]) -> dict[str, dict[str, int]]:
    """host -> outcome -> count, hosts in first-seen order."""
    out: dict[str, dict[str, int]] = {}
    for rec in records:
        counts = out.setdefault(rec.host, {})
        counts[rec.outcome] = counts.get(rec.outcome, 0) + 1
    return out
