"""The runs behind report.html's pictures: failing findings per severity and per host
over the earlier runs of the same inventory and selection.

Each run keeps a tally in its metadata (run.tally in results.json, and in the small
run.json beside it): its failing findings (failed, would-fix, error: gate.FINDINGS,
whatever --fail-on said) per severity, its unreachable hosts, and per host its failing
findings and compliance score (fleetcheck.report.summary.score). The pictures read
run.json only, a few kilobytes, never the records.

Which runs: those history compares with (fleetcheck.report.history.same_run: the same
inventory and selection, and that ran to the end), newest first, at most MAX_RUNS
of them, the current run last whatever it is. The read is bounded: at most MAX_SCAN
run directories are looked at (newest first), a run.json over MAX_META_BYTES and a
results.json over MAX_RESULTS_BYTES are not read, nor anything once MAX_TOTAL_BYTES
have been. A run directory written before runs kept a tally (no run.json, or one
without `tally`) is tallied from its results.json, within the same bounds. A file
that cannot be read or does not hold what a run writes is skipped and counted,
never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.report.gate import FINDINGS
from fleetcheck.report.history import same_run
from fleetcheck.report.records import SEVERITIES, Record
from fleetcheck.report.summary import score

MAX_RUNS = 30                      # points on a chart, the current run included
MAX_SCAN = 300                     # run directories looked at
MAX_META_BYTES = 4 << 20           # a run.json (its tally has a line per host)
MAX_RESULTS_BYTES = 32 << 20       # a results.json read for an old run's tally
MAX_TOTAL_BYTES = 128 << 20        # everything read for one report


@dataclass
class Point:
    run_id: str
    findings: dict[str, int]              # severity -> failing findings
    hosts: dict[str, dict]                # host -> {"findings": n, "score": s | None}
    unreachable: int = 0

    @property
    def label(self) -> str:
        """20261203T180334Z-b280 -> 2026-12-03 18:03 (any other id as it is)."""
        rid = self.run_id
        if len(rid) >= 15 and rid[8] == "T" and rid[:8].isdigit():
            return f"{rid[0:4]}-{rid[4:6]}-{rid[6:8]} {rid[9:11]}:{rid[11:13]}"
        return rid


@dataclass
class History:
    points: list[Point] = field(default_factory=list)   # oldest first, this run last
    skipped: int = 0     # runs of this inventory and selection whose files could not be read

    def host_series(self, host: str, key: str = "findings") -> list[float | None]:
        """A host's findings (or score) in each run; None where it has none."""
        out = []
        for p in self.points:
            entry = p.hosts.get(host)
            out.append(None if entry is None else entry.get(key))
        return out


def tally(records: list[Record]) -> dict:
    """What a run keeps for the pictures (run.tally)."""
    findings = dict.fromkeys(SEVERITIES, 0)
    by_host: dict[str, list[Record]] = {}
    for r in records:
        by_host.setdefault(r.host, []).append(r)
        if r.outcome in FINDINGS:
            findings[r.severity] = findings.get(r.severity, 0) + 1
    hosts = {}
    unreachable = 0
    for host, recs in by_host.items():
        gone = any(r.outcome == "unreachable" for r in recs)
        unreachable += gone
        hosts[host] = {"findings": sum(r.outcome in FINDINGS for r in recs),
                       "score": None if gone else score(recs)}
    return {"findings": findings, "unreachable": unreachable, "hosts": hosts}


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def point(run_id: str, data) -> Point | None:
    """A run's tally as a Point, or None when it is not what tally() writes."""
    if not isinstance(data, dict):
        return None
    findings, hosts = data.get("findings"), data.get("hosts")
    if not isinstance(findings, dict) or not isinstance(hosts, dict):
        return None
    if not all(isinstance(k, str) and _count(v) for k, v in findings.items()):
        return None
    clean = {}
    for host, entry in hosts.items():
        if not isinstance(entry, dict) or not _count(entry.get("findings")):
            return None
        value = entry.get("score")
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, float))):
            return None
        clean[str(host)] = {"findings": entry["findings"], "score": value}
    unreachable = data.get("unreachable", 0)
    return Point(str(run_id), dict(findings), clean, unreachable if _count(unreachable) else 0)


class _Budget:
    def __init__(self, total: int):
        self.left = total

    def load(self, path: Path, limit: int):
        """The JSON of `path` when it is at most `limit` bytes and the budget allows;
        None otherwise (also for a file that is not JSON)."""
        try:
            size = path.stat().st_size
            if size > limit or size > self.left:
                return None
            self.left -= size
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            return None


def _newest_first(reports_root: Path, run_id: str) -> list[Path]:
    """Run directories, newest first as history orders them (run ids sort by their
    start second, results.json's time orders the runs of one second)."""
    found = []
    try:
        entries = list(reports_root.iterdir())
    except OSError:
        return []
    for run_dir in entries:
        if run_dir.name == run_id or run_dir.name.startswith(".") or run_dir.is_symlink():
            continue
        try:
            found.append((run_dir.name[:16], (run_dir / "results.json").stat().st_mtime_ns,
                          run_dir))
        except OSError:
            continue   # no results.json: a run still going, or broken off
    return [d for _, _, d in sorted(found, reverse=True)]


def _run_point(run_dir: Path, key: tuple, budget: _Budget) -> tuple[bool, Point | None]:
    """(of this inventory and selection, its point); the point None when unreadable."""
    meta = budget.load(run_dir / "run.json", MAX_META_BYTES)
    results = None
    if not isinstance(meta, dict):
        results = budget.load(run_dir / "results.json", MAX_RESULTS_BYTES)
        meta = results.get("run") if isinstance(results, dict) else None
        if not isinstance(meta, dict):
            return False, None   # not known to be of this fleet: not counted
    try:
        ours = meta.get("ran_to_end") is True and same_run(meta) == key
    except (TypeError, AttributeError):
        return False, None
    if not ours:
        return False, None
    run_id = meta.get("run_id") or run_dir.name
    if "tally" in meta:
        return True, point(run_id, meta["tally"])
    if results is None:
        results = budget.load(run_dir / "results.json", MAX_RESULTS_BYTES)
    try:
        records = [Record.from_json(r) for r in results["records"]]
    except (TypeError, KeyError, ValueError, AttributeError):
        return True, None
    return True, point(run_id, tally(records))


def read(reports_root: Path, run_id: str, meta: dict, current: dict | None = None,
         max_runs: int = MAX_RUNS) -> History:
    """The earlier runs of `meta`'s inventory and selection, oldest first, and this
    run's tally (`current`, run.tally) as the last point."""
    history = History()
    key = same_run(meta)
    budget = _Budget(MAX_TOTAL_BYTES)
    earlier = []
    if reports_root.is_dir():
        for run_dir in _newest_first(reports_root, run_id)[:MAX_SCAN]:
            if len(earlier) >= max_runs - 1:
                break
            ours, found = _run_point(run_dir, key, budget)
            if found is not None:
                earlier.append(found)
            elif ours:
                history.skipped += 1
    history.points = earlier[::-1]
    now = point(run_id, current) if current is not None else None
    if now is not None:
        history.points.append(now)
    return history
