"""Apply a Plan to a host: journal, lock, back up, change atomically, restore on failure.

Everything runs on the host through FleetHost.run(Command): one quoting helper, every
value passed as an argument of `sh -c SCRIPT NAME ARG...`, never pasted into a script.

The order on a host, each step written to the journal (fleetcheck.remediation.journal)
before the next one starts: the plan with its checksums (before anything touches the
host), the lock (fleetcheck.remediation.lock), a backup of every file (on the host and
on the controller) and the host's own manifest, then each action (started, done).
A broken connection or a command that times out during any of it is a lost
connection: the host is not touched again by this run, and the record says what
rollback can do. An action that fails restores the plan's files.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetcheck import values
from fleetcheck.connect.failures import Unreachable
from fleetcheck.facts.base import Command, FactError
from fleetcheck.remediation import journal as journals
from fleetcheck.remediation.lock import HostLock, LockError, lease_for, sh
from fleetcheck.remediation.model import Plan, RunCommand, Service, WriteFile, b64, sha256

# Can be moved per host with the var fleetcheck_backup_dir (the lock: fleetcheck_lock_dir).
HOST_BACKUP_ROOT = "/var/backups/fleetcheck"

# $1 path, $2 base64 content, $3 mode or "", $4 owner[:group] or "", $5 expected sha256
# of the current file ("absent" for none), $6 test-only pause file or "" (see
# crash_point). Temp file in the same directory, fsync, rename; mode and owner kept
# from the file it replaces. Temp files of an interrupted earlier write (the host
# lock is held: no other fleetcheck writes here now) are removed first.
WRITE_SCRIPT = r"""set -eu
d=$(dirname -- "$1")
rm -f -- "$d"/.fleetcheck.tmp.?????? "$1.fleetcheck-restore"
cur=absent; [ -e "$1" ] && cur=$(sha256sum -- "$1" | cut -c1-64)
[ "$cur" = "$5" ] || { echo "$1 changed since the plan was made" >&2; exit 9; }
t=$(mktemp -- "$d/.fleetcheck.tmp.XXXXXX")
trap 'rm -f -- "$t"' EXIT
printf '%s' "$2" | base64 -d > "$t"
if [ -e "$1" ]; then chmod --reference="$1" -- "$t"; chown --reference="$1" -- "$t"
else chmod 0644 -- "$t"; fi
[ -z "$3" ] || chmod -- "$3" "$t"
[ -z "$4" ] || chown -- "$4" "$t"
sync -- "$t"
if [ -n "${6:-}" ]; then
  echo $$ > "$6"; n=0
  while [ -e "$6" ] && [ $n -lt 2400 ]; do sleep 0.05; n=$((n+1)); done
fi
mv -f -- "$t" "$1"
trap - EXIT
sync -- "$d"
sha256sum -- "$1" | cut -c1-64
"""

# $1 path, $2 backup path or "" (the file did not exist): restore atomically (copy
# beside, fsync, rename); the copy is removed when any step fails.
RESTORE_SCRIPT = r"""set -eu
t="$1.fleetcheck-restore"
if [ -n "$2" ] && [ -e "$2" ]; then
  trap 'rm -f -- "$t"' EXIT
  cp -a -- "$2" "$t"
  sync -- "$t"
  mv -f -- "$t" "$1"
  trap - EXIT
else
  [ -z "$2" ] || { echo "backup $2 is missing" >&2; exit 3; }
  rm -f -- "$1"
fi
rm -f -- "$(dirname -- "$1")"/.fleetcheck.tmp.??????
sync -- "$(dirname -- "$1")"
"""

# $1 path, $2 backup path: copy the file (when it exists) and print it as base64.
# Prints "present:" then the file's base64 (empty for an empty file), or nothing for no
# file: an empty file is backed up and restored as the empty file it is.
BACKUP_SCRIPT = ('set -eu; mkdir -p -- "$(dirname -- "$2")"; '
                 'if [ -e "$1" ]; then cp -a -- "$1" "$2"; sync -- "$2"; printf present:; '
                 'base64 -w0 -- "$1"; fi')


# $1 the backup root, $2 the oldest run id kept (its time part), $3 this run's id: each
# run directory of the root named as fleetcheck names runs and older than $2 is removed
# (never this run's), and named on stdout. expr compares the x-prefixed times as text.
PRUNE_SCRIPT = r"""set -u
[ -d "$1" ] || exit 0
for d in "$1"/*/; do
  d=${d%/}; d=${d##*/}
  case "$d" in
    [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;;
    *) continue ;;
  esac
  [ "$d" = "$3" ] && continue
  [ "$(expr "x${d%%-*}" \< "x$2")" = 1 ] || continue
  rm -rf -- "$1/$d" && echo "$d"
