"""The runs behind report.html's pictures (fleetcheck.report.trend): run directories
written by the project's own writer (fleetcheck.report.results.write_results), read
back cheaply and within bounds."""

from __future__ import annotations

import builtins
import json
import os

import pytest

from fleetcheck.report import trend
from fleetcheck.report.records import Record
from fleetcheck.report.results import write_results


def rec(host, check, outcome, severity="high"):
    return Record(host=host, check_id=check, test_id=f"{check}[{host}]", nodeid="t.py::x",
                  severity=severity, title="t", outcome=outcome)


def selection(keyword=None):
    return {"checks": {"keyword": keyword, "subset": bool(keyword)},
            "hosts": {"limit": None, "where": [], "include_offline": False}}


def meta(inventory="prod.yml", keyword=None):
    return {"inventory": [inventory], "selection": selection(keyword)}


def records_with(failing: int, host="web1"):
    """`failing` high failures on `host`, one medium error on web2, a pass on each."""
    return ([rec(host, f"c.f{i}", "failed") for i in range(failing)]
            + [rec(host, "c.ok", "passed"), rec("web2", "c.err", "error", "medium"),
               rec("web2", "c.ok", "passed")])


def run(root, n, records, inventory="prod.yml", keyword=None, ran_to_end=True, tally=True):
    """Run number n (a second apart), written as a run writes it."""
    run_id = f"20261201T10{n // 60:02d}{n % 60:02d}Z-{n:04x}"
    data = dict(meta(inventory, keyword), run_id=run_id, ran_to_end=ran_to_end)
    if tally:
        data["tally"] = trend.tally(records)
    path = root / run_id / "results.json"
    write_results(path, data, records, 1.0)
    for name in ("results.json", "run.json"):
        os.utime(path.parent / name, ns=(n * 10**9, n * 10**9))
    return run_id


def test_tally_counts_failing_findings_per_severity_and_per_host():
    records = records_with(2) + [rec("dead", "c.ok", "unreachable", "low"),
                                 rec("web1", "c.w", "would-fix", "low"),
                                 rec("web1", "c.x", "waived", "critical")]
    t = trend.tally(records)
    assert t["findings"] == {"critical": 0, "high": 2, "medium": 1, "low": 1, "info": 0}
    assert t["unreachable"] == 1
    assert t["hosts"]["web1"]["findings"] == 3 and t["hosts"]["web2"]["findings"] == 1
    assert t["hosts"]["dead"] == {"findings": 0, "score": None}
    assert t["hosts"]["web2"]["score"] == 62.5     # error medium (3), passed high (5)
    json.dumps(t)                                    # it goes into run.json


def test_the_same_inventory_and_selection_that_ran_to_the_end_oldest_first(tmp_path):
    for n in range(1, 6):
        run(tmp_path, n, records_with(n))
    run(tmp_path, 6, records_with(9), inventory="stage.yml")           # another fleet
    run(tmp_path, 7, records_with(9), keyword="sshd")                  # another selection
    run(tmp_path, 8, records_with(9), ran_to_end=False)                # cut short
    (tmp_path / "latest").symlink_to(tmp_path / "20261201T100005Z-0005")
    now = trend.tally(records_with(0))
    history = trend.read(tmp_path, "20261201T100009Z-0009", meta(), now)
    assert [p.run_id for p in history.points] == [
        f"20261201T1000{n:02d}Z-{n:04x}" for n in range(1, 6)] + ["20261201T100009Z-0009"]
    assert [p.findings["high"] for p in history.points] == [1, 2, 3, 4, 5, 0]
    assert history.host_series("web1") == [1, 2, 3, 4, 5, 0]
    assert history.host_series("web2") == [1] * 6
    assert history.host_series("nowhere") == [None] * 6
    assert history.points[0].label == "2026-12-01 10:00"
    assert history.skipped == 0


def test_at_most_max_runs_the_newest(tmp_path):
    for n in range(1, 41):
        run(tmp_path, n, records_with(n % 5))
    history = trend.read(tmp_path, "this", meta(), trend.tally([]))
    assert len(history.points) == trend.MAX_RUNS
    assert history.points[0].run_id.endswith(f"-{12:04x}")    # 40 - 29 + 1
    assert history.points[-2].run_id.endswith(f"-{40:04x}")
    assert history.points[-1].run_id == "this"


