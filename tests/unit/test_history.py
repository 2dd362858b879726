"""Which earlier run a run is compared with (fleetcheck.report.history.find_previous)."""

import json
import os

from fleetcheck.report import history


def make_run(root, run_id, inventory, mtime_ns=None, text=None):
    run_dir = root / run_id
    run_dir.mkdir()
    path = run_dir / "results.json"
    path.write_text(text if text is not None else json.dumps(
        {"run": {"run_id": run_id, "inventory": inventory}, "records": []}))
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
    found = history.find_previous(tmp_path, "20261101T150000Z-ffff", {"inventory": ["prod.yml"]})
    assert found == want


def test_file_time_orders_runs_of_the_same_second(tmp_path):
    make_run(tmp_path, "20261101T100000Z-zzzz", ["prod.yml"], mtime_ns=1_000)
    want = make_run(tmp_path, "20261101T100000Z-aaaa", ["prod.yml"], mtime_ns=2_000)
    assert history.find_previous(tmp_path, "now", {"inventory": ["prod.yml"]}) == want


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
    found = history.find_previous(tmp_path, "now", {"inventory": ["prod.yml"]})
    assert found.parent.name == "20261101T210000Z-aaaa"
    assert read == ["20261101T230000Z-bbbb", "20261101T210000Z-aaaa"]


def test_no_earlier_run(tmp_path):
    assert history.find_previous(tmp_path / "missing", "now", {"inventory": ["a"]}) is None
    make_run(tmp_path, "20261101T100000Z-aaaa", ["other.yml"])
    assert history.find_previous(tmp_path, "now", {"inventory": ["a"]}) is None
