"""Capacity: is the host keeping up? Thresholds are inventory vars under `capacity`
(numbers, or Nagios ranges: see fleetcheck/thresholds.py); a warning is reported at
low severity (thresholds.severity_for), a critical breach at the check's own. No automatic fix: the record
says what to look at."""

import fnmatch

import pytest

from fleetcheck.facts.base import FactError
from fleetcheck.thresholds import evaluate, percentile, severity_for
from fleetcheck.values import shown


def _judge(evidence, measured, thresholds, crit_severity, advice):
    levels, breaches = evaluate(measured, thresholds)
    evidence.add(measured=measured, levels=levels,
                 thresholds={k: thresholds[k] for k in levels})
    evidence.severity = severity_for(levels, crit_severity)
    evidence.advice = advice
    assert not breaches, "; ".join(breaches)


@pytest.mark.check("capacity.vmstat", severity="high", facts=["vmstat", "nproc"],
                   title="run queue, swapping, iowait and free memory within thresholds",
                   compare={"measured": ("thresholds", "measured"),
                            "levels": (None, "levels"),
                            "samples": (None, "samples")})
def test_vmstat(host, facts, evidence):
    """`vmstat 1 6`: the median of the 5 live samples (a breach must last 3 of the 5
    seconds: a busy second or two is normal on a healthy box, and a high percentile of
    few samples is nearly their maximum) of the run queue per CPU, swap in/out, iowait
    and free memory (free+buffers+cache) against the `capacity.vmstat` warn/crit
    thresholds; high, low on a warning."""
    cfg = host.vars.get("capacity", {}).get("vmstat", {})
    pct = float(cfg.get("percentile", 50))
    samples = facts.vmstat.live
    cpus = facts.nproc.cpus
    # a vmstat without the `wa` column has no iowait to judge (percentile of None failed)
    iowait = [s.cpu_iowait for s in samples if s.cpu_iowait is not None]
    # A percentile of the samples: the bad end for "higher is worse" metrics, the
    # low end (100 - pct) for free memory, where lower is worse.
    measured = {
        "run_queue_per_cpu": round(percentile([s.runnable for s in samples], pct) / cpus, 2),
        "swap_in_kbps": percentile([s.swap_in_kbps for s in samples], pct),
        "swap_out_kbps": percentile([s.swap_out_kbps for s in samples], pct),
        "iowait_pct": percentile(iowait, pct) if iowait else None,
        "free_memory_mb": round(percentile(
            [(s.free_kb + (s.buff_kb or 0) + (s.cache_kb or 0)) / 1024 for s in samples],
            100 - pct), 1),
    }
    evidence.add(samples=len(samples), percentile=pct, cpus=cpus)
    _judge(evidence, measured, cfg, "high",
           "see top/ps for the busy processes, free -m, iostat -x for the disks")


@pytest.mark.check("capacity.memory", severity="high", facts=["meminfo"],
                   title="available memory and swap use within thresholds",
                   compare={"measured": ("thresholds", "measured"),
                            "levels": (None, "levels"),
                            "memory (MB)": (None, "total_mb")})
def test_memory(host, facts, evidence):
    """`/proc/meminfo`: available memory (% and MB) and swap used (%) against
    `capacity.memory`; high, low on a warning."""
    mem = facts.meminfo
    measured = {"available_pct": mem.available_pct, "swap_used_pct": mem.swap_used_pct,
                "available_mb": round(mem.available_kb / 1024, 1)}
    evidence.add(total_mb=round(mem.total_kb / 1024, 1),
                 swap_total_mb=round(mem.swap_total_kb / 1024, 1))
    _judge(evidence, measured, host.vars.get("capacity", {}).get("memory", {}), "high",
           "ps aux --sort=-rss | head; is a process leaking? is swap thrashing (vmstat si/so)?")


@pytest.mark.check("capacity.load", severity="medium", facts=["loadavg", "nproc"],
                   title="load average per CPU within thresholds",
                   compare={"measured": ("thresholds", "measured"),
                            "levels": (None, "levels"),
                            "load 1/5/15 min": (None, "load"),
                            "CPUs": (None, "cpus")})
def test_load(host, facts, evidence):
    """`/proc/loadavg` per CPU over 1, 5 and 15 minutes against `capacity.load`."""
    load, cpus = facts.loadavg, facts.nproc.cpus
    measured = {"load1_per_cpu": round(load.load1 / cpus, 2),
                "load5_per_cpu": round(load.load5 / cpus, 2),
                "load15_per_cpu": round(load.load15 / cpus, 2)}
    evidence.add(cpus=cpus, load=[load.load1, load.load5, load.load15])
    _judge(evidence, measured, host.vars.get("capacity", {}).get("load", {}), "medium",
           "uptime; top (by CPU) and ps -eo stat | grep D (processes stuck on I/O)")


