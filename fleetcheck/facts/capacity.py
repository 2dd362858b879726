"""The vars of the capacity checks (checks/test_capacity.py): their schema only.

Not a fact (it is not in fleetcheck.facts.REGISTRY): capacity reads several facts
(vmstat, meminfo, loadavg, df, nproc), and its vars are one mapping, so they are
declared here, where an area's vars are looked for (fleetcheck/facts/<area>.py), and
collected by fleetcheck.varschema. A threshold is ``{warn, crit}``, each a number or a
Nagios range (fleetcheck/thresholds.py); the defaults are those of
fleetcheck/data/local.yml, which sits under every inventory.
"""

from __future__ import annotations


def threshold(description: str, warn: float | None = None, crit: float | None = None) -> dict:
    """The schema of one ``{warn, crit}`` pair (either may be set alone: a group sets
    warn, a host crit)."""
    level = {"type": ["number", "string"], "format": "nagios-range",
             "x-expected": "a number or a Nagios range (\"~:85\", \"10:\", \"@0:5\")"}
    schema = {
        "type": "object", "description": description,
        "x-expected": "{warn, crit} (each a number or a Nagios range)",
        "properties": {
            "warn": dict(level, description="the warning threshold (medium severity)"),
            "crit": dict(level, description="the critical threshold (the check's severity); "
                         "numbers: a higher value is worse when crit >= warn, a lower "
                         "one when crit < warn"),
        },
        "additionalProperties": False,
    }
    if warn is not None:
        schema["default"] = {"warn": warn, "crit": crit}
    return schema


def _positive_int(description: str, default: int) -> dict:
    return {"type": "integer", "minimum": 1, "description": description, "default": default}


def _section(description: str, properties: dict) -> dict:
    return {"type": "object", "description": description, "properties": properties,
            "additionalProperties": False}


_DISK = {
    "usage_pct": threshold("space used % per mount", 85, 95),
    "inodes_pct": threshold("inodes used % per mount", 85, 95),
}
# a per-mount override has no default of its own: what it does not set is capacity.disk's
_MOUNT = {
    "usage_pct": threshold("space used % on the mounts the pattern matches"),
    "inodes_pct": threshold("inodes used % on the mounts the pattern matches"),
}

VARS = {
    "capacity": _section("thresholds of the capacity checks (capacity.*)", {
        "vmstat": _section("capacity.vmstat: `vmstat INTERVAL SAMPLES`, the percentile "
                           "of the live samples judged", {
            "interval": _positive_int("seconds between samples", 1),
            "samples": _positive_int("samples (the first line, averages since boot, is "
                                     "not judged)", 6),
            "percentile": {"type": "number", "exclusiveMinimum": 0, "maximum": 100,
                           "description": "the percentile of the samples judged (50, "
                                          "the median: a breach must last half the "
                                          "samples)",
                           "default": 50},
            "run_queue_per_cpu": threshold("runnable processes per CPU", 2.0, 4.0),
            "swap_in_kbps": threshold("swap-in KiB/s", 100, 1000),
            "swap_out_kbps": threshold("swap-out KiB/s", 100, 1000),
            "iowait_pct": threshold("CPU time waiting for I/O, %", 20, 40),
            "free_memory_mb": threshold("free + buffers + cache, MiB (lower is worse)",
                                        256, 64),
        }),
        "memory": _section("capacity.memory: /proc/meminfo", {
            "available_pct": threshold("MemAvailable % of MemTotal", 10, 5),
            "available_mb": threshold("MemAvailable, MiB"),
            "swap_used_pct": threshold("swap used %", 50, 80),
        }),
        "load": _section("capacity.load: /proc/loadavg per CPU", {
            "load1_per_cpu": threshold("1-minute load per CPU"),
            "load5_per_cpu": threshold("5-minute load per CPU", 2.0, 4.0),
            "load15_per_cpu": threshold("15-minute load per CPU", 1.5, 3.0),
        }),
        "disk": _section("capacity.disk: `df -PT` and `df -Pi` per mount", {
            **_DISK,
            "ignore_types": {"type": "array", "items": {"type": "string",
                                                        "description": "a filesystem type"},
                             "description": "filesystem types not judged",
                             "default": ["tmpfs", "devtmpfs", "squashfs", "iso9660", "udf",
                                         "nsfs"]},
            "mounts": {"type": "object", "description": "per-mount thresholds: glob "
                       "pattern of mount points -> {usage_pct, inodes_pct}",
                       "additionalProperties": _section("the thresholds of the mounts "
                                                        "the pattern matches", _MOUNT)},
        }),
    }),
}
