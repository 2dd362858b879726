"""results.json and the reports/latest link."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from fleetcheck.report.records import Record


def write_atomic(path: Path, text: str) -> None:
    """Write a file whole or not at all: temp file beside it, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json_atomic(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_results(path: Path, metadata: dict, records: list[Record], duration: float) -> None:
    """results.json, and run.json beside it: the run's metadata alone (what the next
    runs' pruning reads: fleetcheck.report.retention)."""
    meta = dict(metadata, duration=round(duration, 3),
                finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    write_json_atomic(path, {"run": meta, "records": [r.to_json() for r in records]})
    write_json_atomic(path.parent / "run.json", meta)


def load_results(path: Path) -> tuple[dict, list[Record]]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data["run"], [Record.from_json(r) for r in data["records"]]


def point_latest(reports_root: Path, run_id: str, name: str = "latest") -> Path:
    """reports/<name> -> <run_id>, replaced atomically: `latest` is the last complete
    run (the fleet's state), `last` the newest run of any kind."""
    link = reports_root / name
    tmp = reports_root / f".{name}-{run_id}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_id)
    os.replace(tmp, link)
    return link
