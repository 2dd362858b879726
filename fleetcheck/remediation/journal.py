"""The journal of a run's fixes on one host: what is about to happen, written before it
happens, and how far it got. It is what `python -m fleetcheck rollback RUN_ID` reads.

reports/<run-id>/backups/<host>/manifest.json (format 2):

    {"format": 2, "run_id": ..., "host": "web1", "inventory": [...sources of the run],
     "plans": [{"plan": 1, "check_id": "sshd.config", "item": "PermitRootLogin",
                "state": "planned|locked|backed-up|applying|done|failed|cut-off",
                "updated": "2026-11-21T14:05:12Z", "error": null,
                "actions": [{"action": 1, "kind": "WriteFile", "summary": ...,
                             "path": "/etc/ssh/sshd_config", "sha256_before": ...,
                             "sha256_after": ..., "state": "pending|started|done|failed"},
                            ...],
                "on_rollback": [{"kind": "RunCommand", "summary": ..., "command": "sshd -t",
                                 "ok": [0]},
                                {"kind": "Service", "summary": ..., "service": "ssh",
                                 "operation": "reload"}]}],
     "files": [{"plan": 1, "path": ..., "existed": true, "sha256_before": ...,
                "sha256_after": <planned, then as found>, "host_backup": ...,
                "local_backup": ..., "check_id": ..., "backed_up": true}]}

Every change is written whole to a temporary file, fsync'ed, renamed over the
manifest, and the directory fsync'ed, under an flock of the directory (xdist workers
may change the same host: a DNS master). The first write comes before the host's lock
is taken, so after a kill -9, a cut link or a power loss at any later point the
manifest names every file the run may have changed, with the checksum it had and the
one the run meant to give it; rollback restores a file only while it holds one of the
run's checksums.

A copy of the whole manifest is written on the host, next to the backups
(<backup root>/<run-id>/.manifest.json), before the first change and after each plan:
rollback --from-hosts reads it when the controller's manifest is gone.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import posixpath
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleetcheck.facts.base import Command
from fleetcheck.remediation.model import Plan, WriteFile

FORMAT = 2
MANIFEST = "manifest.json"
HOST_MANIFEST = ".manifest.json"

# $1 path on the host, $2 the manifest as base64: atomically, fsync'ed.
HOST_MANIFEST_SCRIPT = r"""set -eu
d=$(dirname -- "$1"); mkdir -p -- "$d"; t="$1.tmp"
trap 'rm -f -- "$t"' EXIT
printf '%s' "$2" | base64 -d > "$t"
sync -- "$t"; mv -f -- "$t" "$1"; trap - EXIT; sync -- "$d"
"""


class JournalError(Exception):
    """The journal could not be written on the controller."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` by `data`: temp file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plan_actions(plan: Plan) -> list[dict[str, Any]]:
    out = []
    for index, action in enumerate(plan.actions, start=1):
        entry: dict[str, Any] = {"action": index, "kind": type(action).__name__,
                                 "summary": action.summary, "state": "pending"}
        if isinstance(action, WriteFile):
            entry.update(path=action.path, sha256_before=action.before_sha256 or "absent",
                         sha256_after=action.after_sha256)
        out.append(entry)
    return out


