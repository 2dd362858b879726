"""A fix that changes another inventory host than the one checked (as a host's DNS
records live on the DNS master): `ctx.facts_of(name)` and `ctx.plan(..., target=name)`.
Two local:// hosts with their own files, lock and backup dirs: the check runs on `web`,
the plan changes `master`'s file, even when --limit leaves `master` out of the run."""

import json
import subprocess
import sys
from pathlib import Path

CHECK = '''
import pytest
from fleetcheck.remediation import WriteFile, fix


@pytest.mark.check("demo.record", severity="medium", title="the master lists this host")
def test_record(host, facts, evidence):
    f = facts.get("file", path=host.vars["master_file"])
    assert f.exists and host.name in f.text.split(), "not listed on the master"


@fix("demo.record")
def plan_record(ctx):
    master = ctx.vars["master"]
    f = ctx.facts_of(master).get("file", path=ctx.vars["master_file"])
    if ctx.host in f.text.split():
        return ctx.plan(reason="listed", target=master)
    return ctx.plan(WriteFile(f"list {ctx.host} on {master}", path=ctx.vars["master_file"],
                              content=(f.text + ctx.host + "\\n").encode(), before=f.content),
                    target=master)
'''


def setup(pytester) -> Path:
    master_file = pytester.path / "master" / "records"
    lines = ["all:", "  vars:", "    master: master", f"    master_file: {master_file}",
             "  hosts:"]
    for name in ("master", "web"):
        base = pytester.path / name
        base.mkdir()
        hv = {"ansible_connection": "local", "fleetcheck_lock_dir": str(base / "lock"),
              "fleetcheck_backup_dir": str(base / "backups")}
        lines.append(f"    {name}: {json.dumps(hv)}")
    pytester.makefile(".yml", inv="\n".join(lines) + "\n")
    pytester.makepyfile(test_record=CHECK)
    master_file.write_text("master\n")
    return master_file


def run(pytester, *args):
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly", *args)
    data = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    return res, {r["host"]: r for r in data["records"]}, data


def test_dry_run_names_the_target_and_writes_nothing(pytester):
    master_file = setup(pytester)
    res, recs, _ = run(pytester, "--limit", "web", "--remediate", "--dry-run")
    plan = recs["web"]["plan"]
    assert recs["web"]["outcome"] == "would-fix" and plan["target"] == "master"
    assert "+web" in plan["diffs"][str(master_file)]
    assert master_file.read_text() == "master\n"
    assert not (pytester.path / "master" / "backups").exists()


def test_fix_changes_the_target_host_backs_it_up_there_and_rechecks(pytester):
    master_file = setup(pytester)
    res, recs, data = run(pytester, "--limit", "web", "--remediate")
    rec = recs["web"]
    assert set(recs) == {"web"}                  # the master was not audited...
    assert rec["outcome"] == "fixed", rec        # ...but changed, and web re-checked
    assert master_file.read_text() == "master\nweb\n"
    (backup,) = rec["plan"]["backups"]
    assert backup["host_backup"].startswith(str(pytester.path / "master" / "backups"))
    assert Path(backup["host_backup"]).read_text() == "master\n"
    run_dir = pytester.path / "reports" / data["run"]["run_id"]
    assert (run_dir / "backups" / "master" / "manifest.json").exists()
    assert not (pytester.path / "master" / "lock").exists()   # the target's lock released
    res, recs, _ = run(pytester, "--limit", "web", "--remediate")
    assert recs["web"]["outcome"] == "passed" and recs["web"]["plan"] is None
    # rollback puts the target's file back
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback", data["run"]["run_id"],
                           "--reports-dir", str(pytester.path / "reports")],
                          cwd=pytester.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert master_file.read_text() == "master\n"
