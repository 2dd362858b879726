"""Remediation: plans (pure), the engine that applies them, rolling limits, rollback."""

from fleetcheck.remediation.model import (
    Action,
    Plan,
    RunCommand,
    Service,
    WriteFile,
    refuse,
)
from fleetcheck.remediation.registry import PlanContext, fix, load_all, lookup

__all__ = ["Action", "Plan", "PlanContext", "RunCommand", "Service", "WriteFile", "fix",
           "load_all", "lookup", "refuse"]
