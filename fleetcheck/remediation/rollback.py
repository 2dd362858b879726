"""`python -m fleetcheck rollback RUN_ID`: put back every file a run changed.

The run's manifests (reports/<run-id>/backups/<host>/manifest.json) say, per file, its
checksum before the run, after the run, and where the backups are. A file is restored
only while it still holds what the run wrote; a file changed again since is refused
(unless --force), so a rollback never silently undoes somebody else's later change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fleetcheck.connection import Unreachable
from fleetcheck.facts.base import Command, FactError
from fleetcheck.remediation import engine
from fleetcheck.remediation.model import b64


@dataclass
class FileOutcome:
    host: str
    path: str
    status: str      # restored | removed | refused | failed | unchanged
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("restored", "removed", "unchanged")


def load_manifests(run_dir: Path) -> dict[str, list[dict]]:
    """host -> one entry per path: the state before the run's first change of it and
    after its last."""
    out: dict[str, list[dict]] = {}
    for manifest in sorted((run_dir / "backups").glob("*/manifest.json")):
        entries: dict[str, dict] = {}
        for entry in json.loads(manifest.read_text())["files"]:
            first = entries.setdefault(entry["path"], dict(entry))
            first["sha256_after"] = entry.get("sha256_after")
        out[manifest.parent.name] = list(entries.values())
    return out


def rollback_host(host, entries: list[dict], run_id: str, force: bool,
                  lock_timeout: float = 30.0) -> list[FileOutcome]:
    results = []
    try:
        engine.acquire_lock(host, engine.ApplyContext(run_id, None, lock_timeout))
    except (engine.ApplyFailed, Unreachable) as exc:
        return [FileOutcome(host.name, e["path"], "failed", str(exc)) for e in entries]
    try:
        for entry in entries:
            results.append(_rollback_file(host, entry, force))
    finally:
        engine.release_lock(host)
    return results


def _rollback_file(host, entry: dict, force: bool) -> FileOutcome:
    path = entry["path"]
    try:
        current = engine.file_sha(host, path)
        if current == entry["sha256_before"]:
            return FileOutcome(host.name, path, "unchanged", "already as before the run")
        if current != entry.get("sha256_after") and not force:
            return FileOutcome(host.name, path, "refused",
                               "changed since the run (sha256 "
                               f"{current[:12]} is neither before nor after it); "
                               "--force to restore anyway")
        if not entry["existed"]:
            res = host.run(engine.sh(engine.RESTORE_SCRIPT, path, ""))
            status = "removed"
        elif _exists(host, entry.get("host_backup")):
            res = host.run(engine.sh(engine.RESTORE_SCRIPT, path, entry["host_backup"]))
            status = "restored"
        elif entry.get("local_backup") and Path(entry["local_backup"]).exists():
            content = Path(entry["local_backup"]).read_bytes()
            res = host.run(engine.sh(engine.WRITE_SCRIPT, path, b64(content), "", "",
                                     current))
            status = "restored"
        else:
            return FileOutcome(host.name, path, "failed", "no backup left to restore from")
        if res.rc != 0:
            return FileOutcome(host.name, path, "failed",
                               f"exit {res.rc}: {res.stderr.strip()[:200]}")
        after = engine.file_sha(host, path)
        if after != entry["sha256_before"]:
            return FileOutcome(host.name, path, "failed",
                               "restored content does not match the backup's checksum")
        return FileOutcome(host.name, path, status)
    except (Unreachable, FactError) as exc:
        return FileOutcome(host.name, path, "failed", str(exc))


def _exists(host, path: str | None) -> bool:
    if not path:
        return False
    return host.run(Command("test -e %s", path)).rc == 0
