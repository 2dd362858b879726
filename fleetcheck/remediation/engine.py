"""Apply a Plan to a host: lock, back up, change atomically, restore on failure.

Everything runs on the host through FleetHost.run(Command): one quoting helper, every
value passed as an argument of `sh -c SCRIPT NAME ARG...`, never pasted into a script.
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetcheck.connection import Unreachable
from fleetcheck.facts.base import Command, FactError
from fleetcheck.remediation.model import Plan, RunCommand, Service, WriteFile, b64, sha256

# Both can be moved per host with the vars fleetcheck_lock_dir / fleetcheck_backup_dir.
LOCK_DIR = "/run/fleetcheck.lock"
HOST_BACKUP_ROOT = "/var/backups/fleetcheck"


def lock_dir(host) -> str:
    return str(host.vars.get("fleetcheck_lock_dir", LOCK_DIR))

# $1 path, $2 base64 content, $3 mode or "", $4 owner[:group] or "", $5 expected sha256
# of the current file ("absent" for none). Temp file in the same directory, fsync,
# rename; mode and owner kept from the file it replaces.
WRITE_SCRIPT = r"""set -eu
d=$(dirname -- "$1")
cur=absent; [ -e "$1" ] && cur=$(sha256sum -- "$1" | cut -c1-64)
[ "$cur" = "$5" ] || { echo "$1 changed since the plan was made" >&2; exit 9; }
t=$(mktemp -- "$d/.fleetcheck.XXXXXX")
trap 'rm -f -- "$t"' EXIT
printf '%s' "$2" | base64 -d > "$t"
if [ -e "$1" ]; then chmod --reference="$1" -- "$t"; chown --reference="$1" -- "$t"
else chmod 0644 -- "$t"; fi
[ -z "$3" ] || chmod -- "$3" "$t"
[ -z "$4" ] || chown -- "$4" "$t"
sync -- "$t"
mv -f -- "$t" "$1"
trap - EXIT
sync -- "$d"
sha256sum -- "$1" | cut -c1-64
"""

# $1 path, $2 backup path: restore atomically (copy beside, then rename).
RESTORE_SCRIPT = r"""set -eu
if [ -e "$2" ]; then
  cp -a -- "$2" "$1.fleetcheck-restore" && mv -f -- "$1.fleetcheck-restore" "$1"
else
  rm -f -- "$1"
fi
"""

# $1 lock dir, $2 owner text
LOCK_SCRIPT = r"""mkdir -- "$1" 2>/dev/null || { cat -- "$1/owner" 2>/dev/null; exit 75; }
printf '%s\n' "$2" > "$1/owner"
"""


class ApplyFailed(Exception):
    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details or {}


@dataclass
class ApplyContext:
    run_id: str
    backups_dir: Path | None        # reports/<run-id>/backups/<host>
    lock_timeout: float = 30.0


@dataclass
class ApplyResult:
    backups: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def sh(script: str, *args: Any) -> Command:
    return Command("sh -c %s fleetcheck" + " %s" * len(args), script, *args)


def file_sha(host, path: str) -> str:
    res = host.run(Command("sha256sum -- %s 2>/dev/null | cut -c1-64 || true", path))
    return res.stdout.strip() or "absent"


def acquire_lock(host, ctx: ApplyContext) -> None:
    owner = f"run {ctx.run_id} pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
    deadline = time.monotonic() + ctx.lock_timeout
    while True:
        res = host.run(sh(LOCK_SCRIPT, lock_dir(host), owner))
        if res.rc == 0:
            return
        if res.rc != 75:
            raise ApplyFailed(f"cannot take the lock {lock_dir(host)}: {res.stderr.strip()}")
        if res.stdout.startswith(f"run {ctx.run_id} "):
            # Left by this same run when its connection was cut (a rollback of that
            # run, or its retry): take it over.
            host.run(sh('printf "%s\n" "$2" > "$1/owner"', lock_dir(host), owner))
            return
        if time.monotonic() >= deadline:
            held = res.stdout.strip() or "an unknown run"
            raise ApplyFailed(
                f"host is locked by another fleetcheck run ({held}); waited "
                f"{ctx.lock_timeout:g}s. If no run is active, remove {lock_dir(host)} on the host.")
        time.sleep(1.0)


def release_lock(host) -> None:
    try:
        host.run(Command("rm -rf -- %s", lock_dir(host)))
    except Exception:  # noqa: BLE001 - a lost connection must not hide the real error
        pass


def apply(plan: Plan, host, ctx: ApplyContext) -> ApplyResult:
    """Apply `plan` on `host` (a FleetHost). Raises ApplyFailed with what went wrong;
    when an action fails, the plan's files are restored first."""
    result = ApplyResult()
    acquire_lock(host, ctx)
    try:
        backups = _backup(plan, host, ctx, result)
        for index, action in enumerate(plan.actions, start=1):
            try:
                _run_action(action, host)
            except ApplyFailed as exc:
                restored = _restore(host, backups)
                exc.details.update(action=index, summary=action.summary, restored=restored)
                raise
            result.steps.append(action.summary)
        for entry in result.backups:
            entry["sha256_after"] = file_sha(host, entry["path"])
        _write_manifest(ctx, plan, result.backups)
        return result
    except Unreachable as exc:
        _write_manifest(ctx, plan, result.backups)
        raise ApplyFailed(
            f"connection lost during the fix ({exc}); files are as before or as planned "
            f"(atomic writes); `python -m fleetcheck rollback {ctx.run_id}` restores",
            {"steps_done": list(result.steps)}) from None
    finally:
        release_lock(host)


