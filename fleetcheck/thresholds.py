"""Warn/crit thresholds and percentiles for capacity checks.

A threshold pair comes from inventory vars in one of two styles:

- numbers, `{warn: 80, crit: 90}`: when crit >= warn a higher value is worse (run
  queue, disk usage); when crit < warn a lower value is worse (free memory);
- Nagios ranges (strings), `{warn: "~:80", crit: "@0:5"}`, as in the Nagios plugin
  guidelines: `10` alerts outside 0..10, `10:` below 10, `~:10` above 10, `10:20`
  outside 10..20, `@10:20` inside 10..20.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OK, WARN, CRIT = "ok", "warn", "crit"
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^(@)?(?:(~|{_NUM})?:)?({_NUM})?$")


class ThresholdError(ValueError):
    """A threshold in the inventory is malformed; the message says which and why."""


@dataclass(frozen=True)
class NagiosRange:
    start: float       # -inf for "~"
    end: float         # +inf when empty after ':'
    inside: bool       # "@": alert when inside the range
    text: str

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within


def parse_range(text: str) -> NagiosRange:
    m = _RANGE.match(text.strip())
    if not m or text.strip() in ("", "@"):
        raise ThresholdError(f"not a Nagios range: {text!r}")
    inside, start, end = m.group(1) is not None, m.group(2), m.group(3)
    if ":" not in text:
        lo, hi = 0.0, float(end)
    else:
        lo = -math.inf if start == "~" else float(start or 0)
        hi = math.inf if end is None else float(end)
    if lo > hi:
        raise ThresholdError(f"Nagios range {text!r}: start is above end")
    return NagiosRange(lo, hi, inside, text.strip())


def _is_range(spec: Mapping) -> bool:
    return isinstance(spec.get("warn"), str) or isinstance(spec.get("crit"), str)


def higher_is_worse(spec: Mapping) -> bool:
    return float(spec["crit"]) >= float(spec["warn"])


def judge(value: float, spec: Mapping) -> str:
    if _is_range(spec):
        for level in (CRIT, WARN):
            if level in spec and parse_range(str(spec[level])).alerts(value):
                return level
        return OK
    warn, crit = float(spec["warn"]), float(spec["crit"])
    if higher_is_worse(spec):
        return CRIT if value >= crit else WARN if value >= warn else OK
    return CRIT if value <= crit else WARN if value <= warn else OK


def describe(name: str, value: float, spec: Mapping, level: str) -> str:
    if _is_range(spec):
        return f"{name} {value:g} outside {level} range {spec[level]}"
    op = ">=" if higher_is_worse(spec) else "<="
    return f"{name} {value:g} {op} {level} {spec[level]:g}"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def evaluate(measured: Mapping[str, float | None], thresholds: Mapping) -> tuple[dict, list]:
    """Levels of every measured value that has a threshold, and the breach texts."""
    levels, breaches = {}, []
    for name, value in measured.items():
        spec = thresholds.get(name)
        if value is None or not isinstance(spec, Mapping):
            continue
        levels[name] = judge(value, spec)
        if levels[name] != OK:
            breaches.append(describe(name, value, spec, levels[name]))
    return levels, breaches


def severity_for(levels: Mapping[str, str], crit_severity: str) -> str:
    """A warning is low (early notice: reported, and under `--fail-on medium`, as
    `make audit` runs, it does not fail the run); a critical breach takes the check's
    own severity."""
    return crit_severity if CRIT in levels.values() else "low"
