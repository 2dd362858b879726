"""The two first checks, end to end on this machine (local://).

raid.md_healthy: this machine has no md driver, so the test places REAL captured
/proc/mdstat contents (tests/fixtures/facts/mdstat, each with its source) in a file
and points the check at it with the inventory var raid.mdstat_path, as an admin
would to ask "what would fleetcheck say about this output".
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MDSTAT = ROOT / "tests" / "fixtures" / "facts" / "mdstat"


def run_check(pytester, check: str, vars_yaml: str, *args: str):
    pytester.makefile(".yml", inv=f"""
all:
  vars:
{vars_yaml}
  hosts:
    box: {{ansible_connection: local}}
""")
    res = pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly",
                             str(ROOT / "checks" / check), "--rootdir", str(pytester.path),
                             *args)
    data = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    (record,) = data["records"]
    return res, record


@pytest.mark.parametrize("fixture, outcome, severity, words", [
    ("raid6_bitmap", "passed", "critical", []),
    ("raid0_raid1_nvme", "passed", "critical", []),
    ("raid5_failed_disk_centos7", "failed", "critical", ["degraded"]),
    ("raid1_faulty_six_way", "failed", "critical", ["degraded"]),
    ("raid5_recovery", "failed", "critical", ["degraded"]),
    ("raid10_resync_pending_debian12", "failed", "medium", ["resync", "pending"]),
    ("raid1_check_and_pending", "failed", "medium", ["check", "ETA"]),
    ("inactive_one_spare", "failed", "critical", ["inactive"]),
    ("no_arrays_centos7", "not-applicable", "critical", ["no md arrays"]),
    # the active set complete beside two faulty devices (procfs' md9): a warning
    ("raid1_failed_spares_complete_procfs", "failed", "medium",
     ["complete (4/4)", "2 failed spare(s) outside the active set: sde, sdf"]),
    ("imsm_container_raid1_vroc_nvme", "passed", "critical", []),
])
def test_md_healthy_on_real_mdstat(pytester, fixture, outcome, severity, words):
    path = MDSTAT / f"{fixture}.txt"
    res, rec = run_check(pytester, "test_raid.py",
                         f"    raid: {{mdstat_path: '{path}'}}")
    assert (rec["outcome"], rec["severity"]) == (outcome, severity), rec
    for word in words:
        assert word in rec["message"], rec["message"]
    if outcome == "failed":
        assert rec["evidence"], "the arrays' state is the evidence"


def test_md_healthy_failed_spare_evidence(pytester):
    path = MDSTAT / "raid1_failed_spares_complete_procfs.txt"
    res, rec = run_check(pytester, "test_raid.py", f"    raid: {{mdstat_path: '{path}'}}")
    md9 = rec["evidence"]["md9"]
    assert (md9["disks"], md9["failed"], md9["failed_spares"], md9["failed_devices"]) == (
        "4/4", 2, 2, ["sde", "sdf"])
    assert "degraded" not in rec["message"]


def test_md_healthy_imsm_container_and_declared_member(pytester):
    path = MDSTAT / "imsm_container_raid1_vroc_nvme.txt"
    res, rec = run_check(pytester, "test_raid.py",
                         f"    raid: {{mdstat_path: '{path}', "
                         "arrays: [{name: md126, level: raid1, devices: 2}]}")
    assert rec["outcome"] == "passed", rec
    assert rec["evidence"]["md127"]["container"] is True
    assert rec["evidence"]["md126"]["member_of"] == "md127"


def test_md_healthy_without_md_driver(pytester, tmp_path):
    res, rec = run_check(pytester, "test_raid.py",
                         f"    raid: {{mdstat_path: '{tmp_path / 'absent'}'}}")
    assert rec["outcome"] == "not-applicable"
    assert "no md driver" in rec["message"]


# Thresholds no machine breaches, so a busy CI machine cannot change the outcome.
GENEROUS = """run_queue_per_cpu: {warn: 1000, crit: 2000}, iowait_pct: {warn: 101, crit: 102},
               swap_in_kbps: {warn: 1e12, crit: 2e12}, swap_out_kbps: {warn: 1e12, crit: 2e12}"""


def test_vmstat_passes_with_generous_thresholds(pytester):
    res, rec = run_check(pytester, "test_capacity.py", f"""    capacity:
      vmstat: {{samples: 2, interval: 1, percentile: 90, {GENEROUS},
               free_memory_mb: {{warn: 1, crit: 0}}}}""", "-k", "vmstat")
    assert rec["outcome"] == "passed", rec
    measured = rec["evidence"]["measured"]
    assert rec["evidence"]["samples"] == 1  # the since-boot line is not judged
    assert measured["free_memory_mb"] > 1 and measured["run_queue_per_cpu"] >= 0


def test_vmstat_critical_and_warning(pytester):
    # Lower is worse for free memory: no machine has a petabyte free.
    res, rec = run_check(pytester, "test_capacity.py", f"""    capacity:
      vmstat: {{samples: 2, interval: 1, {GENEROUS},
               free_memory_mb: {{warn: 2000000000, crit: 1000000000}}}}""", "-k", "vmstat")
    assert (rec["outcome"], rec["severity"]) == ("failed", "high")
    assert "free_memory_mb" in rec["message"] and "crit" in rec["message"]
    levels = rec["evidence"]["levels"]
    assert levels.pop("free_memory_mb") == "crit" and set(levels.values()) == {"ok"}
    res, rec = run_check(pytester, "test_capacity.py", f"""    capacity:
      vmstat: {{samples: 2, interval: 1, {GENEROUS},
               free_memory_mb: {{warn: 2000000000, crit: 0}}}}""", "-k", "vmstat")
    assert (rec["outcome"], rec["severity"]) == ("failed", "low")   # a warning is low
    assert "warn" in rec["message"]


@pytest.mark.parametrize("declared, outcome, severity, words", [
    ("[{name: md0, level: raid6, devices: 7}]", "passed", "critical", []),
    ("[{name: md9, level: raid1}]", "failed", "critical", ["md9 is missing"]),
    ("[{name: md0, level: raid5}]", "failed", "high", ["md0 is raid6, declared raid5"]),
    ("[{name: md0, devices: 4}]", "failed", "high", ["declared 4"]),
])
def test_md_declared_arrays(pytester, declared, outcome, severity, words):
    path = MDSTAT / "raid6_bitmap.txt"
    res, rec = run_check(pytester, "test_raid.py",
                         f"    raid: {{mdstat_path: '{path}', arrays: {declared}}}")
    assert (rec["outcome"], rec["severity"]) == (outcome, severity), rec
    for word in words:
        assert word in rec["message"]


def test_md_declared_but_no_md_driver_is_critical(pytester, tmp_path):
    res, rec = run_check(pytester, "test_raid.py",
                         f"    raid: {{mdstat_path: '{tmp_path / 'absent'}', "
                         "arrays: [{name: md0, level: raid1}]}")
    assert (rec["outcome"], rec["severity"]) == ("failed", "critical")
    assert "md0 is missing" in rec["message"]


def test_memory_load_disk_on_this_machine(pytester):
    # Nagios ranges and numbers side by side; limits no machine reaches pass...
    res, rec = run_check(pytester, "test_capacity.py", """    capacity:
      memory: {available_pct: {warn: "0.001:", crit: "@0:0.0001"}}""", "-k", "memory")
    assert rec["outcome"] == "passed" and rec["evidence"]["levels"] == {
        "available_pct": "ok", "swap_used_pct": "ok"}, rec
    # ...and limits every machine breaches fail, each with its measured value.
    res, rec = run_check(pytester, "test_capacity.py", """    capacity:
      load: {load1_per_cpu: {warn: -2, crit: -1}}""", "-k", "load")
    assert (rec["outcome"], rec["severity"]) == ("failed", "medium"), rec
    assert "load1_per_cpu" in rec["message"] and "crit" in rec["message"]
    res, rec = run_check(pytester, "test_capacity.py", """    capacity:
      disk: {mounts: {"/": {usage_pct: {warn: "~:0", crit: "~:100"}}}}""", "-k", "disk")
    assert (rec["outcome"], rec["severity"]) == ("failed", "low"), rec   # a warning
    assert rec["evidence"]["mounts"]["/"]["levels"]["usage_pct"] == "warn"
    assert "/: usage_pct" in rec["message"]