class Journal:
    """The manifest of one host in one run. `directory` None: kept in memory only (a
    run without a reports directory); `durable` says which."""

    def __init__(self, directory: Path | None, run_id: str, host: str,
                 inventory: list[str] | None = None):
        self.directory = directory
        self.run_id = run_id
        self.host = host
        self.inventory = list(inventory or [])
        self._data = self._empty()

    @property
    def durable(self) -> bool:
        return self.directory is not None

    def _empty(self) -> dict[str, Any]:
        return {"format": FORMAT, "run_id": self.run_id, "host": self.host,
                "inventory": self.inventory, "plans": [], "files": []}

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @contextmanager
    def _locked(self):
        if self.directory is None:
            yield self._data
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / ".manifest.lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise JournalError(f"{self.directory}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self.directory / MANIFEST
            try:
                data = json.loads(path.read_text()) if path.exists() else self._empty()
            except ValueError:
                data = self._empty()   # a manifest of format 1 half-written: start again
            data.setdefault("plans", [])
            data.setdefault("files", [])
            yield data
            try:
                write_atomic(path, json.dumps(data, indent=2).encode())
            except OSError as exc:
                raise JournalError(f"{path}: {exc.strerror}") from None
            self._data = data
        finally:
            os.close(fd)

    def _change(self, fn: Callable[[dict], Any]) -> Any:
        with self._locked() as data:
            return fn(data)

    def _plan(self, data: dict, no: int) -> dict:
        return next(p for p in data["plans"] if p.get("plan") == no)

    def begin(self, plan: Plan, item: str | None, backup_root: str) -> int:
        """Record `plan` as about to be applied; its files with the checksums the
        plan saw and the ones it will write. Returns the plan's number on this host."""
        def add(data):
            no = 1 + max((p.get("plan", 0) for p in data["plans"]), default=0)
            data["plans"].append({"plan": no, "check_id": plan.check_id, "item": item,
                                  "state": "planned", "updated": _now(), "error": None,
                                  "actions": plan_actions(plan),
                                  "on_rollback": [a.to_json() for a in plan.on_rollback]})
            for path in plan.files():
                writes = [a for a in plan.actions
                          if isinstance(a, WriteFile) and a.path == path]
                data["files"].append({
                    "plan": no, "path": path, "existed": writes[0].before is not None,
                    "sha256_before": writes[0].before_sha256 or "absent",
                    "sha256_after": writes[-1].after_sha256,
                    "host_backup": host_backup_path(backup_root, self.run_id, no, path),
                    "local_backup": None, "check_id": plan.check_id, "backed_up": False})
            return no
        return self._change(add)

    def note_pruned(self, run_ids: list[str], days: float) -> None:
        """The host's backups of these runs were removed (older than `days`)."""
        def note(data):
            data.setdefault("pruned_backups", {"older_than_days": days, "runs": []})
            data["pruned_backups"]["runs"] += [r for r in run_ids
                                               if r not in data["pruned_backups"]["runs"]]
        self._change(note)

    def plan_state(self, no: int, state: str, error: str | None = None) -> None:
        def set_state(data):
            entry = self._plan(data, no)
            entry.update(state=state, updated=_now())
            if error is not None:
                entry["error"] = error
        self._change(set_state)

    def action_state(self, no: int, index: int, state: str) -> None:
        def set_state(data):
            entry = self._plan(data, no)
            entry["actions"][index - 1]["state"] = state
            entry.update(state="applying", updated=_now())
        self._change(set_state)

    def set_files(self, no: int, files: list[dict[str, Any]], state: str | None = None) -> None:
        def replace(data):
            data["files"] = [f for f in data["files"] if f.get("plan") != no] + files
            if state:
                self._plan(data, no).update(state=state, updated=_now())
        self._change(replace)

    def files_of(self, no: int) -> list[dict[str, Any]]:
        return [dict(f) for f in self._data["files"] if f.get("plan") == no]

    def plan(self, no: int) -> dict[str, Any]:
        return self._plan(self._data, no)


def host_backup_path(root: str, run_id: str, no: int, path: str) -> str:
    """Where plan `no` of the run keeps the host's copy of `path` (each plan its own,
    so a second plan on the same file never overwrites the first one's backup)."""
    return posixpath.join(root, run_id, str(no), path.lstrip("/"))


def host_manifest_command(root: str, run_id: str, data: dict[str, Any]) -> Command:
    text = base64.b64encode(json.dumps(data, indent=1).encode()).decode("ascii")
    return Command("sh -c %s fleetcheck %s %s", HOST_MANIFEST_SCRIPT,
                   posixpath.join(root, run_id, HOST_MANIFEST), text)


# ------------------------------------------------------------- what the record advises


def touched(plan: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Files whose write started, the other actions that ran, and the other action
    that was running (started, not done) when the fix stopped."""
    files: list[str] = []
    ran: list[str] = []
    running: list[str] = []
    for action in plan["actions"]:
        if action["state"] == "pending":
            continue
        if action["kind"] == "WriteFile":
            if action["path"] not in files:
                files.append(action["path"])
        else:
            (running if action["state"] == "started" else ran).append(action["summary"])
    return files, ran, running


def rollback_advice(run_id: str, files: list[str], durable: bool) -> str:
    shown = ", ".join(files)
    if durable:
        return (f"`python -m fleetcheck rollback {run_id}` restores {len(files)} "
                f"file(s) ({shown})")
    return ("the host was not reached again; files are either as before or as planned "
            f"(atomic writes); check {shown}")


def advice_after_cut(run_id: str, plan: dict[str, Any], durable: bool) -> str:
    """What can be done after the connection was lost (or a command timed out) in the
    middle of `plan` (its journal entry): only what is true."""
    files, ran, running = touched(plan)
    if not (files or ran or running):
        return "nothing was changed"
    note = f"; `{running[-1]}` may or may not have run" if running else ""
    if not files:
        return "no file was changed" + note
    if durable:
        return ("files are as before or as planned (atomic writes): "
                + rollback_advice(run_id, files, durable) + note)
    return rollback_advice(run_id, files, durable) + note


def advice_after_failure(run_id: str, plan: dict[str, Any], restored: list[str],
                         not_restored: dict[str, str], durable: bool) -> str:
    """What can be done after an action failed and the plan's files were restored."""
    files = touched(plan)[0]
    if not_restored:
        left = [p for p in files if p in not_restored] or list(not_restored)
        return (f"restoring {', '.join(left)} failed ("
                + "; ".join(not_restored[p] for p in left) + "): "
                + rollback_advice(run_id, left, durable))
    if not files:
        return "nothing was changed"
    return f"the plan's files were restored ({', '.join(restored or files)})"
