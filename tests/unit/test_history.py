"""Which earlier run a run is compared with (fleetcheck.report.history.find_previous)."""

import json
import os

from fleetcheck.report import history
from fleetcheck.report.records import Record


def selection(keyword=None, limit=None):
    return {"checks": {"keyword": keyword, "subset": bool(keyword)},
            "hosts": {"limit": limit, "where": [], "include_offline": False}}


def meta(inventory, keyword=None, limit=None):
    return {"inventory": inventory, "selection": selection(keyword, limit)}


def make_run(root, run_id, inventory, mtime_ns=None, text=None, keyword=None, limit=None,
             ran_to_end=True, records=()):
    run_dir = root / run_id
    run_dir.mkdir()
    path = run_dir / "results.json"
    run = {"run_id": run_id, **meta(inventory, keyword, limit), "ran_to_end": ran_to_end}
    path.write_text(text if text is not None else json.dumps(
        {"run": run, "records": [r.to_json() for r in records]}))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_newest_run_of_the_same_inventory(tmp_path):
    make_run(tmp_path, "20261101T100000Z-aaaa", ["prod.yml"])
    want = make_run(tmp_path, "20261101T110000Z-bbbb", ["prod.yml"])
    make_run(tmp_path, "20261101T120000Z-cccc", ["stage.yml"])       # other inventory
    make_run(tmp_path, "20261101T130000Z-dddd", ["prod.yml"], text="{broken")
    (tmp_path / "20261101T140000Z-eeee").mkdir()                     # no results.json
    (tmp_path / "latest").symlink_to(tmp_path / "20261101T100000Z-aaaa")
    make_run(tmp_path, "20261101T150000Z-ffff", ["prod.yml"])         # this run
    found = history.find_previous(tmp_path, "20261101T150000Z-ffff", meta(["prod.yml"]))
    assert found == want


def test_file_time_orders_runs_of_the_same_second(tmp_path):
    make_run(tmp_path, "20261101T100000Z-zzzz", ["prod.yml"], mtime_ns=1_000)
    want = make_run(tmp_path, "20261101T100000Z-aaaa", ["prod.yml"], mtime_ns=2_000)
    assert history.find_previous(tmp_path, "now", meta(["prod.yml"])) == want


def test_reads_only_runs_newer_than_the_one_found(tmp_path, monkeypatch):
    """A reports directory keeps every run: finding the previous one must not read
    them all (an hourly audit would get slower every hour)."""
    for hour in range(10, 22):
        make_run(tmp_path, f"20261101T{hour}0000Z-aaaa", ["prod.yml"])
    make_run(tmp_path, "20261101T230000Z-bbbb", ["stage.yml"])
    read = []
    real_load = json.load

    def counting_load(fh, *args, **kwargs):
        read.append(os.path.basename(os.path.dirname(fh.name)))
        return real_load(fh, *args, **kwargs)

    monkeypatch.setattr(history.json, "load", counting_load)
    found = history.find_previous(tmp_path, "now", meta(["prod.yml"]))
    assert found.parent.name == "20261101T210000Z-aaaa"
    assert read == ["20261101T230000Z-bbbb", "20261101T210000Z-aaaa"]


def test_no_earlier_run(tmp_path):
    assert history.find_previous(tmp_path / "missing", "now", meta(["a"])) is None
    make_run(tmp_path, "20261101T100000Z-aaaa", ["other.yml"])
    assert history.find_previous(tmp_path, "now", meta(["a"])) is None


def test_same_selection_only(tmp_path):
    """A full run is compared with the last full run, never with a -k subset or a
    --limit run in between; a subset with the last run of that subset."""
    full = make_run(tmp_path, "20261101T100000Z-aaaa", ["prod.yml"])
    raid = make_run(tmp_path, "20261101T110000Z-bbbb", ["prod.yml"], keyword="raid")
    make_run(tmp_path, "20261101T120000Z-cccc", ["prod.yml"], limit="web1")
    assert history.find_previous(tmp_path, "now", meta(["prod.yml"])) == full
    assert history.find_previous(tmp_path, "now", meta(["prod.yml"], "raid")) == raid
    assert history.find_previous(tmp_path, "now", meta(["prod.yml"], "sshd")) is None


def test_runs_that_did_not_run_to_the_end_are_never_the_previous(tmp_path):
    want = make_run(tmp_path, "20261101T100000Z-aaaa", ["prod.yml"])
    make_run(tmp_path, "20261101T110000Z-bbbb", ["prod.yml"], ran_to_end=False)
    # written before runs said whether they were complete: not compared with
    make_run(tmp_path, "20261101T120000Z-cccc", ["prod.yml"], text=json.dumps(
        {"run": {"run_id": "x", "inventory": ["prod.yml"]}, "records": []}))
    assert history.find_previous(tmp_path, "now", meta(["prod.yml"])) == want


def rec(host, check, outcome):
    return Record(host=host, check_id=check, test_id=f"{check}[{host}]", nodeid="t.py::x",
                  severity="high", title="t", outcome=outcome)


def test_common_records_only_for_an_incomplete_run():
    before = [rec("a", "raid.md", "failed"), rec("a", "sshd.config", "failed"),
              rec("b", "raid.md", "passed")]
    now = [rec("a", "raid.md", "passed"), rec("b", "raid.md", "failed"),
           rec("c", "raid.md", "failed")]   # c: not in the previous run
    full = history.diff(before, now, "prev")
    assert [r.host for r in full.new_failures] == ["b", "c"]
    assert [g["check_id"] for g in full.gone] == ["sshd.config"]
    common = history.diff(before, now, "prev", common_only=True)
    assert [r.host for r in common.new_failures] == ["b"]
    assert [r.host for r in common.resolved] == ["a"]
    assert common.gone == [] and common.to_json()["common_records_only"] is True
    assert common.describe().endswith("(of the records both runs have)")