done
"""
_PRUNED: set[tuple[str, str]] = set()   # (run id, host) whose old backups were pruned


def prune_backups(host, ctx: ApplyContext, journal) -> list[str]:
    """Once per host and run, under the host's lock: remove its backups of runs older
    than ctx.keep_backups days (0: never), and say so in the run's journal (its
    `pruned_backups`, on the controller and on the host)."""
    if ctx.keep_backups <= 0 or (ctx.run_id, host.name) in _PRUNED:
        return []
    _PRUNED.add((ctx.run_id, host.name))
    cut = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - ctx.keep_backups * 86400))
    res = remote(host, sh(PRUNE_SCRIPT, values.path(backup_root(host), "fleetcheck_backup_dir"),
                          cut, ctx.run_id))
    pruned = [ln for ln in res.stdout.split() if ln]
    if pruned:
        journal.note_pruned(pruned, ctx.keep_backups)
    return pruned


class ApplyFailed(Exception):
    def __init__(self, message: str, details: dict[str, Any] | None = None, cut: bool = False):
        super().__init__(message)
        self.details = details or {}
        self.cut = cut          # the connection was lost: do not touch the host again


class _Cut(Exception):
    """The connection to the host was lost, or a command timed out, mid-fix."""


@dataclass
class ApplyContext:
    run_id: str
    backups_dir: Path | None        # reports/<run-id>/backups/<host>
    lock_timeout: float = 30.0
    item: str | None = None
    inventory: list[str] = field(default_factory=list)
    keep_backups: float = 0.0       # days; older backups on the host are pruned (0: never)


@dataclass
class ApplyResult:
    backups: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)     # run ids of backups removed


def backup_root(host) -> str:
    return str(host.vars.get("fleetcheck_backup_dir", HOST_BACKUP_ROOT))


def remote(host, command: Command):
    """host.run, with a lost connection or a timed-out command (FactError: FleetHost.run
    raises it for nothing else without `ok`) turned into _Cut."""
    try:
        return host.run(command)
    except (Unreachable, FactError) as exc:
        raise _Cut(str(exc)) from None


def file_sha(host, path: str) -> str:
    res = host.run(Command("sha256sum -- %s 2>/dev/null | cut -c1-64 || true", path))
    return res.stdout.strip() or "absent"


def crash_point(name: str) -> str:
    """TEST ONLY, off unless FLEETCHECK_CRASH_AT names this point: pause the fix here
    so a test can kill the controller or cut the link at a known step. The pause file
    FLEETCHECK_CRASH_PAUSE is created, then waited on until the test removes it (2 min
    at most). Points: locked, backed-up, mid-write (inside the first file write, on
    the host: the pause file is the host's; returned for the write script),
    after-action-N. Returns "" unless the point is mid-write."""
    if os.environ.get("FLEETCHECK_CRASH_AT") != name:
        return ""
    pause = os.environ.get("FLEETCHECK_CRASH_PAUSE", "")
    if name == "mid-write" or not pause:
        return pause
    Path(pause).touch()
    deadline = time.monotonic() + 120
    while Path(pause).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return ""


def apply(plan: Plan, host, ctx: ApplyContext) -> ApplyResult:
    """Apply `plan` on `host` (a FleetHost). Raises ApplyFailed with what went wrong and
    what can be done; when an action fails, the plan's files are restored first."""
    result = ApplyResult()
    commands = _commands(plan, host)
    journal = journals.Journal(ctx.backups_dir, ctx.run_id, host.name, ctx.inventory)
    root = backup_root(host)
    try:
        no = journal.begin(plan, ctx.item, root)
    except journals.JournalError as exc:
        raise ApplyFailed(f"cannot write the journal ({exc}): nothing was changed") from None
    lock = HostLock(host, ctx.run_id, ctx.lock_timeout,
                    lease_for(ctx.lock_timeout, getattr(host, "command_timeout", 60.0)),
                    run=lambda command: remote(host, command))
    step = "taking the lock"
    try:
        result.warnings += lock.acquire()
        journal.plan_state(no, "locked")
        crash_point("locked")
        step = "pruning old backups"
        result.pruned = prune_backups(host, ctx, journal)
        step = "the backup"
        try:
            result.backups = _backup(host, ctx, journal, no)
        except ApplyFailed as exc:
            _note(journal, no, "failed", str(exc))
            exc.details.update(advice="nothing was changed", warnings=result.warnings)
            raise ApplyFailed(f"{exc}; nothing was changed", exc.details) from None
        remote(host, journals.host_manifest_command(root, ctx.run_id, journal.data))
        crash_point("backed-up")
        for index, (action, command, ok) in enumerate(commands, start=1):
            step = f"`{action.summary}`"
            lock.beat()
            journal.action_state(no, index, "started")
            try:
                _run_action(action, command, ok, host)
            except ApplyFailed as exc:
                journal.action_state(no, index, "failed")
                exc.details.update(action=index, summary=action.summary)
                raise _restore_after(exc, host, lock, journal, no, ctx, result) from None
            journal.action_state(no, index, "done")
            result.steps.append(action.summary)
            crash_point(f"after-action-{index}")
        step = "the check of the written files"
        files = journal.files_of(no)
        for entry in files:
            entry["sha256_after"] = remote(host, Command(
                "sha256sum -- %s 2>/dev/null | cut -c1-64 || true", entry["path"])
            ).stdout.strip() or "absent"
        journal.set_files(no, files, state="done")
        result.backups = files
        remote(host, journals.host_manifest_command(root, ctx.run_id, journal.data))
        lock.release()
        return result
    except _Cut as exc:
        lock.held = False   # the host is not touched again: its lock is left, taken over later
        raise _cut_off(exc, step, journal, no, ctx, result) from None
    except LockError as exc:
        # not had, or (mid-fix) taken over by another run: leave its files alone
        _note(journal, no, "failed", str(exc))
        files = _touched_files(journal, no)
        advice = (journals.rollback_advice(ctx.run_id, files, journal.durable) if files
                  else "nothing was changed")
        raise ApplyFailed(str(exc) if not files else f"{exc} during {step}; {advice}",
                          {"advice": advice, "warnings": result.warnings}) from None
    except journals.JournalError as exc:   # the controller's disk: stop, put the files back
        failure = ApplyFailed(f"cannot write the journal ({exc}) during {step}")
        raise _restore_after(failure, host, lock, journal, no, ctx, result) from None
    finally:
        if lock.held:
            try:
                lock.release()
            except _Cut:
                pass


def _note(journal, no: int, state: str, error: str) -> None:
    try:
        journal.plan_state(no, state, error)
    except journals.JournalError:
        pass   # the entry written before the first change is what rollback needs


def _touched_files(journal, no: int) -> list[str]:
    return journals.touched(journal.plan(no))[0]


def _restore_after(exc: ApplyFailed, host, lock: HostLock, journal, no: int,
                   ctx: ApplyContext, result: ApplyResult) -> ApplyFailed:
    """An action failed: put the plan's files back and say what is left to do."""
    restored, failed, cut = _restore(host, journal.files_of(no))
    if cut:
        lock.held = False
    _note(journal, no, "failed" if not failed else "failed, not restored", str(exc))
    advice = journals.advice_after_failure(ctx.run_id, journal.plan(no), restored, failed,
                                           journal.durable)
    exc.details.update(restored=restored, advice=advice, warnings=result.warnings)
    if failed:
        exc.details["restore_failed"] = failed
    if cut:
        exc.details["lost"] = next(iter(failed.values()))
    return ApplyFailed(f"{exc}; {advice}", exc.details, cut=cut)


def _cut_off(exc: _Cut, step: str, journal, no: int, ctx: ApplyContext,
             result: ApplyResult) -> ApplyFailed:
    advice = journals.advice_after_cut(ctx.run_id, journal.plan(no), journal.durable)
    _note(journal, no, "cut-off", f"connection lost during {step}: {exc}")
    return ApplyFailed(f"connection lost during {step} ({exc}); {advice}",
                       {"steps_done": list(result.steps), "advice": advice, "lost": str(exc),
                        "warnings": result.warnings}, cut=True)


def _commands(plan: Plan, host) -> list[tuple[Any, Command, tuple[int, ...]]]:
    """Every action's command, before anything changes (a service action reads the
    host's init system: an error here is a clear one, with nothing changed)."""
    out = []
    first_write = True
    for action in plan.actions:
        if isinstance(action, WriteFile):
            owner = action.owner + (f":{action.group}" if action.group else "") \
                if action.owner else ""
            mode = f"{action.mode:o}" if action.mode is not None else ""
            pause = crash_point("mid-write") if first_write else ""
            first_write = False
            out.append((action, sh(WRITE_SCRIPT, action.path, b64(action.content), mode,
                                   owner, action.before_sha256 or "absent", pause), (0,)))
        elif isinstance(action, RunCommand):
            out.append((action, action.command, action.ok))
        elif isinstance(action, Service):
            try:
                command = service_command(host, action.name, action.operation)
            except (FactError, Unreachable) as exc:
                raise ApplyFailed(f"`{action.summary}`: cannot tell the host's init system "
                                  f"({exc}); nothing was changed") from None
            out.append((action, command, (0,)))
        else:  # pragma: no cover - a new Action kind without an executor
            raise ApplyFailed(f"no executor for {type(action).__name__}; nothing was changed")
    return out


def _backup(host, ctx: ApplyContext, journal, no: int) -> list[dict]:
    """Copy every file of plan `no` beside the run's other backups on the host (and to
    the controller), and note in the journal what each held."""
    entries = []
    for entry in journal.files_of(no):
        path, backup = entry["path"], entry["host_backup"]
        res = remote(host, sh(BACKUP_SCRIPT, path, backup))
        if res.rc != 0:
            raise ApplyFailed(f"backup of {path} failed: {res.stderr.strip()}",
                              {"command": f"cp -a {path} {backup}", "rc": res.rc})
        out = res.stdout.strip()
        existed = out.startswith("present:")
        content = base64.b64decode(out[len("present:"):]) if existed else None
        entry.update(existed=existed, host_backup=backup if existed else None,
                     sha256_before=sha256(content) if existed else "absent", backed_up=True)
        if ctx.backups_dir is not None and existed:
            local = ctx.backups_dir / "files" / str(no) / path.lstrip("/")
            try:
                local.parent.mkdir(parents=True, exist_ok=True)
                journals.write_atomic(local, content)
            except OSError as exc:
                raise journals.JournalError(f"{local}: {exc.strerror}") from None
            entry["local_backup"] = str(local)
        entries.append(entry)
    journal.set_files(no, entries, state="backed-up")
    return entries


def _run_action(action, command: Command, ok: tuple[int, ...], host) -> None:
    res = remote(host, command)
    if res.rc not in ok:
        raise ApplyFailed(
            f"`{action.summary}` failed: exit {res.rc}: {res.stderr.strip()[-300:]}",
            {"command": res.command if not isinstance(action, WriteFile) else
             f"atomic write of {action.path}", "rc": res.rc, "stderr": res.stderr[-2000:]})
    if isinstance(action, WriteFile) and res.stdout.strip() != action.after_sha256:
        raise ApplyFailed(f"{action.path}: written content does not verify "
                          f"(sha256 {res.stdout.strip()[:12]}...)", {"rc": res.rc})


SERVICE_OPERATIONS = ("start", "stop", "reload", "restart", "enable", "disable")


def service_command(host, name: str, operation: str) -> Command:
    """systemd when the host runs it, else SysV `service` / update-rc.d."""
    # The second check of the name (the first is at load: the `services` var), so no
    # name reaches `service` or update-rc.d as an option or as a path ('..').
    try:
        values.unit(name, "the service name")
    except values.UnsafeValue as exc:
        raise ApplyFailed(str(exc)) from None
    if operation not in SERVICE_OPERATIONS:
        raise ApplyFailed(f"unknown service operation {values.shown(operation)}")
    init = host.facts.get("init").system
    if init == "systemd":
        return Command("systemctl %s -- %s", operation, name)
    if operation in ("enable", "disable"):   # SysV: the rc links, not the script
        return Command("update-rc.d %s %s", name, operation)
    return Command("service %s %s", name, operation)


def _restore(host, entries: list[dict]) -> tuple[list[str], dict[str, str], bool]:
    """Put the plan's backed-up files back: the paths restored, why each other one was
    not (a restore that fails says so), and whether the connection was lost."""
    restored: list[str] = []
    failed: dict[str, str] = {}
    cut = False
    for entry in entries:
        if not entry.get("backed_up"):
            continue
        if cut:
            failed[entry["path"]] = "connection lost"
            continue
        try:
            res = remote(host, sh(RESTORE_SCRIPT, entry["path"], entry["host_backup"] or ""))
        except _Cut as exc:
            failed[entry["path"]] = f"connection lost: {exc}"
            cut = True
            continue
        if res.rc == 0:
            restored.append(entry["path"])
        else:
            failed[entry["path"]] = f"exit {res.rc}: {res.stderr.strip()[-200:]}"
    return restored, failed, cut
