"""Crash safety of --remediate without the lab: the journal written before the first
change, the lock's owner record and takeover rules, the advice a record gives, and
the host scripts' clean-up. The "host" is this machine (sh in a temporary directory);
the same runs on real hosts are in tests/integration/test_crash_safety_lab.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcheck.connect.failures import Unreachable
from fleetcheck.facts.base import FactError
from fleetcheck.remediation import RunCommand, WriteFile, engine, journal, lock
from fleetcheck.remediation.model import Plan
from fleetcheck.remediation.rollback import load_manifests, rollback_host

# ------------------------------------------------------------------ a local "host"


class LocalHost:
    """What the engine needs of a FleetHost, running commands here. `cut_at`: the
    command number (1-based) at which the connection is lost: `exc` is raised instead
    (FactError is what FleetHost.run raises for a timed-out command)."""

    def __init__(self, base: Path, cut_at: int | None = None, exc: Exception | None = None):
        self.name = "h1"
        self.vars = {"fleetcheck_lock_dir": str(base / "lock"),
                     "fleetcheck_backup_dir": str(base / "backups")}
        self.command_timeout = 5.0
        self.commands: list[str] = []
        self.cut_at = cut_at
        self.exc = exc

    def run(self, command):
        rendered = command.render()
        self.commands.append(rendered)
        if self.cut_at is not None and len(self.commands) >= self.cut_at:
            raise self.exc
        res = subprocess.run(["/bin/sh", "-c", rendered], capture_output=True, text=True)
        return SimpleNamespace(command=rendered, rc=res.returncode, stdout=res.stdout,
                               stderr=res.stderr)


def me(**kw) -> lock.Me:
    here = lock.Me.here()
    return lock.Me(**{**here.__dict__, **kw})


def record(**kw) -> dict[str, str]:
    here = lock.Me.here()
    rec = {"run": "r0", "controller": here.controller, "controller_boot": here.controller_boot,
           "pidns": here.pidns, "pid": str(os.getppid()),
           "pid_start": lock.process_start(os.getppid()), "lease": "60",
           "token": "ab" * 8, "boot_id": "boot-1", "since": "1000", "heartbeat": "1000"}
    rec.update(kw)
    return rec


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def sshd_plan(conf: Path, validate: str = "true") -> Plan:
    before = conf.read_bytes()
    return Plan("demo.conf", "h1", [
        WriteFile("set Key yes", path=str(conf), content=before + b"Key yes\n", before=before),
        RunCommand("validate", command=engine.Command("sh -c %s", validate)),
        RunCommand("reload", command=engine.Command("true"))])


# ------------------------------------------------------------------ lock: the rules


def test_a_lock_is_stale_when_the_host_rebooted():
    why = lock.stale_reason(record(), 1001, "boot-2", me())
    assert why == "the host rebooted since it was taken"


def test_a_live_process_of_this_controller_holds_its_lock():
    assert lock.stale_reason(record(), 1001, "boot-1", me()) is None


def test_a_gone_or_reused_pid_of_this_controller_is_stale():
    gone = record(pid=str(dead_pid()))
    assert "on this controller is gone" in lock.stale_reason(gone, 1001, "boot-1", me())
    reused = record(pid_start="1")
    assert "the pid was reused" in lock.stale_reason(reused, 1001, "boot-1", me())
    mine = record(pid=str(os.getpid()), pid_start=lock.process_start(os.getpid()))
    assert "this process" in lock.stale_reason(mine, 1001, "boot-1", me())


def test_another_controller_is_judged_by_its_heartbeat_only():
    other = record(controller="elsewhere", pid=str(dead_pid()))
    assert lock.stale_reason(other, 1060, "boot-1", me()) is None    # within the lease
    assert lock.stale_reason(other, 1061, "boot-1", me()) == \
        "its heartbeat is 61s old (lease 60s)"
    # same name but another boot or pid namespace: not "this controller"
    assert lock.stale_reason(record(pid=str(dead_pid()), pidns="1"), 1001, "boot-1", me()) is None


def test_records_without_a_token_are_never_judged():
    assert lock.parse_owner("run other-run pid 1 since then\n") is None
    assert lock.parse_owner("run=x\ntoken=../../etc\n") is None
    assert lock.parse_owner("run=x\ntoken=" + "ab" * 8 + "\n")["run"] == "x"


def test_the_lease_covers_the_longest_step():
    assert lock.lease_for(30, 60) == 120 and lock.lease_for(30, 5) == 60


# ------------------------------------------------------------------ lock: on a host


def test_the_owner_record_says_who_where_and_since_when(tmp_path):
    host = LocalHost(tmp_path)
    held = lock.HostLock(host, "run-1", 1, 60)
    assert held.acquire() == []
    rec = lock.parse_owner((tmp_path / "lock" / "owner").read_text())
    here = lock.Me.here()
    assert rec["run"] == "run-1" and rec["pid"] == str(os.getpid())
    assert rec["pid_start"] == lock.process_start(os.getpid())
    assert rec["controller"] == here.controller and rec["pidns"] == here.pidns
    assert rec["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert rec["lease"] == "60" and abs(int(rec["heartbeat"]) - time.time()) < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]   # nothing beside it
    held.release()
    assert not (tmp_path / "lock").exists()


def test_a_live_lock_is_waited_on_then_refused(tmp_path):
    host = LocalHost(tmp_path)
    first = lock.HostLock(host, "run-1", 1, 60, me=me(controller="elsewhere"))
    first.acquire()
    waits = []
    # 0.5 s: one attempt (a shell on a loaded machine) may take longer than 0.05 s
    second = lock.HostLock(host, "run-2", 0.5, 60, sleep=waits.append)
    with pytest.raises(lock.LockError, match=r"locked by another fleetcheck run "
                                             r"\(run run-1 from elsewhere pid \d+\)"):
        second.acquire()
    assert waits                                  # it waited
    second.release()                              # not its lock: left alone
    assert lock.parse_owner((tmp_path / "lock" / "owner").read_text())["run"] == "run-1"


def test_a_stale_lock_is_taken_over_at_once_with_a_warning(tmp_path):
    host = LocalHost(tmp_path)
    lock.HostLock(host, "run-1", 1, 60, me=me(pid=dead_pid())).acquire()
    start = time.monotonic()
    warnings = lock.HostLock(host, "run-2", 30, 60).acquire()
    assert time.monotonic() - start < 5
    (warning,) = warnings
    assert warning.startswith(f"took over the stale lock {tmp_path / 'lock'} of run run-1")
    assert "on this controller is gone" in warning
    assert lock.parse_owner((tmp_path / "lock" / "owner").read_text())["run"] == "run-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]   # the stale one removed


def test_only_one_of_many_contenders_takes_a_stale_lock_over(tmp_path):
    host = LocalHost(tmp_path)
    stale = lock.HostLock(host, "run-0", 1, 60, me=me(pid=dead_pid()))
    stale.acquire()
    results = []

    def contend(i):
        mine = lock.HostLock(host, f"run-{i}", 1, 60)
        res = host.run(lock.sh(lock.TAKEOVER_SCRIPT, mine.path, mine.owner_part(),
                               mine.token, stale.token))
        results.append((res.rc, mine.token))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [token for rc, token in results if rc == 0]
    assert len(winners) == 1, results
    assert {rc for rc, _ in results} <= {0, lock.HELD}
    assert lock.parse_owner((tmp_path / "lock" / "owner").read_text())["token"] == winners[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]
    assert sorted(p.name for p in (tmp_path / "lock").iterdir()) == ["owner"]


def test_a_missing_parent_is_an_error_at_once(tmp_path):
    host = LocalHost(tmp_path)
    host.vars["fleetcheck_lock_dir"] = str(tmp_path / "nowhere" / "lock")
    start = time.monotonic()
    with pytest.raises(lock.LockError) as err:
        lock.HostLock(host, "run-1", 30, 60).acquire()
    assert time.monotonic() - start < 5
    assert str(err.value) == f"lock directory's parent {tmp_path / 'nowhere'} does not exist"


def test_the_heartbeat_is_refreshed_and_a_lost_lock_is_noticed(tmp_path):
    host = LocalHost(tmp_path)
    held = lock.HostLock(host, "run-1", 1, 60)
    held.acquire()
    owner = tmp_path / "lock" / "owner"
    owner.write_text(owner.read_text().replace("heartbeat=", "heartbeat=1"))  # long ago
    held.beat(force=True)
    assert abs(int(lock.parse_owner(owner.read_text())["heartbeat"]) - time.time()) < 5
    lock.HostLock(host, "run-2", 1, 60).acquire()    # this process: taken over
    with pytest.raises(lock.LockError, match="no longer this run's"):
        held.beat(force=True)


# ------------------------------------------------------------------ the journal


def test_the_journal_is_written_and_fsynced_before_the_first_change(tmp_path, monkeypatch):
    conf = tmp_path / "app.conf"
    conf.write_text("Key no\n")
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    host = LocalHost(tmp_path)
    seen = {}
    real_run = host.run

    def run(command):
        if "base64 -d" in command.render() and str(conf) in command.render():
            seen["manifest"] = json.loads((tmp_path / "rep" / "manifest.json").read_text())
        return real_run(command)

    host.run = run
    engine.apply(sshd_plan(conf), host, engine.ApplyContext("run-1", tmp_path / "rep"))
    before = seen["manifest"]       # as it was when the write went out
    (entry,) = before["files"]
    assert entry["path"] == str(conf) and entry["backed_up"] and entry["existed"]
    assert entry["sha256_after"] == hashlib.sha256(b"Key no\nKey yes\n").hexdigest()
    assert Path(entry["local_backup"]).read_text() == "Key no\n"
    assert before["plans"][0]["actions"][0]["state"] == "started"
    assert before["plans"][0]["actions"][0]["sha256_after"] == entry["sha256_after"]
    manifest = str(tmp_path / "rep" / "manifest.json")
    # the file written beside, fsync'ed, renamed; then its directory fsync'ed
    assert str(tmp_path / "rep" / ".manifest.json.") in " ".join(synced)
    assert str(tmp_path / "rep") in synced
    after = json.loads(Path(manifest).read_text())
    assert after["plans"][0]["state"] == "done"
    assert [a["state"] for a in after["plans"][0]["actions"]] == ["done"] * 3
    # the host keeps its own copy next to the backups
    on_host = json.loads((tmp_path / "backups" / "run-1" / ".manifest.json").read_text())
    assert on_host["files"] == after["files"]


def test_two_plans_on_one_file_keep_both_backups_and_roll_back_to_the_first(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("a\n")
    host = LocalHost(tmp_path)
    for line in (b"b\n", b"c\n"):
        before = conf.read_bytes()
        engine.apply(Plan("demo.conf", "h1", [WriteFile("add", path=str(conf),
                                                        content=before + line, before=before)]),
                     host, engine.ApplyContext("run-1", tmp_path / "run" / "backups" / "h1"))
    assert (tmp_path / "backups" / "run-1" / "1" / str(conf).lstrip("/")).read_text() == "a\n"
    assert (tmp_path / "backups" / "run-1" / "2" / str(conf).lstrip("/")).read_text() == "a\nb\n"
    (entry,) = load_manifests(tmp_path / "run")["h1"]
    assert entry["sha256_before"] == hashlib.sha256(b"a\n").hexdigest()
    outcomes = rollback_host(host, [entry], "run-1", force=False)
    assert [o.status for o in outcomes] == ["restored"] and conf.read_text() == "a\n"


@pytest.mark.parametrize("exc", [FactError("command timed out after 5s: sh -c ..."),
                                 Unreachable("connection lost: timeout")],
                         ids=["timeout", "unreachable"])
@pytest.mark.parametrize("cut_at, advice", [
    (1, "nothing was changed"),                          # taking the lock
    (2, "nothing was changed"),                          # the backup
    (4, "restores 1 file(s)"),                           # the write (3: host manifest)
    (6, "restores 1 file(s)"),                           # the reload
    (7, "restores 1 file(s)"),                           # the check of the written file
])
def test_a_cut_mid_fix_leaves_a_journal_and_true_advice(tmp_path, exc, cut_at, advice):
    conf = tmp_path / "app.conf"
    conf.write_text("Key no\n")
    host = LocalHost(tmp_path, cut_at=cut_at, exc=exc)
    with pytest.raises(engine.ApplyFailed) as err:
        engine.apply(sshd_plan(conf), host, engine.ApplyContext("run-1", tmp_path / "rep"))
    assert err.value.cut and str(err.value).startswith("connection lost during ")
    assert advice in err.value.details["advice"] and advice in str(err.value)
    if "restores" in advice:
        assert f"`python -m fleetcheck rollback run-1` restores 1 file(s) ({conf})" \
            in str(err.value)
    data = json.loads((tmp_path / "rep" / "manifest.json").read_text())
    assert data["plans"][0]["state"] == "cut-off"
    assert len(host.commands) == cut_at          # nothing sent after the cut
    if cut_at > 1:
        assert (tmp_path / "lock").exists()      # left: the next run takes it over


def test_a_cut_without_a_reports_directory_says_what_to_check(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("Key no\n")
    host = LocalHost(tmp_path, cut_at=4, exc=FactError("timed out"))
    with pytest.raises(engine.ApplyFailed) as err:
        engine.apply(sshd_plan(conf), host, engine.ApplyContext("run-1", None))
    assert err.value.details["advice"] == (
        "the host was not reached again; files are either as before or as planned "
        f"(atomic writes); check {conf}")


def test_advice_texts():
    plan = {"actions": [
        {"kind": "WriteFile", "path": "/etc/a", "summary": "write a", "state": "done"},
        {"kind": "RunCommand", "summary": "reload", "state": "started"},
        {"kind": "WriteFile", "path": "/etc/b", "summary": "write b", "state": "pending"}]}
    assert journal.advice_after_cut("R", plan, True) == (
        "files are as before or as planned (atomic writes): `python -m fleetcheck rollback R` "
        "restores 1 file(s) (/etc/a); `reload` may or may not have run")
    untouched = {"actions": [dict(a, state="pending") for a in plan["actions"]]}
    assert journal.advice_after_cut("R", untouched, True) == "nothing was changed"
    assert journal.advice_after_failure("R", plan, ["/etc/a"], {}, True) == \
        "the plan's files were restored (/etc/a)"
    assert journal.advice_after_failure("R", untouched, [], {}, True) == "nothing was changed"
    assert journal.advice_after_failure("R", plan, [], {"/etc/a": "exit 1: No space"}, True) \
        == ("restoring /etc/a failed (exit 1: No space): "
            "`python -m fleetcheck rollback R` restores 1 file(s) (/etc/a)")


def test_a_failed_action_restores_and_the_next_fix_is_not_blocked(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("Key no\n")
    host = LocalHost(tmp_path)
    with pytest.raises(engine.ApplyFailed) as err:
        engine.apply(sshd_plan(conf, validate="echo bad >&2; exit 2"), host,
                     engine.ApplyContext("run-1", tmp_path / "rep"))
    assert not err.value.cut and err.value.details["restored"] == [str(conf)]
    assert str(err.value).endswith(f"the plan's files were restored ({conf})")
    assert conf.read_text() == "Key no\n" and not (tmp_path / "lock").exists()
    engine.apply(sshd_plan(conf), host, engine.ApplyContext("run-1", tmp_path / "rep"))
    assert conf.read_text() == "Key no\nKey yes\n"


# ------------------------------------------------------------------ host scripts


@pytest.mark.root("mount a tmpfs")
def test_a_restore_that_fails_cleans_up_and_says_so(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], check=True)
    try:
        conf = full / "sshd_config"
        conf.write_text("small\n")
        subprocess.run(["dd", "if=/dev/zero", f"of={full}/filler", "bs=1k", "count=64"],
                       capture_output=True)
        backup = tmp_path / "backup"
        backup.write_bytes(b"x" * 100_000)
        host = LocalHost(tmp_path)
        restored, failed, cut = engine._restore(
            host, [{"path": str(conf), "host_backup": str(backup), "backed_up": True}])
        assert restored == [] and not cut
        assert "No space left" in failed[str(conf)]
        assert conf.read_text() == "small\n"
        assert sorted(p.name for p in full.iterdir()) == ["filler", "sshd_config"]
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_a_write_removes_temp_files_an_interrupted_write_left(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("Key no\n")
    (tmp_path / ".fleetcheck.tmp.abcdef").write_text("half")
    (tmp_path / "app.conf.fleetcheck-restore").write_text("half")
    (tmp_path / ".fleetcheck.mine").write_text("not ours")   # not our pattern: kept
    engine.apply(sshd_plan(conf), LocalHost(tmp_path), engine.ApplyContext("r", None))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".fleetcheck.mine", "app.conf", "backups"]


# ------------------------------------------------------------------ kill -9, for real

CHECK = '''
import pytest
from fleetcheck.facts.base import Command
from fleetcheck.remediation import RunCommand, WriteFile, fix


@pytest.mark.check("demo.line", severity="medium", title="file has the line")
def test_line(host, facts):
    f = facts.get("file", path=host.vars["want_file"])
    assert f.exists and "Key yes" in f.text.splitlines(), "line missing"


@fix("demo.line")
def plan_line(ctx):
    f = ctx.facts.get("file", path=ctx.vars["want_file"])
    return ctx.plan(WriteFile("set Key yes", path=ctx.vars["want_file"],
                              content=f.content + b"Key yes\\n", before=f.content),
                    RunCommand("validate", command=Command("true")),
                    RunCommand("reload", command=Command("true")))
'''


def setup_local(pytester) -> tuple[Path, Path]:
    base = pytester.path / "h1"
    base.mkdir()
    conf = base / "app.conf"
    conf.write_text("Key no\n")
    hv = {"ansible_connection": "local", "want_file": str(conf),
          "fleetcheck_lock_dir": str(base / "lock"), "fleetcheck_backup_dir": str(base / "bk")}
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n    h1: {json.dumps(hv)}\n")
    pytester.makepyfile(test_line=CHECK)
    return base, conf


# the lab test (tests/integration/test_crash_safety_lab.py) goes through every step
@pytest.mark.parametrize("point", ["locked", "mid-write", "after-action-3"])
def test_kill_9_at_each_step_then_rollback_and_the_next_run(pytester, point):
    base, conf = setup_local(pytester)
    pause = pytester.path / "pause"
    env = dict(os.environ, FLEETCHECK_CRASH_AT=point, FLEETCHECK_CRASH_PAUSE=str(pause))
    cmd = [sys.executable, "-m", "pytest", "--inventory", "inv.yml", "-p", "no:randomly",
           "-p", "no:cacheprovider", "--remediate"]
    proc = subprocess.Popen(cmd, cwd=pytester.path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    pause.unlink()            # mid-write: the host's write script goes on, alone
    (run_dir,) = (pytester.path / "reports").iterdir()
    for _ in range(100):      # mid-write: wait for the orphaned script's rename
        if conf.read_text() in ("Key no\n", "Key no\nKey yes\n") and not list(
                base.glob(".fleetcheck.tmp.*")):
            break
        time.sleep(0.05)
    assert conf.read_text() in ("Key no\n", "Key no\nKey yes\n")
    assert (base / "lock").exists()               # left by the killed run
    rb = [sys.executable, "-m", "fleetcheck", "rollback", run_dir.name,
          "--reports-dir", str(pytester.path / "reports")]
    proc = subprocess.run(rb, cwd=pytester.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conf.read_text() == "Key no\n"
    if point == "locked":
        assert "nothing to restore" in proc.stdout
    else:
        assert "took over the stale lock" in proc.stderr, proc.stderr
    # the next run fixes it, taking the dead run's lock over if rollback did not
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly",
                                        "--remediate")
    assert res.ret == 0 and conf.read_text() == "Key no\nKey yes\n"
    if point == "locked":
        res.stdout.fnmatch_lines(["*WARNING: h1: took over the stale lock*is gone*"])


def test_rollback_from_the_hosts_own_manifest(pytester):
    base, conf = setup_local(pytester)
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly",
                                        "--remediate")
    assert res.ret == 0 and conf.read_text() == "Key no\nKey yes\n"
    (run_dir,) = (pytester.path / "reports").glob("2*")
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)      # the controller's copy lost
    rb = [sys.executable, "-m", "fleetcheck", "rollback", run_dir.name, "--reports-dir",
          str(pytester.path / "reports"), "--inventory", "inv.yml"]
    proc = subprocess.run(rb, cwd=pytester.path, capture_output=True, text=True)
    assert proc.returncode == 2 and "--from-hosts" in proc.stderr
    proc = subprocess.run(rb + ["--from-hosts"], cwd=pytester.path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"h1 {conf}: restored" in proc.stdout and conf.read_text() == "Key no\n"
