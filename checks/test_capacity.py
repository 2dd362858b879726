"""Capacity: is the host keeping up? Judged on several samples, not one."""

import pytest

from fleetcheck.thresholds import CRIT, OK, WARN, describe, judge, percentile


@pytest.mark.check("capacity.vmstat", severity="high",
                   title="run queue, swapping, iowait and free memory within thresholds")
def test_vmstat(host, facts, evidence):
    cfg = host.vars.get("capacity", {}).get("vmstat", {})
    pct = float(cfg.get("percentile", 90))
    samples = facts.vmstat.live
    cpus = facts.nproc.cpus
    # A percentile of the samples: the bad end for "higher is worse" metrics, the
    # low end (100 - pct) for free memory, where lower is worse.
    measured = {
        "run_queue_per_cpu": round(percentile([s.runnable for s in samples], pct) / cpus, 2),
        "swap_in_kbps": percentile([s.swap_in_kbps for s in samples], pct),
        "swap_out_kbps": percentile([s.swap_out_kbps for s in samples], pct),
        "iowait_pct": percentile([s.cpu_iowait for s in samples], pct),
        "free_memory_mb": round(percentile(
            [(s.free_kb + (s.buff_kb or 0) + (s.cache_kb or 0)) / 1024 for s in samples],
            100 - pct), 1),
    }
    levels = {name: judge(value, cfg[name]) for name, value in measured.items() if name in cfg}
    evidence.add(samples=len(samples), percentile=pct, cpus=cpus, measured=measured,
                 thresholds={name: cfg[name] for name in levels}, levels=levels)
    breaches = [describe(n, measured[n], cfg[n], lvl) for n, lvl in levels.items() if lvl != OK]
    if WARN in levels.values() and CRIT not in levels.values():
        evidence.severity = "medium"
    evidence.advice = "see top/ps for the busy processes, free -m, iostat -x for the disks"
    assert not breaches, "; ".join(breaches)
