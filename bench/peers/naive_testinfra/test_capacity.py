"""capacity.vmstat, .memory, .load, .disk: the same measures and inventory thresholds."""

import fnmatch

import pytest

from fleetcheck.thresholds import evaluate, percentile


def within(measured, thresholds):
    __tracebackhide__ = True
    _, breaches = evaluate(measured, thresholds)
    assert not breaches, "; ".join(breaches)


def test_vmstat(entry, facts):
    cfg = entry.vars.get("capacity", {}).get("vmstat", {})
    pct = float(cfg.get("percentile", 90))
    samples = facts.vmstat.live
    cpus = facts.nproc.cpus
    within({
        "run_queue_per_cpu": round(percentile([s.runnable for s in samples], pct) / cpus, 2),
        "swap_in_kbps": percentile([s.swap_in_kbps for s in samples], pct),
        "swap_out_kbps": percentile([s.swap_out_kbps for s in samples], pct),
        "iowait_pct": percentile([s.cpu_iowait for s in samples], pct),
        "free_memory_mb": round(percentile(
            [(s.free_kb + (s.buff_kb or 0) + (s.cache_kb or 0)) / 1024 for s in samples],
            100 - pct), 1),
    }, cfg)


def test_memory(entry, facts):
    mem = facts.meminfo
    within({"available_pct": mem.available_pct, "swap_used_pct": mem.swap_used_pct,
            "available_mb": round(mem.available_kb / 1024, 1)},
           entry.vars.get("capacity", {}).get("memory", {}))


def test_load(entry, facts):
    load, cpus = facts.loadavg, facts.nproc.cpus
    within({"load1_per_cpu": round(load.load1 / cpus, 2),
            "load5_per_cpu": round(load.load5 / cpus, 2),
            "load15_per_cpu": round(load.load15 / cpus, 2)},
           entry.vars.get("capacity", {}).get("load", {}))


def test_disk(entry, facts):
    cfg = entry.vars.get("capacity", {}).get("disk", {})
    ignore = set(cfg.get("ignore_types", []))
    blocks = [fs for fs in facts.df.filesystems if fs.fstype not in ignore]
    inodes = facts.get("df", inodes=True).by_mount()
    if not blocks:
        pytest.skip("no filesystem to judge")
    breaches = []
    for fs in blocks:
        thresholds = dict(cfg)
        for pattern, override in (cfg.get("mounts") or {}).items():
            if fnmatch.fnmatchcase(fs.mount, pattern):
                thresholds.update(override)
        ino = inodes.get(fs.mount)
        _, found = evaluate({"usage_pct": fs.used_pct,
                             "inodes_pct": ino.used_pct if ino else None}, thresholds)
        breaches += [f"{fs.mount}: {b}" for b in found]
    assert not breaches, "; ".join(breaches)
