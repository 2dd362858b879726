"""Crash injection on a real host: the sshd.config fix (write /etc/ssh/sshd_config,
validate with `sshd -t`, reload sshd) on web1, stopped at each of its steps by killing
the controller (SIGKILL of the `pytest --remediate` process) or by taking the host's
link down, and once by killing the write itself on the host (as a power loss would).

The engine pauses at a step when FLEETCHECK_CRASH_AT names it (a test-only hook, see
fleetcheck.remediation.engine.crash_point): the test then kills or cuts, and lets the
pause go. After each trial: the file is byte for byte the original or the fully fixed
version, no temp file is left beside it, the journal of the run is there, the next run
takes the dead run's lock over (with its warning) instead of waiting, and rollback of
the crashed run (and of the next one) puts the original back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleet import REPO, audit, variant

pytestmark = pytest.mark.integration

HOST = "web1"
CONF = "/etc/ssh/sshd_config"
HOST_PAUSE = "/run/fleetcheck-crash-pause"      # mid-write pauses in the host's write script
# sshd.config's plan: action 1 writes sshd_config, 2 is `sshd -t`, 3 reloads sshd
POINTS = ["locked", "backed-up", "mid-write", "after-action-1", "after-action-2",
          "after-action-3"]
# The controller killed at every point; the link cut at three of them (the cut is seen at
# the next command whatever the point: the first one after the backup, the write in
# flight, and between validation and reload), and the write killed on the host once.
LINK_CUT_AT = ("backed-up", "mid-write", "after-action-2")
TRIALS = ([(p, "kill") for p in POINTS] + [(p, "link") for p in LINK_CUT_AT]
          + [("mid-write", "host-kill")])
# what the record of a run cut off at each point must advise (the cut is noticed at
# the next command after the pause)
ADVICE = {
    "locked": "nothing was changed",
    "backed-up": "restores 1 file(s)",
    "mid-write": "restores 1 file(s)",
    "after-action-1": "restores 1 file(s) (/etc/ssh/sshd_config); `validate with sshd -t` "
                      "may or may not have run",
    "after-action-2": "restores 1 file(s) (/etc/ssh/sshd_config); `reload sshd` may or may "
                      "not have run",
    "after-action-3": "restores 1 file(s) (/etc/ssh/sshd_config)",
}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def sha(lab, path: str = CONF) -> str:
    res = lab.sh(HOST, f"sha256sum {path} 2>/dev/null | cut -c1-64", check=False)
    return res.stdout.strip() or "absent"


def leftovers(lab) -> list[str]:
    """Temp files beside the files the fixes write, and lock dirs of any kind."""
    names = lab.sh(HOST, "ls -a /etc/ssh /etc/sysctl.d; ls -d /run/fleetcheck.lock* "
                         "2>/dev/null; true").stdout.split()
    return [n for n in names if n.startswith(".fleetcheck.") or n.endswith(".fleetcheck-restore")
            or "fleetcheck.lock" in n]


def rollback(reports: Path) -> subprocess.CompletedProcess:
    """`python -m fleetcheck rollback RUN_ID` of the one run in `reports` (a killed run
    wrote no results.json: the inventory comes from its journal)."""
    (run_dir,) = reports.glob("2*")
    return subprocess.run([sys.executable, "-m", "fleetcheck", "rollback", run_dir.name,
                           "--reports-dir", str(reports)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def crash_lab(lab, tmp_path_factory):
    """web1 with PermitRootLogin yes, an inventory whose commands time out after 3 s
    (a cut link is found in 3 s, not 60), the original and the fixed checksums."""
    tmp = tmp_path_factory.mktemp("crash")
    if lab.status()["running"] != len(lab.hosts):
        lab.up()
    lab.heal_all()
    inv = variant(tmp, lab, fleetcheck_command_timeout=3, fleetcheck_connect_timeout=3)
    lab.fault(HOST, "permit-root-login")
    original = sha(lab)
    rc, records, out = audit(tmp / "r0", "--limit", HOST, "--remediate", "-k", "sshd",
                             inventory=inv)
    assert rc == 0, out
    fixed = sha(lab)
    assert fixed != original
    assert rollback(tmp / "r0" / "reports").returncode == 0 and sha(lab) == original
    started = time.monotonic()
    yield {"inv": inv, "tmp": tmp, "original": original, "fixed": fixed, "started": started}
    lab.heal(HOST, "link-down")
    lab.exec(HOST, ["rm", "-f", HOST_PAUSE])
    lab.heal_all()
    print(f"\ncrash trials: {len(TRIALS)} in {time.monotonic() - started:.1f}s")


def crash_run(lab, c, point: str, how: str, reports: Path) -> str:
    """Run the fix, stopped at `point` by `how`; returns the crashed run's id."""
    pause = str(c["tmp"] / "pause") if point != "mid-write" else HOST_PAUSE
    env = dict(os.environ, FLEETCHECK_CRASH_AT=point, FLEETCHECK_CRASH_PAUSE=pause)
    with open(reports.parent / "out.txt", "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--inventory", str(c["inv"]), "-q",
             "-p", "no:cacheprovider", "--reports-dir", str(reports), "--limit", HOST,
             "--remediate", "-k", "sshd"], cwd=REPO, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    if point == "mid-write":
        paused = lambda: lab.exec(HOST, ["test", "-s", HOST_PAUSE]).returncode == 0  # noqa: E731
        release = lambda: lab.exec(HOST, ["rm", "-f", HOST_PAUSE])  # noqa: E731
    else:
        paused = Path(pause).exists
        release = Path(pause).unlink
    wait_for(lambda: paused() or proc.poll() is not None, 60, f"the pause at {point}")
    assert proc.poll() is None, (reports.parent / "out.txt").read_text()
    if how == "host-kill":       # the write script dies between its temp file and the rename
        pid = lab.exec(HOST, ["cat", HOST_PAUSE]).stdout.strip()
        lab.exec(HOST, ["kill", "-9", pid], check=True)
    if how in ("kill", "host-kill"):
        proc.kill()
        proc.wait()
        release()
    else:
        lab.fault(HOST, "link-down")
        release()
        proc.wait(timeout=90)    # the cut is noticed at the next command (3 s)
        lab.heal(HOST, "link-down")
    (run_dir,) = reports.glob("2*")
    return run_dir.name