def test_reads_run_json_only_when_it_holds_the_tally(tmp_path, monkeypatch):
    for n in range(1, 4):
        run(tmp_path, n, records_with(n))
    opened = []
    real_open = builtins.open

    def counting_open(path, *args, **kwargs):
        opened.append(os.path.basename(str(path)))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    history = trend.read(tmp_path, "this", meta(), None)
    assert [p.findings["high"] for p in history.points] == [1, 2, 3]
    assert opened == ["run.json"] * 3


def test_old_run_directories_are_tallied_from_their_records(tmp_path):
    run(tmp_path, 1, records_with(3), tally=False)                  # run.json, no tally
    old = run(tmp_path, 2, records_with(4), tally=False)
    (tmp_path / old / "run.json").unlink()                           # before run.json
    history = trend.read(tmp_path, "this", meta(), None)
    assert [p.findings["high"] for p in history.points] == [3, 4]
    assert [p.hosts["web1"]["findings"] for p in history.points] == [3, 4]


def test_broken_and_huge_files_are_skipped_never_a_traceback(tmp_path, monkeypatch):
    run(tmp_path, 1, records_with(1))
    bad_tally = run(tmp_path, 2, records_with(2))
    path = tmp_path / bad_tally / "run.json"
    data = json.loads(path.read_text())
    data["tally"] = {"findings": {"high": "many"}, "hosts": {}}
    path.write_text(json.dumps(data))
    for n, text in ((3, "{broken"), (4, "[" * 100_000), (5, "[1, 2]"), (6, "\xff\xfe")):
        broken = run(tmp_path, n, records_with(n))
        for name in ("run.json", "results.json"):
            (tmp_path / broken / name).write_bytes(text.encode("latin-1"))
    records_bad = run(tmp_path, 7, records_with(7), tally=False)
    results = tmp_path / records_bad / "results.json"
    results.write_text(json.dumps({"run": json.loads(results.read_text())["run"],
                                   "records": [{"host": "x"}]}))
    huge = run(tmp_path, 8, records_with(8), tally=False)
    (tmp_path / huge / "run.json").unlink()
    monkeypatch.setattr(trend, "MAX_RESULTS_BYTES", 2000)
    assert (tmp_path / huge / "results.json").stat().st_size > 2000
    (tmp_path / "20261201T100009Z-0009").mkdir()                     # no results.json
    history = trend.read(tmp_path, "this", meta(), trend.tally([]))
    assert [p.run_id[-4:] for p in history.points] == ["0001", "this"]
    # the bad tally and the unreadable records are of this fleet: counted; files that
    # do not say which fleet they are of are not
    assert history.skipped == 2


def test_the_read_is_bounded(tmp_path, monkeypatch):
    for n in range(1, 21):
        run(tmp_path, n, records_with(1), inventory="stage.yml" if n > 5 else "prod.yml")
    monkeypatch.setattr(trend, "MAX_SCAN", 10)
    assert trend.read(tmp_path, "this", meta(), None).points == []   # 10 newest: stage
    monkeypatch.setattr(trend, "MAX_SCAN", 300)
    assert len(trend.read(tmp_path, "this", meta(), None).points) == 5
    sizes = [(tmp_path / d / "run.json").stat().st_size for d in sorted(os.listdir(tmp_path))]
    monkeypatch.setattr(trend, "MAX_TOTAL_BYTES", sum(sizes[-17:]))   # the 15 stage + 2
    assert len(trend.read(tmp_path, "this", meta(), None).points) == 2


def test_a_missing_reports_directory_is_this_run_alone(tmp_path):
    history = trend.read(tmp_path / "nothing", "this", meta(), trend.tally(records_with(2)))
    assert [p.run_id for p in history.points] == ["this"]


@pytest.mark.parametrize("bad", [None, [], {"findings": {}, "hosts": {"a": {"findings": -1}}},
                                 {"findings": {"high": True}, "hosts": {}},
                                 {"findings": {}, "hosts": {"a": {"findings": 1,
                                                                  "score": "x"}}}])
def test_a_tally_not_as_written_is_no_point(bad):
    assert trend.point("r", bad) is None
