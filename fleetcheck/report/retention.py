"""--keep-reports N: the reports directory keeps the newest N runs, and what later runs
still need.

A run directory (reports/<run-id>/) beyond the newest N is removed at the end of a run,
except
- this run, and the runs reports/latest and reports/last point at;
- the newest run of each inventory and selection that ran to the end: the next run of
  it compares with that one (fleetcheck.report.history);
- a run that changed hosts (its backups/ journals) while its backups on the hosts may
  still exist: younger than --keep-backups DAYS, the age after which a later
  --remediate run removes them there (fleetcheck.remediation.engine), so `fleetcheck
  rollback RUN` keeps working as long as it can.

Only directories named as fleetcheck names runs (RUN_ID) are ever looked at; each run's
metadata is read from its small run.json (fleetcheck.report.results writes it beside
results.json), else from its results.json. `--keep-reports 0` keeps every run.
"""

from __future__ import annotations

import calendar
import json
import re
import shutil
import time
from pathlib import Path

from fleetcheck.remediation.journal import MANIFEST
from fleetcheck.report.history import same_run

DEFAULT_KEEP = 100
DEFAULT_BACKUP_DAYS = 30
RUN_ID = re.compile(r"([0-9]{8}T[0-9]{6}Z)-[0-9a-f]{4,32}")
META = "run.json"


def started(run_id: str) -> float | None:
    """The UTC second a run id names (20261203T180334Z-b280), or None."""
    found = RUN_ID.fullmatch(run_id)
    if not found:
        return None
    try:
        return float(calendar.timegm(time.strptime(found.group(1), "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def _meta(run_dir: Path) -> dict | None:
    for name, pick in ((META, lambda d: d), ("results.json", lambda d: d.get("run"))):
        try:
            with open(run_dir / name, encoding="utf-8") as fh:
                data = pick(json.load(fh))
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(data, dict):
            return data
    return None


def _changed_hosts(run_dir: Path) -> bool:
    backups = run_dir / "backups"
    return backups.is_dir() and any(backups.glob(f"*/{MANIFEST}"))


def _age(run_dir: Path) -> tuple[str, int]:
    """Newest last: run ids sort by their start second, the files' times order the runs
    of one second (as fleetcheck.report.history reads them)."""
    for name in (META, "results.json", "."):
        try:
            return run_dir.name[:16], (run_dir / name).stat().st_mtime_ns
        except OSError:
            continue
    return run_dir.name[:16], 0


def _target(root: Path, name: str) -> str | None:
    link = root / name
    try:
        return Path(link.readlink()).name if link.is_symlink() else None
    except OSError:
        return None


def prune(root: Path, run_id: str, keep: int, backup_days: float,
          now: float | None = None) -> list[str]:
    """Remove the run directories of `root` that nothing needs (see the module's
    docstring); returns the run ids removed, oldest last. `keep` 0: none."""
    if keep <= 0 or not root.is_dir():
        return []
    now = time.time() if now is None else now
    runs = sorted((d for d in root.iterdir()
                   if RUN_ID.fullmatch(d.name) and d.is_dir() and not d.is_symlink()),
                  key=_age, reverse=True)
    if len(runs) <= keep:
        return []
    protected = {run_id, _target(root, "latest"), _target(root, "last")}
    newest = {d.name for d in runs[:keep]}
    seen: set = set()
    removed = []
    for d in runs:
        meta = _meta(d)
        key = same_run(meta) if meta and meta.get("ran_to_end") is True else None
        history_needs = key is not None and key not in seen
        if key is not None:
            seen.add(key)
        if d.name in newest or d.name in protected or history_needs:
            continue
        begun = started(d.name)
        if _changed_hosts(d) and (begun is None or now - begun < backup_days * 86400):
            continue
        shutil.rmtree(d, ignore_errors=True)
        if not d.exists():
            removed.append(d.name)
    return removed
