"""The remediation engine end to end on local:// hosts, against files in a temporary
directory (each "host" of the inventory has its own file, lock dir and backup dir, so
several hosts can run side by side on this machine). The real fixes (sysctl, service,
sshd) are proven on the lab in tests/integration/test_remediation_on_lab.py.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A toy check and its fix: the file named by the var `want_file` must contain the
# line in `want_line`. `extra_action` adds a command after the write (to fail on
# purpose), `slow` a pause inside the change (for rolling limits).
CHECK = '''
import pytest
from fleetcheck.facts.base import Command
from fleetcheck.remediation import RunCommand, WriteFile, fix


@pytest.mark.check("demo.line", severity="medium", title="file has the line")
def test_line(host, facts, evidence):
    f = facts.get("file", path=host.vars["want_file"])
    evidence["content"] = f.text if f.exists else None
    evidence.severity = host.vars.get("finding_severity")   # an item's own severity
    assert f.exists and host.vars["want_line"] in f.text.splitlines(), "line missing"


@fix("demo.line")
def plan_line(ctx):
    f = ctx.facts.get("file", path=ctx.vars["want_file"])
    before = f.text if f.exists else ""
    if ctx.vars["want_line"] in before.splitlines():
        return ctx.plan(reason="line present")
    actions = []
    if ctx.vars.get("slow"):
        actions.append(RunCommand("log start", command=Command(
            "sh -c %s x %s", 'echo "start $(date +%s.%N)" >> "$1"; sleep 0.6', ctx.vars["slow"])))
    actions.append(WriteFile("add the line", path=ctx.vars["want_file"],
                             content=(before + ctx.vars["want_line"] + "\\n").encode(),
                             before=f.content if f.exists else None))
    if ctx.vars.get("extra_action"):
        actions.append(RunCommand("extra", command=Command("sh -c %s", ctx.vars["extra_action"])))
    if ctx.vars.get("slow"):
        actions.append(RunCommand("log end", command=Command(
            "sh -c %s x %s", 'echo "end $(date +%s.%N)" >> "$1"', ctx.vars["slow"])))
    return ctx.plan(*actions)
'''


def inventory(tmp: Path, hosts: dict[str, dict]) -> str:
    lines = ["all:", "  hosts:"]
    for name, extra in hosts.items():
        base = tmp / name
        base.mkdir(parents=True, exist_ok=True)
        hv = {"ansible_connection": "local", "want_file": str(base / "app.conf"),
              "want_line": "enabled = yes", "fleetcheck_lock_dir": str(base / "lock"),
              "fleetcheck_backup_dir": str(base / "backups")}
        hv.update(extra)
        lines.append(f"    {name}: {json.dumps(hv)}")
    return "\n".join(lines) + "\n"


def run(pytester, *args):
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly", *args)
    path = pytester.path / "reports" / "last" / "results.json"
    data = json.loads(path.read_text())
    return res, {r["host"]: r for r in data["records"]}, data


def setup(pytester, hosts):
    pytester.makefile(".yml", inv=inventory(pytester.path, hosts))
    pytester.makepyfile(test_line=CHECK)


def snapshot(root: Path) -> dict[str, tuple]:
    return {str(p): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*")) if "reports" not in p.parts}


def test_no_remediate_changes_nothing_and_says_a_fix_exists(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    before = snapshot(pytester.path / "a")
    res, recs, _ = run(pytester)
    assert recs["a"]["outcome"] == "failed"
    assert recs["a"]["plan"]["status"] == "available"
    assert snapshot(pytester.path / "a") == before


def test_dry_run_reports_plan_and_diff_and_writes_nothing(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    before = snapshot(pytester.path / "a")
    res, recs, _ = run(pytester, "--remediate", "--dry-run")
    rec = recs["a"]
    assert rec["outcome"] == "would-fix" and res.ret == 1
    assert rec["plan"]["summary"] == "add the line"
    assert "+enabled = yes" in rec["plan"]["diffs"][str(conf)]
    assert snapshot(pytester.path / "a") == before  # no backup, no lock, no temp file
    assert not (pytester.path / "reports" / "last" / "backups").exists()


def test_would_fix_and_fixed_records_keep_the_findings_own_severity(pytester):
    setup(pytester, {"a": {"finding_severity": "low"}})
    (pytester.path / "a" / "app.conf").write_text("enabled = no\n")
    _, recs, _ = run(pytester, "--remediate", "--dry-run")
    assert (recs["a"]["outcome"], recs["a"]["severity"]) == ("would-fix", "low")
    _, recs, _ = run(pytester, "--remediate")
    assert (recs["a"]["outcome"], recs["a"]["severity"]) == ("fixed", "low")
    _, recs, _ = run(pytester)
    assert (recs["a"]["outcome"], recs["a"]["severity"]) == ("passed", "medium")


def test_fix_backs_up_writes_atomically_keeps_mode_and_rechecks(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    conf.chmod(0o640)
    res, recs, data = run(pytester, "--remediate")
    rec = recs["a"]
    assert rec["outcome"] == "fixed", rec
    assert res.ret == 0
    assert conf.read_text() == "enabled = no\nenabled = yes\n"
    assert conf.stat().st_mode & 0o777 == 0o640
    assert not list(conf.parent.glob(".fleetcheck.*"))  # no temp file left
    (backup,) = rec["plan"]["backups"]
    assert Path(backup["host_backup"]).read_text() == "enabled = no\n"
    assert Path(backup["local_backup"]).read_text() == "enabled = no\n"
    assert backup["sha256_after"] != backup["sha256_before"]
    assert not (pytester.path / "a" / "lock").exists()  # lock released
    # A second run plans nothing and changes nothing.
    res, recs, _ = run(pytester, "--remediate")
    assert recs["a"]["outcome"] == "passed" and recs["a"]["plan"] is None
    # Rollback restores the file the run changed.
    run_id = data["run"]["run_id"]
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback", run_id, "--reports-dir",
                           str(pytester.path / "reports")], cwd=pytester.path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"a {conf}: restored" in proc.stdout
    assert conf.read_text() == "enabled = no\n"


def test_an_empty_file_is_backed_up_and_rolled_back_as_the_empty_file_it_is(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_bytes(b"")
    res, recs, data = run(pytester, "--remediate")
    (backup,) = recs["a"]["plan"]["backups"]
    assert recs["a"]["outcome"] == "fixed" and backup["existed"] is True, backup
    assert Path(backup["host_backup"]).read_bytes() == b""
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback",
                           data["run"]["run_id"], "--reports-dir",
                           str(pytester.path / "reports")], cwd=pytester.path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conf.exists() and conf.read_bytes() == b""    # not removed as if it never was


def test_sysv_enable_and_disable_go_through_update_rc_d():
    from fleetcheck.remediation import engine

    class SysV:
        class facts:  # noqa: N801 - a stand-in for the host's fact cache
            @staticmethod
            def get(name):
                return type("Init", (), {"system": "sysv"})()

    assert engine.service_command(SysV, "cron", "disable").render() == "update-rc.d cron disable"
    assert engine.service_command(SysV, "cron", "enable").render() == "update-rc.d cron enable"
    assert engine.service_command(SysV, "cron", "stop").render() == "service cron stop"


def test_rollback_refuses_a_file_changed_since_unless_forced(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    _, _, data = run(pytester, "--remediate")
    conf.write_text("edited by hand\n")
    cmd = [sys.executable, "-m", "fleetcheck", "rollback", data["run"]["run_id"],
           "--reports-dir", str(pytester.path / "reports")]
    proc = subprocess.run(cmd, cwd=pytester.path, capture_output=True, text=True)
    assert proc.returncode == 1 and "refused: changed since the run" in proc.stdout
    assert conf.read_text() == "edited by hand\n"
    proc = subprocess.run(cmd + ["--force"], cwd=pytester.path, capture_output=True, text=True)
    assert proc.returncode == 0 and conf.read_text() == "enabled = no\n"


def test_failing_action_restores_the_plans_files(pytester):
    setup(pytester, {"a": {"extra_action": "echo broken >&2; exit 3"}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    res, recs, _ = run(pytester, "--remediate")
    rec = recs["a"]
    assert rec["outcome"] == "failed"
    plan = rec["plan"]
    assert plan["status"] == "failed" and plan["action"] == 2 and plan["rc"] == 3
    assert "broken" in plan["stderr"] and plan["restored"] == [str(conf)]
    assert "fix failed" in rec["message"]
    assert conf.read_text() == "enabled = no\n"


def test_fix_applied_but_check_still_fails(pytester):
    # The fix writes the line, then a later action clobbers the file: the re-check
    # on fresh facts sees it and says so.
    setup(pytester, {"a": {"extra_action": "true"}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    hosts = {"a": {"extra_action": f"echo clobbered > {conf}"}}
    pytester.makefile(".yml", inv=inventory(pytester.path, hosts))
    res, recs, _ = run(pytester, "--remediate")
    rec = recs["a"]
    assert rec["outcome"] == "failed"
    assert rec["message"].startswith("fix applied, check still fails")
    assert rec["evidence"]["content"] == "clobbered\n"  # the new evidence


def test_hostile_content_is_data(pytester, tmp_path):
    marker = tmp_path / "pwned"
    setup(pytester, {"a": {"want_line": f"x = $(touch {marker}); `touch {marker}` ' \" \\"}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("")
    res, recs, _ = run(pytester, "--remediate")
    assert recs["a"]["outcome"] == "fixed", recs["a"]
    assert not marker.exists()
    assert f"$(touch {marker})" in conf.read_text()


def test_locked_host_waits_then_refuses(pytester):
    setup(pytester, {"a": {}})
    conf = pytester.path / "a" / "app.conf"
    conf.write_text("enabled = no\n")
    lock = pytester.path / "a" / "lock"
    lock.mkdir()
    (lock / "owner").write_text("run other-run pid 1 since then\n")
    start = time.monotonic()
    res, recs, _ = run(pytester, "--remediate", "--lock-timeout", "1")
    assert time.monotonic() - start < 30
    plan = recs["a"]["plan"]
    assert plan["status"] == "failed" and "locked by another fleetcheck run" in plan["error"]
    assert "other-run" in plan["error"]
    assert conf.read_text() == "enabled = no\n" and lock.exists()


@pytest.mark.root("mount a tmpfs")
def test_disk_full_leaves_the_original_intact(pytester):
    big = "x" * 200_000
    setup(pytester, {"a": {"want_line": big}})
    full = pytester.path / "a" / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], check=True)
    try:
        conf = full / "app.conf"
        conf.write_text("enabled = no\n")
        hosts = {"a": {"want_line": big, "want_file": str(conf)}}
        pytester.makefile(".yml", inv=inventory(pytester.path, hosts))
        res, recs, _ = run(pytester, "--remediate")
        assert recs["a"]["outcome"] == "failed"
        assert conf.read_text() == "enabled = no\n"
        assert [p.name for p in full.iterdir()] == ["app.conf"]  # no temp file left
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_max_fail_stops_changing_more_hosts(pytester):
    hosts = {f"h{i}": {"extra_action": "exit 1"} for i in range(4)}
    setup(pytester, hosts)
    for name in hosts:
        (pytester.path / name / "app.conf").write_text("enabled = no\n")
    res, recs, _ = run(pytester, "--remediate", "--max-fail", "1", "-n", "2")
    statuses = sorted(r["plan"]["status"] for r in recs.values())
    attempted = [s for s in statuses if s == "failed"]
    skipped = [s for s in statuses if s.startswith("not attempted: --max-fail 1 reached")]
    # Both workers may have started their first host before the first failure landed.
    assert 1 <= len(attempted) <= 2 and len(attempted) + len(skipped) == 4, statuses


def test_serial_and_interval_hold_across_workers(pytester):
    log = pytester.path / "changes.log"
    hosts = {f"h{i}": {"slow": str(log)} for i in range(3)}
    setup(pytester, hosts)
    for name in hosts:
        (pytester.path / name / "app.conf").write_text("")
    res, recs, _ = run(pytester, "--remediate", "--serial", "1", "--interval", "1", "-n", "2")
    assert {r["outcome"] for r in recs.values()} == {"fixed"}
    events = [line.split() for line in log.read_text().splitlines()]
    starts = [float(t) for kind, t in events if kind == "start"]
    ends = [float(t) for kind, t in events if kind == "end"]
    assert len(starts) == 3
    spans = sorted(zip(starts, ends))
    for (s1, e1), (s2, _) in zip(spans, spans[1:]):
        assert s2 >= e1, "two hosts were changed at once despite --serial 1"
        # measured at the host's log line: the policy's clock starts before the fix's
        # journal, lock and backup, which take 0.1-0.3 s here and vary from host to host
        assert s2 - s1 >= 0.7, "--interval 1 not kept between hosts"


def test_unknown_remediate_area_is_a_usage_error(pytester):
    setup(pytester, {"a": {}})
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "--remediate=nosuch")
    assert res.ret == 4
    res.stderr.fnmatch_lines(["ERROR: --remediate: no fix registered for nosuch*"])


def test_dry_run_without_remediate_is_a_usage_error(pytester):
    setup(pytester, {"a": {}})
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "--dry-run")
    assert res.ret == 4


@pytest.mark.parametrize("name", ["..", "-x", "--help", "a b", "ssh\n"])
def test_service_command_refuses_a_name_that_got_past_the_load(name):
    from fleetcheck.remediation import engine

    with pytest.raises(engine.ApplyFailed, match="the service name"):
        engine.service_command(None, name, "start")


def test_a_later_fix_prunes_the_hosts_old_backups_and_its_journal_says_so(pytester):
    """--keep-backups DAYS: under the host's lock, once per run, the backups of runs
    older than DAYS are removed (never this run's, never a directory not named as a
    run), and the run's journal (controller and host) names them."""
    setup(pytester, {"a": {}})
    backups = pytester.path / "a" / "backups"
    old, recent = "20200101T000000Z-01d1", time.strftime(
        "%Y%m%dT%H%M%SZ-beef", time.gmtime(time.time() - 86400))
    for name in (old, recent, "notes"):
        (backups / name).mkdir(parents=True)
        (backups / name / "f").write_text("x")
    (pytester.path / "a" / "app.conf").write_text("enabled = no\n")
    res, recs, data = run(pytester, "--remediate", "--keep-backups", "7")
    rec = recs["a"]
    assert rec["outcome"] == "fixed", rec
    assert rec["plan"]["pruned_backups"] == [old]
    run_id = data["run"]["run_id"]
    assert sorted(p.name for p in backups.iterdir()) == sorted([recent, "notes", run_id])
    journal = json.loads((pytester.path / "reports" / run_id / "backups" / "a" /
                          "manifest.json").read_text())
    assert journal["pruned_backups"] == {"older_than_days": 7.0, "runs": [old]}
    on_host = json.loads((backups / run_id / ".manifest.json").read_text())
    assert on_host["pruned_backups"]["runs"] == [old]
    # --keep-backups 0 never prunes
    (pytester.path / "a" / "app.conf").write_text("enabled = no\n")
    (backups / old).mkdir()
    res, recs, _ = run(pytester, "--remediate", "--keep-backups", "0")
    assert recs["a"]["outcome"] == "fixed" and (backups / old).is_dir()
    assert "pruned_backups" not in recs["a"]["plan"]
