"""`python -m fleetcheck rollback RUN_ID`: put back every file a run changed, then the
runtime state its fixes changed, as each fix declared (Plan.on_rollback: the old
sysctl value set again, sshd validated and reloaded from the restored file, smbd
reload-config, ganesha SIGHUP, rndc reload, a started service stopped), and say
precisely what it did not restore: a fix that ran commands and declares nothing to
undo them, or one whose files could not be restored (its commands are then not run).

The run's journals (reports/<run-id>/backups/<host>/manifest.json, see
fleetcheck.remediation.journal) say, per file, its checksum before the run, what the
run meant to write, and where the backups are. They are written before the first
change on a host, so a run killed, cut off or powered down at any point can be rolled
back. A file is restored only while it holds what it held before the run (nothing to
do) or one of the checksums the run could have left; a file changed again since is
refused (unless --force), so a rollback never silently undoes somebody else's change.

With --from-hosts, a selected host the controller has no journal for is asked for its
own copy (<backup root>/<run-id>/.manifest.json, next to its backups): the controller's
reports may be lost, the host's backups and manifest are still there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fleetcheck.connect.failures import Unreachable
from fleetcheck.facts.base import Command, FactError
from fleetcheck.remediation import engine
from fleetcheck.remediation.journal import HOST_MANIFEST, MANIFEST
from fleetcheck.remediation.lock import HostLock, LockError, lease_for, sh
from fleetcheck.remediation.model import b64

# $1 path: remove what an interrupted write or restore left beside it.
CLEAN_SCRIPT = 'rm -f -- "$(dirname -- "$1")"/.fleetcheck.tmp.?????? "$1.fleetcheck-restore"'


@dataclass
class FileOutcome:
    host: str
    path: str
    status: str      # restored | removed | refused | failed | unchanged; for a fix's
    #                  runtime state (path: its check id[item]): ran | failed | not run |
    #                  not undone
    detail: str = ""

    @property
    def ok(self) -> bool:
        # "not undone": a fix ran commands and declares nothing to undo them (a
        # validation, say); said, but no failure of the rollback: its files are back
        return self.status in ("restored", "removed", "unchanged", "ran", "not undone")


def written(plans: list[dict] | None) -> set[tuple[int, str]] | None:
    """(plan, path) of every file write a journal says was started (None: a journal
    of format 1, which does not say)."""
    if plans is None:
        return None
    return {(p["plan"], a["path"]) for p in plans for a in p.get("actions", [])
            if a.get("kind") == "WriteFile" and a.get("state", "pending") != "pending"}


def merge(files: list[dict], plans: list[dict] | None = None) -> list[dict]:
    """One entry per path from a journal's file entries: the state before the run's
    first change of it (and that change's backups), and every checksum the run may
    have left it with (each plan's planned or found result, each later plan's start).
    Left out: entries never backed up and (with the journal's `plans`) files whose
    write never started: the run did not change them."""
    started = written(plans)
    files = [f for f in files if f.get("backed_up", True)
             and (started is None or (f.get("plan"), f["path"]) in started)]
    by_path: dict[str, list[dict]] = {}
    for entry in files:
        by_path.setdefault(entry["path"], []).append(entry)
    out = []
    for path, entries in by_path.items():
        entries.sort(key=lambda e: e.get("plan", 0))
        first = dict(entries[0])
        first["sha256_after"] = entries[-1].get("sha256_after")
        states = {e.get("sha256_after") for e in entries}
        states |= {e.get("sha256_before") for e in entries[1:]}
        first["run_sha256"] = sorted(s for s in states
                                     if s and s != first["sha256_before"])
        out.append(first)
    return out


def load_journals(run_dir: Path) -> dict[str, dict]:
    """host -> its journal (manifest) of the run, from the controller's reports."""
    out: dict[str, dict] = {}
    for manifest in sorted((run_dir / "backups").glob(f"*/{MANIFEST}")):
        try:
            out[manifest.parent.name] = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
    return out


def load_manifests(run_dir: Path) -> dict[str, list[dict]]:
    """host -> merged entries, from the controller's journals of the run."""
    return {host: merge(data.get("files", []), data.get("plans"))
            for host, data in load_journals(run_dir).items()}


def changed_runtime(plans: list[dict] | None) -> list[dict]:
    """The plans of a journal that ran something besides writing files."""
    return [p for p in plans or [] if any(
        a.get("kind") != "WriteFile" and a.get("state", "pending") != "pending"
        for a in p.get("actions", []))]


def run_inventory(run_dir: Path) -> list[str] | None:
    """The inventories the run read: its results.json, else (a run that did not get
    to write it) its journals."""
    try:
        return json.loads((run_dir / "results.json").read_text())["run"]["inventory"]
    except (OSError, KeyError, ValueError):
        pass
    for manifest in sorted((run_dir / "backups").glob(f"*/{MANIFEST}")):
        try:
            inventory = json.loads(manifest.read_text()).get("inventory")
        except (OSError, ValueError):
            continue
        if inventory:
            return inventory
    return None


def host_journal(host, run_id: str) -> dict | None:
    """The host's own manifest of the run, None without one."""
    path = f"{engine.backup_root(host)}/{run_id}/{HOST_MANIFEST}"
    res = host.run(Command("cat -- %s", path))
    if res.rc != 0:
        return None
    try:
        data = json.loads(res.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def host_manifest(host, run_id: str) -> list[dict] | None:
    """The merged entries of the host's own manifest of the run, None without one."""
    data = host_journal(host, run_id)
    return None if data is None else merge(data.get("files", []), data.get("plans"))


def rollback_host(host, entries: list[dict], run_id: str, force: bool,
                  lock_timeout: float = 30.0,
                  warn: Callable[[str], None] | None = None,
                  plans: list[dict] | None = None) -> list[FileOutcome]:
    """Restore the files of `entries`, then (with the journal's `plans`) the runtime
    state the run's fixes changed, as each declared it."""
    lock = HostLock(host, run_id, lock_timeout,
                    lease_for(lock_timeout, getattr(host, "command_timeout", 60.0)))
    try:
        for warning in lock.acquire():
            if warn is not None:
                warn(warning)
    except (LockError, Unreachable, FactError) as exc:
        return ([FileOutcome(host.name, e["path"], "failed", str(exc)) for e in entries]
                + [FileOutcome(host.name, _label(p), "not run", str(exc))
                   for p in changed_runtime(plans)])
    try:
        outcomes = [_rollback_file(host, entry, force) for entry in entries]
        if plans:
            outcomes += restore_runtime(host, plans, outcomes)
        return outcomes
    finally:
        try:
            lock.release()
        except (Unreachable, FactError):
            pass


def _rollback_file(host, entry: dict, force: bool) -> FileOutcome:
    path = entry["path"]
    try:
        current = engine.file_sha(host, path)
        if current == entry["sha256_before"]:
            host.run(sh(CLEAN_SCRIPT, path))
            return FileOutcome(host.name, path, "unchanged", "already as before the run")
        ours = set(entry.get("run_sha256") or []) | {entry.get("sha256_after")}
        if current not in ours and not force:
            return FileOutcome(host.name, path, "refused",
                               "changed since the run (sha256 "
                               f"{current[:12]} is neither before nor after it); "
                               "--force to restore anyway")
        if not entry["existed"]:
            res = host.run(sh(engine.RESTORE_SCRIPT, path, ""))
            status = "removed"
        elif _exists(host, entry.get("host_backup")):
            res = host.run(sh(engine.RESTORE_SCRIPT, path, entry["host_backup"]))
            status = "restored"
        elif entry.get("local_backup") and Path(entry["local_backup"]).exists():
            content = Path(entry["local_backup"]).read_bytes()
            res = host.run(sh(engine.WRITE_SCRIPT, path, b64(content), "", "", current, ""))
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


def _label(plan: dict) -> str:
    item = plan.get("item")
    return plan.get("check_id", "?") + (f"[{item}]" if item else "")


def restore_runtime(host, plans: list[dict], files: list[FileOutcome]) -> list[FileOutcome]:
    """After the files: each plan's `on_rollback` commands (the last plan first, a
    command another plan already ran once is not run again), for every plan that ran
    something and whose files are back. A plan whose file was not restored has its
    commands not run; a plan that ran commands and declares nothing to undo them is
    reported as not restored. One outcome per plan."""
    by_path = {o.path: o for o in files}
    done: set[str] = set()
    out = []
    for plan in sorted(plans, key=lambda p: p.get("plan", 0), reverse=True):
        started = [a for a in plan.get("actions", []) if a.get("state", "pending") != "pending"]
        if not started:
            continue
        label = _label(plan)
        paths = [a["path"] for a in started if a.get("kind") == "WriteFile"]
        ran = [a["summary"] for a in started if a.get("kind") != "WriteFile"]
        steps = plan.get("on_rollback") or []
        if not steps:
            if ran:
                out.append(FileOutcome(host.name, label, "not undone", "the fix ran "
                                       + ", ".join(f"`{r}`" for r in ran)
                                       + " and declares nothing to undo it: check by hand"))
            continue
        left = [p for p in paths if p in by_path and not by_path[p].ok]
        if left:
            out.append(FileOutcome(host.name, label, "not run",
                                   f"{', '.join(left)} not restored, so not run: "
                                   + ", ".join(f"`{a['summary']}`" for a in steps)))
            continue
        out.append(_run_steps(host, label, [a for a in steps if _key(a) not in done], done))
    return out


def _key(step: dict) -> str:
    return json.dumps({k: v for k, v in step.items() if k != "summary"}, sort_keys=True)


def _run_steps(host, label: str, steps: list[dict], done: set[str]) -> FileOutcome:
    ran: list[str] = []
    for step in steps:
        try:
            if step.get("kind") == "Service":
                command = engine.service_command(host, step["service"], step["operation"])
                ok = [0]
            else:
                command, ok = Command(step["command"]), step.get("ok") or [0]
            res = host.run(command)
        except (engine.ApplyFailed, Unreachable, FactError, KeyError) as exc:
            res, why = None, str(exc)
        else:
            why = "" if res.rc in ok else f"exit {res.rc}: {res.stderr.strip()[-200:]}"
        if why:
            rest = [f"`{s['summary']}`" for s in steps[steps.index(step) + 1:]]
            return FileOutcome(host.name, label, "failed",
                               "; ".join([f"ran {', '.join(ran)}"] if ran else [])
                               + ("; " if ran else "") + f"`{step['summary']}` failed ({why})"
                               + (f"; not run: {', '.join(rest)}" if rest else ""))
        done.add(_key(step))
        ran.append(f"`{step['summary']}`")
    if not ran:
        return FileOutcome(host.name, label, "ran", "its commands already ran for another fix")
    return FileOutcome(host.name, label, "ran", ", ".join(ran))


def _exists(host, path: str | None) -> bool:
    if not path:
        return False
    return host.run(Command("test -e %s", path)).rc == 0


def main(args: argparse.Namespace) -> int:
    """The command: 0 when every file is back (or was never changed) and every
    declared after-restore command ran, 1 when one is not, 2 when there is nothing
    to roll back or no inventory, 4 on a bad inventory."""
    from fleetcheck.connect.hosts import ConnectOptions, FleetHost  # noqa: PLC0415
    from fleetcheck.inventory import InventoryError  # noqa: PLC0415
    from fleetcheck.selection import select_hosts  # noqa: PLC0415

    run_dir = Path(args.reports_dir) / args.run_id
    journals = load_journals(run_dir) if run_dir.is_dir() else {}
    manifests = {h: merge(d.get("files", []), d.get("plans")) for h, d in journals.items()}
    if not manifests and not args.from_hosts:
        print(f"fleetcheck rollback: {run_dir}: no backups of run {args.run_id} "
              "(--from-hosts --inventory INV reads the hosts' own manifests)", file=sys.stderr)
        return 2
    inventories = args.inventory or run_inventory(run_dir)
    if not inventories:
        print("fleetcheck rollback: give --inventory (the run's reports do not name it)",
              file=sys.stderr)
        return 2
    option = argparse.Namespace(fleet_inventory=inventories, hosts=None,
                                fleet_limit=args.limit)
    try:
        entries, _ = select_hosts(option)
    except InventoryError as exc:
        print(f"fleetcheck rollback: {exc}", file=sys.stderr)
        return 4
    names = list(manifests) + ([n for n in entries if n not in manifests]
                               if args.from_hosts else [])
    failures = found = 0
    for name in names:
        if name not in entries:
            if args.limit is None:
                print(f"{name}: not in the inventory, skipped", file=sys.stderr)
                failures += 1
            continue
        host = FleetHost(entries[name], ConnectOptions(accept_new=False))
        try:
            data = journals.get(name)
            if data is None:
                try:
                    data = host_journal(host, args.run_id)
                except (Unreachable, FactError) as exc:
                    print(f"{name}: {exc}", file=sys.stderr)
                    failures += 1
                    continue
                if data is None:
                    continue
            files = merge(data.get("files", []), data.get("plans"))
            plans = data.get("plans") or []
            found += 1
            if not files and not changed_runtime(plans):
                print(f"{name}: nothing to restore: run {args.run_id} changed nothing there")
                continue
            for outcome in rollback_host(
                    host, files, args.run_id, args.force, plans=plans,
                    warn=lambda w, n=name: print(f"WARNING: {n}: {w}", file=sys.stderr)):
                print(f"{outcome.host} {outcome.path}: {outcome.status}"
                      + (f": {outcome.detail}" if outcome.detail else ""))
                failures += not outcome.ok
        finally:
            host.close()
    if not found and not failures:
        print(f"fleetcheck rollback: no backups of run {args.run_id} on the controller or "
              "the selected hosts", file=sys.stderr)
        return 2
    return 1 if failures else 0
