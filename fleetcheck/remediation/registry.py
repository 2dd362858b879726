"""remediate/<area>.py registers a plan function per check id.

    from fleetcheck.remediation import fix

    @fix("sysctl.value")
    def plan_sysctl(ctx) -> Plan: ...

`ctx` (PlanContext) gives the host's name, vars, the check's item and read-only facts;
a plan function never runs a command itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleetcheck.remediation.model import Plan

PlanFn = Callable[["PlanContext"], Plan]
_REGISTRY: dict[str, PlanFn] = {}
_LOADED = False


@dataclass
class PlanContext:
    check_id: str
    host: str
    vars: dict[str, Any]
    facts: Any            # FactCache-like: .get(name, **params)
    item: str | None = None
    # name -> that inventory host's facts (read-only), for a fix that changes another
    # host than the one checked (DNS records live on the DNS master)
    other: Callable[[str], Any] | None = None

    def plan(self, *actions, reason: str = "", target: str | None = None) -> Plan:
        return Plan(self.check_id, self.host, list(actions), reason=reason,
                    target=None if target == self.host else target)

    def facts_of(self, name: str):
        if name == self.host:
            return self.facts
        if self.other is None:
            raise LookupError(f"no facts of other hosts here (asked for {name})")
        return self.other(name)


def fix(check_id: str) -> Callable[[PlanFn], PlanFn]:
    def register(fn: PlanFn) -> PlanFn:
        if check_id in _REGISTRY and _REGISTRY[check_id] is not fn:
            raise ValueError(f"two remediations registered for {check_id}")
        _REGISTRY[check_id] = fn
        return fn
    return register


def load_all() -> dict[str, PlanFn]:
    """Import every module of the `remediate` package (once) and return the registry."""
    global _LOADED
    if not _LOADED:
        try:
            package = importlib.import_module("remediate")
        except ImportError:
            package = None
        if package is not None:
            for info in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"remediate.{info.name}")
        _LOADED = True
    return dict(_REGISTRY)


def lookup(check_id: str) -> PlanFn | None:
    return load_all().get(check_id)
