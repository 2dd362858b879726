"""--keep-reports: which run directories a run removes at its end, and which it never
does (fleetcheck.report.retention), on directories laid out as runs leave them."""

from __future__ import annotations

import json
import os

from fleetcheck.report import retention

DAY = 86400.0
NOW = retention.started("20261203T120000Z-aaaa")


def run(root, run_id, inventory="prod.yml", selection=None, ran_to_end=True,
        changed_hosts=False, meta_file=True):
    d = root / run_id
    d.mkdir()
    meta = {"run_id": run_id, "inventory": [inventory], "ran_to_end": ran_to_end,
            "selection": selection or {}}
    if meta_file:
        (d / "run.json").write_text(json.dumps(meta))
    (d / "results.json").write_text(json.dumps({"run": meta, "records": []}))
    if changed_hosts:
        (d / "backups" / "web1").mkdir(parents=True)
        (d / "backups" / "web1" / "manifest.json").write_text("{}")
    return run_id


def ids(day, n, tag="a"):
    """n run ids of day `day` before NOW's, a minute apart."""
    return [f"202611{day:02d}T10{m:02d}00Z-{tag}{m:03x}" for m in range(n)]


def test_the_newest_n_stay_and_the_oldest_go(tmp_path):
    made = [run(tmp_path, r) for r in ids(1, 8)]
    (tmp_path / "notes").mkdir()                       # not a run: never touched
    removed = retention.prune(tmp_path, made[-1], keep=3, backup_days=30, now=NOW)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == made[-3:] + ["notes"]
    assert removed == made[:5][::-1]
    assert retention.prune(tmp_path, made[-1], keep=3, backup_days=30, now=NOW) == []


def test_what_history_latest_and_rollback_need_is_kept(tmp_path):
    weekly = run(tmp_path, "20261101T090000Z-beef", selection={"checks": {"keyword": "full"}})
    cut = run(tmp_path, "20261101T091000Z-cafe", selection={"checks": {"keyword": "full"}}, ran_to_end=False)
    fixed = run(tmp_path, "20261120T090000Z-f1fe", changed_hosts=True)
    old_fix = run(tmp_path, "20261001T090000Z-01d0", changed_hosts=True)
    pointed = run(tmp_path, "20261102T090000Z-1a57")
    os.symlink(pointed, tmp_path / "latest")
    hourly = [run(tmp_path, r) for r in ids(25, 6, "b")]
    legacy = run(tmp_path, "20261102T080000Z-9999", selection={"checks": {"keyword": "legacy"}},
                 meta_file=False)                       # an older run without run.json
    removed = retention.prune(tmp_path, hourly[-1], keep=2, backup_days=30, now=NOW)
    left = {p.name for p in tmp_path.iterdir()}
    # the newest of each inventory and selection that ran to the end: the next run of
    # it compares with it; a run that changed hosts while its backups may still exist
    assert {weekly, fixed, pointed, legacy, *hourly[-2:]} <= left
    assert {cut, old_fix, *hourly[:-2]} == set(removed)
    assert "latest" in left


def test_nothing_is_removed_with_keep_0_or_without_a_directory(tmp_path):
    made = [run(tmp_path, r) for r in ids(1, 4)]
    assert retention.prune(tmp_path, made[-1], keep=0, backup_days=30, now=NOW) == []
    assert retention.prune(tmp_path / "none", "x", keep=1, backup_days=30) == []
    assert retention.started("not-a-run") is None
    assert retention.started("20261203T120000Z-aaaa") - retention.started(
        "20261202T120000Z-aaaa") == DAY


def test_runs_of_one_second_are_ordered_by_their_files(tmp_path):
    """Three runs in one second: their ids' random parts do not say which came last."""
    made = [run(tmp_path, r) for r in ("20261203T120000Z-ffff", "20261203T120000Z-0000",
                                       "20261203T120000Z-8888")]
    for i, r in enumerate(made):
        t = NOW - 10 + i
        os.utime(tmp_path / r / "run.json", (t, t))
    assert retention.prune(tmp_path, made[-1], keep=1, backup_days=30, now=NOW) == \
        [made[1], made[0]]
