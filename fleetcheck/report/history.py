"""History: the change since the previous run of the same inventory and selection.

Every run keeps reports/<run-id>/results.json. The previous run is the newest other
run directory whose results.json names the same inventory files (and --hosts, when
the run had no inventory file), the same selection (run.selection: -k, -m,
--deselect, paths; --limit, --where: fleetcheck.report.completeness.selection_key)
and that ran to the end (run.ran_to_end). A run that did not run to the end is never
the previous run; nor is one written before runs said what they selected. Records are
compared by (host, check id, item); when this run is not complete (a subset, or it
did not run to the end), only the records both runs have are compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.report.completeness import selection_key
from fleetcheck.report.records import BAD_OUTCOMES, Record
from fleetcheck.report.results import load_results


@dataclass
class Change:
    previous_run: str | None
    new_failures: list[Record] = field(default_factory=list)   # bad now, not bad before
    resolved: list[Record] = field(default_factory=list)       # bad before, not now (current record)
    still_failing: list[Record] = field(default_factory=list)  # bad in both
    gone: list[dict] = field(default_factory=list)             # bad before, no record now
    common_only: bool = False   # only the records both runs have were compared

    def to_json(self) -> dict:
        def keys(recs):
            return [{"host": r.host, "check_id": r.check_id, "item": r.item,
                     "outcome": r.outcome, "severity": r.severity} for r in recs]
        return {"previous_run": self.previous_run,
                "new_failures": keys(self.new_failures),
                "resolved": keys(self.resolved),
                "still_failing": keys(self.still_failing),
                "not_run_now": self.gone,
                "common_records_only": self.common_only}

    def describe(self) -> str:
        if self.previous_run is None:
            return "history: no previous run of this inventory and selection"
        return (f"since {self.previous_run}: {len(self.new_failures)} new failures, "
                f"{len(self.resolved)} resolved, {len(self.still_failing)} still failing"
                + (" (of the records both runs have)" if self.common_only else ""))


def same_fleet(meta: dict) -> tuple:
    inventory = meta.get("inventory") or []
    return tuple(inventory) if inventory else ("hosts:",) + tuple(meta.get("hosts") or [])


def same_run(meta: dict) -> tuple:
    return same_fleet(meta), selection_key(meta)


def find_previous(reports_root: Path, run_id: str, meta: dict) -> Path | None:
    """The results.json of the newest earlier run of the same inventory and selection
    that ran to the end, if any.

    Runs are read newest first and the search stops at the first of this inventory:
    a reports directory keeps every run (an hourly audit makes thousands), and reading
    each one's results.json would make every run slower than the one before."""
    key = same_run(meta)
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
        if (isinstance(previous_meta, dict) and previous_meta.get("ran_to_end") is True
                and same_run(previous_meta) == key):
            return path
    return None


def _key(rec: Record) -> tuple:
    return (rec.host, rec.check_id, rec.item)


def diff(previous: list[Record], current: list[Record], previous_run: str | None,
         common_only: bool = False) -> Change:
    """The change from `previous` to `current`; with `common_only`, only the records
    both have (a subset or a run cut short says nothing of the records it lacks)."""
    change = Change(previous_run=previous_run, common_only=common_only)
    before = {_key(r): r for r in previous}
    now_keys = set()
    for rec in current:
        if common_only and _key(rec) not in before:
            continue
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
    if not common_only:
        change.gone = [{"host": r.host, "check_id": r.check_id, "item": r.item,
                        "outcome": r.outcome} for k, r in before.items()
                       if k not in now_keys and r.outcome in BAD_OUTCOMES]
    return change


def since_previous(reports_root: Path, run_id: str, meta: dict,
                   current: list[Record], common_only: bool = False) -> Change:
    """`meta` holds this run's selection (run.selection); `common_only` when this run
    is not complete."""
    path = find_previous(reports_root, run_id, meta)
    if path is None:
        return Change(previous_run=None, common_only=common_only)
    previous_meta, previous = load_results(path)
    return diff(previous, current, previous_meta.get("run_id", path.parent.name),
                common_only)