def _backup(plan: Plan, host, ctx: ApplyContext, result: ApplyResult) -> list[dict]:
    # What each file will hold once the plan is through: a rollback after a cut
    # connection accepts it as "what the run wrote".
    planned = {a.path: a.after_sha256 for a in plan.actions if isinstance(a, WriteFile)}
    entries = []
    for path in plan.files():
        root = str(host.vars.get("fleetcheck_backup_dir", HOST_BACKUP_ROOT))
        backup = posixpath.join(root, ctx.run_id, path.lstrip("/"))
        script = ('set -eu; mkdir -p -- "$(dirname -- "$2")"; '
                  'if [ -e "$1" ]; then cp -a -- "$1" "$2"; base64 -w0 -- "$1"; fi')
        res = host.run(sh(script, path, backup))
        if res.rc != 0:
            raise ApplyFailed(f"backup of {path} failed: {res.stderr.strip()}",
                              {"command": f"cp -a {path} {backup}", "rc": res.rc})
        existed = bool(res.stdout.strip())
        content = base64.b64decode(res.stdout.strip()) if existed else None
        entry = {"path": path, "existed": existed, "host_backup": backup if existed else None,
                 "sha256_before": sha256(content) if existed else "absent",
                 "sha256_after": planned.get(path), "check_id": plan.check_id}
        if ctx.backups_dir is not None and existed:
            local = ctx.backups_dir / "files" / path.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(content)
            entry["local_backup"] = str(local)
        entries.append(entry)
        result.backups.append(entry)
    return entries


def _run_action(action, host) -> None:
    if isinstance(action, WriteFile):
        owner = action.owner + (f":{action.group}" if action.group else "") if action.owner else ""
        mode = f"{action.mode:o}" if action.mode is not None else ""
        command = sh(WRITE_SCRIPT, action.path, b64(action.content), mode, owner,
                     action.before_sha256 or "absent")
        ok = (0,)
    elif isinstance(action, RunCommand):
        command, ok = action.command, action.ok
    elif isinstance(action, Service):
        command, ok = service_command(host, action.name, action.operation), (0,)
    else:  # pragma: no cover - a new Action kind without an executor
        raise ApplyFailed(f"no executor for {type(action).__name__}")
    res = host.run(command)
    if res.rc not in ok:
        raise ApplyFailed(
            f"`{action.summary}` failed: exit {res.rc}: {res.stderr.strip()[-300:]}",
            {"command": res.command if not isinstance(action, WriteFile) else
             f"atomic write of {action.path}", "rc": res.rc, "stderr": res.stderr[-2000:]})
    if isinstance(action, WriteFile) and res.stdout.strip() != action.after_sha256:
        raise ApplyFailed(f"{action.path}: written content does not verify "
                          f"(sha256 {res.stdout.strip()[:12]}...)", {"rc": res.rc})


def service_command(host, name: str, operation: str) -> Command:
    """systemd when the host runs it, else SysV `service` / update-rc.d."""
    init = host.facts.get("init").system
    if init == "systemd":
        return Command("systemctl %s -- %s", operation, name)
    if operation == "enable":
        return Command("update-rc.d %s enable", name)
    return Command("service %s %s", name, operation)


def _restore(host, backups: list[dict]) -> list[str]:
    restored = []
    for entry in backups:
        try:
            res = host.run(sh(RESTORE_SCRIPT, entry["path"], entry["host_backup"] or ""))
        except (Unreachable, FactError):
            continue
        if res.rc == 0:
            restored.append(entry["path"])
    return restored


def _write_manifest(ctx: ApplyContext, plan: Plan, entries: list[dict]) -> None:
    if ctx.backups_dir is None or not entries:
        return
    path = ctx.backups_dir / "manifest.json"
    data = json.loads(path.read_text()) if path.exists() else {"run_id": ctx.run_id,
                                                              "files": []}
    data["files"].extend(entries)
    ctx.backups_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)