def _df(facts, **params):
    """The df fact. Its command sends a mount point that is not UTF-8 escaped
    (fleetcheck.facts.df: `/mnt/caf\\xe9`, judged like any other mount); output that
    still cannot be decoded (df's error message naming such a mount, read by the
    connection) is an error that shows the bytes, not a traceback."""
    try:
        return facts.get("df", **params)
    except UnicodeDecodeError as exc:
        near = exc.object[max(0, exc.start - 40):exc.end + 40]
        raise FactError(f"df{' -Pi' if params else ''}: the output is not UTF-8 (byte "
                        f"{exc.object[exc.start]:#04x}) near {shown(near)}") from None


@pytest.mark.check("capacity.disk", severity="high",
                   facts=["df", ("df", {"inodes": True})],
                   title="filesystem space and inodes within thresholds, per mount",
                   compare={"mounts": (None, "mounts"),
                            "filesystem types left out": (None, "ignored_types")})
def test_disk(host, facts, evidence):
    """`df -PT` and `df -Pi`: usage % and inode % of every mount against
    `capacity.disk`, with per-mount thresholds by glob (`capacity.disk.mounts`) and
    pseudo filesystems ignored (`ignore_types`); high, low on a warning."""
    cfg = host.vars.get("capacity", {}).get("disk", {})
    ignore = set(cfg.get("ignore_types", []))
    blocks = [fs for fs in _df(facts).filesystems if fs.fstype not in ignore]
    inodes = _df(facts, inodes=True).by_mount()
    if not blocks:
        pytest.skip("no filesystem to judge (all of an ignored type)")
    breaches, per_mount, crit_seen = [], {}, False
    for fs in blocks:
        thresholds = dict(cfg)
        for pattern, override in (cfg.get("mounts") or {}).items():
            if fnmatch.fnmatchcase(fs.mount, pattern):
                thresholds.update(override)
        ino = inodes.get(fs.mount)
        measured = {"usage_pct": fs.used_pct, "inodes_pct": ino.used_pct if ino else None}
        levels, found = evaluate(measured, thresholds)
        per_mount[fs.mount] = dict(measured, levels=levels, fstype=fs.fstype)
        breaches += [f"{fs.mount}: {b}" for b in found]
        crit_seen |= "crit" in levels.values()
    evidence.add(mounts=per_mount, ignored_types=sorted(ignore))
    evidence.severity = "high" if crit_seen else "low"
    evidence.advice = "du -xh --max-depth=2 MOUNT | sort -h; find MOUNT -xdev -type f | wc -l"
    assert not breaches, "; ".join(breaches)


@pytest.mark.check("capacity.iostat", severity="medium", facts=["iostat"],
                   title="per-device utilisation, await and queue size within thresholds",
                   compare={"devices": (None, "devices"),
                            "devices left out": (None, "ignored")})
def test_iostat(host, facts, evidence):
    """`iostat -dxy -o JSON INTERVAL 1` (sysstat): over one sample of
    `capacity.iostat.interval` seconds, every device's utilisation (util), the worse of
    its read and write wait (r_await, w_await: ms per request, queue included; judged
    only at `min_iops` requests/s or more) and its queue (aqu-sz) against
    `capacity.iostat`; devices matching `ignore` (loop, ram, zram, CD-ROM) left out.
    Medium, low on a warning. Not applicable without sysstat or a device to judge."""
    cfg = host.vars.get("capacity", {}).get("iostat", {}) or {}
    stats = facts.iostat
    if not stats.installed:
        pytest.skip("iostat is not installed (sysstat)")
    ignore = [str(g) for g in cfg.get("ignore") or ()]
    devices = {d.device: d for sample in stats.samples for d in sample
               if not any(fnmatch.fnmatchcase(d.device, g) for g in ignore)}
    if not devices:
        pytest.skip("no block device to judge (all ignored or none reported)")
    min_iops = float(cfg.get("min_iops", 5) or 0)
    breaches, per_device, crit_seen = [], {}, False
    for name, dev in devices.items():
        measured = {"util_pct": dev.util_pct, "queue_size": dev.queue_size,
                    "await_ms": dev.await_ms if dev.iops >= min_iops else None}
        levels, found = evaluate(measured, cfg)
        per_device[name] = dict(measured, iops=dev.iops, levels=levels)
        breaches += [f"{name}: {b}" for b in found]
        crit_seen |= "crit" in levels.values()
    evidence.add(devices=per_device, interval_s=cfg.get("interval", 2), ignored=ignore)
    evidence.severity = "medium" if crit_seen else "low"
    evidence.advice = "iotop -o / pidstat -d 1 for the processes; iostat -x 1 to watch; " \
                      "a slow disk in a RAID (smartctl), the scheduler, the workload"
    assert not breaches, "; ".join(breaches)
