"""History: the change since the previous run of the same inventory.

Every run keeps reports/<run-id>/results.json. The previous run is the newest other
run directory whose results.json names the same inventory files (and --hosts, when
the run had no inventory file). Records are compared by (host, check id, item).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.report.records import BAD_OUTCOMES, Record
from fleetcheck.report.results import load_results


@dataclass
class Change:
    previous_run: str | None
    new_failures: list[Record] = field(default_factory=list)   # bad now, not bad before
    resolved: list[Record] = field(default_factory=list)       # bad before, not now (current record)
    still_failing: list[Record] = field(default_factory=list)  # bad in both
    gone: list[dict] = field(default_factory=list)             # bad before, no record now

    def to_json(self) -> dict:
        def keys(recs):
            return [{"host": r.host, "check_id": r.check_id, "item": r.item,
                     "outcome": r.outcome, "severity": r.severity} for r in recs]
        return {"previous_run": self.previous_run,
                "new_failures": keys(self.new_failures),
                "resolved": keys(self.resolved),
                "still_failing": keys(self.still_failing),
                "not_run_now": self.gone}

    def describe(self) -> str:
        if self.previous_run is None:
            return "history: no previous run of this inventory"
        return (f"since {self.previous_run}: {len(self.new_failures)} new failures, "
                f"{len(self.resolved)} resolved, {len(self.still_failing)} still failing")


def same_fleet(meta: dict) -> tuple:
    inventory = meta.get("inventory") or []
    return tuple(inventory) if inventory else ("hosts:",) + tuple(meta.get("hosts") or [])


def find_previous(reports_root: Path, run_id: str, meta: dict) -> Path | None:
    """The results.json of the newest earlier run of the same inventory, if any.

    Runs are read newest first and the search stops at the first of this inventory:
    a reports directory keeps every run (an hourly audit makes thousands), and reading
    each one's results.json would make every run slower than the one before."""
    key = same_fleet(meta)
    if not reports_root.is_dir():
        return None
    candidates = []
    for run_dir in reports_root.iterdir():
        path = run_dir / "results.json"
        if run_dir.is_symlink() or run_dir.name == run_id:
            continue
        try:
            # Run ids sort by start second; the file time orders runs within one second.
            candidates.append((run_dir.name[:16], path.stat().st_mtime_ns, path))
        except OSError:
            continue  # no results.json (a run still going, or broken off)
    for _, _, path in sorted(candidates, reverse=True):
        try:
            with open(path, encoding="utf-8") as fh:
                previous_meta = json.load(fh)["run"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if same_fleet(previous_meta) == key:
            return path
    return None


def _key(rec: Record) -> tuple:
    return (rec.host, rec.check_id, rec.item)


def diff(previous: list[Record], current: list[Record], previous_run: str | None) -> Change:
    change = Change(previous_run=previous_run)
    before = {_key(r): r for r in previous}
    now_keys = set()
    for rec in current:
        now_keys.add(_key(rec))
        old = before.get(_key(rec))
        was_bad = old is not None and old.outcome in BAD_OUTCOMES
        is_bad = rec.outcome in BAD_OUTCOMES
        if is_bad and was_bad:
            change.still_failing.append(rec)
        elif is_bad:
            change.new_failures.append(rec)
        elif was_bad:
            change.resolved.append(rec)
    change.gone = [{"host": r.host, "check_id": r.check_id, "item": r.item,
                    "outcome": r.outcome} for k, r in before.items()
                   if k not in now_keys and r.outcome in BAD_OUTCOMES]
    return change


def since_previous(reports_root: Path, run_id: str, meta: dict,
                   current: list[Record]) -> Change:
    path = find_previous(reports_root, run_id, meta)
    if path is None:
        return Change(previous_run=None)
    previous_meta, previous = load_results(path)
    return diff(previous, current, previous_meta.get("run_id", path.parent.name))
