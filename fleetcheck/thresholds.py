"""Warn/crit thresholds and percentiles for capacity checks.

A threshold is `{warn: W, crit: C}` from inventory vars. When C >= W a higher value
is worse (run queue, iowait); when C < W a lower value is worse (free memory).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

OK, WARN, CRIT = "ok", "warn", "crit"


def higher_is_worse(spec: Mapping) -> bool:
    return float(spec["crit"]) >= float(spec["warn"])


def judge(value: float, spec: Mapping) -> str:
    warn, crit = float(spec["warn"]), float(spec["crit"])
    if higher_is_worse(spec):
        return CRIT if value >= crit else WARN if value >= warn else OK
    return CRIT if value <= crit else WARN if value <= warn else OK


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def describe(name: str, value: float, spec: Mapping, level: str) -> str:
    op = ">=" if higher_is_worse(spec) else "<="
    return f"{name} {value:g} {op} {level} {spec[level]:g}"