@pytest.mark.parametrize("point, how", TRIALS, ids=[f"{p}-{h}" for p, h in TRIALS])
def test_crash_at_each_step(crash_lab, lab, point, how):
    c = crash_lab
    trial = c["tmp"] / f"{point}-{how}"
    reports = trial / "r1" / "reports"
    reports.mkdir(parents=True)
    lab.fault(HOST, "permit-root-login")
    assert sha(lab) == c["original"]
    crashed = crash_run(lab, c, point, how, reports)

    # the file is the original or the fully fixed one, nothing half-written beside it
    if how == "host-kill":
        assert sha(lab) == c["original"]
        assert [n for n in leftovers(lab) if n.startswith(".fleetcheck.tmp.")], \
            "the killed write leaves its temp file (the next write or rollback removes it)"
    else:
        wait_for(lambda: not [n for n in leftovers(lab) if "lock" not in n], 10,
                 "the write to settle")
        assert sha(lab) in (c["original"], c["fixed"])
    state = sha(lab)
    # the journal was written before the first change
    journal = json.loads((reports / crashed / "backups" / HOST / "manifest.json").read_text())
    (plan,) = journal["plans"]
    assert plan["check_id"] == "sshd.config" and plan["item"] == "PermitRootLogin"
    assert journal["files"][0]["path"] == CONF
    assert journal["files"][0]["sha256_before"] == c["original"]
    assert journal["files"][0]["sha256_after"] == c["fixed"]
    if point != "locked":
        on_host = lab.read_file(HOST, f"/var/backups/fleetcheck/{crashed}/.manifest.json")
        assert on_host and json.loads(on_host)["files"][0]["backed_up"]
    if how == "link":
        (rec,) = [r for r in json.loads((reports / "last" / "results.json").read_text())
                  ["records"] if r["item"] == "PermitRootLogin"]
        error = rec["plan"]["error"]
        assert rec["outcome"] == "failed" and error.startswith("connection lost during"), rec
        assert ADVICE[point] in rec["plan"]["advice"], rec["plan"]
        if rec["plan"]["advice"] == "nothing was changed":
            assert state == c["original"]
        assert f"rollback {crashed}` restores" in error or "nothing was changed" in error

    # the next run is not blocked: it takes the dead run's lock over, with a warning
    lab.fault(HOST, "ip-forward")              # so that it needs the lock whatever the state
    # (not after the lock timeout: a run that waited for the lock would fail with it,
    # never take it over)
    rc, records, out = audit(trial / "r2", "--limit", HOST, "--remediate",
                             "-k", "sshd or sysctl", inventory=c["inv"])
    assert rc == 0, out
    warnings = [w for r in records if r["plan"] for w in r["plan"].get("warnings", [])]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"took over the stale lock /run/fleetcheck.lock of run {crashed} from "), warnings
    assert warnings[0].endswith("on this controller is gone"), warnings
    assert f"WARNING: {HOST}: took over the stale lock" in out
    assert sha(lab) == c["fixed"]

    # rollback of the crashed run restores what it changed; of the next run, the rest
    proc = rollback(reports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if state == c["fixed"]:
        assert f"{HOST} {CONF}: restored" in proc.stdout and sha(lab) == c["original"]
    proc = rollback(trial / "r2" / "reports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sha(lab) == c["original"]
    assert sha(lab, "/etc/sysctl.d/99-fleetcheck.conf") == "absent"
    assert leftovers(lab) == []
    lab.heal(HOST, "ip-forward")
