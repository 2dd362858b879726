"""pytest wiring of --remediate: a failing check with a registered fix is planned,
then (unless --dry-run) applied, and the same assertion re-runs on fresh facts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.remediation import engine, registry
from fleetcheck.remediation.rolling import RollingLimits, RollingPolicy
from fleetcheck.state import STATE_KEY

REMEDIATION_KEY = pytest.StashKey[dict]()


@dataclass
class RemediateOptions:
    selection: set[str] | None    # None: --remediate not given; {"all"} for every area
    dry_run: bool
    limits: RollingLimits
    lock_timeout: float

    def selects(self, check_id: str) -> bool:
        if not self.selection:
            return False
        return ("all" in self.selection or check_id in self.selection
                or check_id.split(".", 1)[0] in self.selection)


def parse_selection(value: str | None) -> set[str] | None:
    """--remediate (all), --remediate=AREA,CHECK_ID,...; raises ValueError on unknown."""
    if value is None:
        return None
    wanted = {v.strip() for v in value.split(",") if v.strip()} or {"all"}
    known = set(registry.load_all())
    known |= {k.split(".", 1)[0] for k in known} | {"all"}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"--remediate: no fix registered for {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known - {'all'}))})")
    return wanted


class RemediationHooks:
    def __init__(self, options: RemediateOptions, run_id: str, reports_dir: Path | None,
                 meta_key, ):
        self.options = options
        self.run_id = run_id
        self.reports_dir = reports_dir
        self.meta_key = meta_key
        self._policy: RollingPolicy | None = None
        # hosts whose connection was lost (or a command timed out) in a fix: this run
        # does not touch them again (a command may still be running there)
        self._cut: dict[str, str] = {}

    @property
    def policy(self) -> RollingPolicy | None:
        if self._policy is None and self.reports_dir is not None:
            self._policy = RollingPolicy(self.reports_dir / ".rolling", self.options.limits)
        return self._policy

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        try:
            return (yield)
        except (AssertionError, pytest.fail.Exception) as failure:
            meta = item.stash.get(self.meta_key, None)
            if meta is None:
                raise
            if self._remediate(item, meta, failure):
                return None  # fixed: the re-run passed
            raise

    def _remediate(self, item: pytest.Item, meta, failure: BaseException) -> bool:
        plan_fn = registry.lookup(meta.check_id)
        if plan_fn is None:
            item.stash[REMEDIATION_KEY] = {"status": "no automatic fix"}
            return False
        if not self.options.selects(meta.check_id):
            item.stash[REMEDIATION_KEY] = {
                "status": "available", "summary": "a fix exists: run with --remediate"}
            return False
        host = item.funcargs["host"]
        pool = item.config.stash[STATE_KEY].pool
        ctx = registry.PlanContext(meta.check_id, host.name, host.vars, host.facts,
                                   item=item.callspec.params.get("item"),
                                   other=lambda name: pool.get(name).facts)
        try:
            plan = plan_fn(ctx)
        except Exception as exc:  # noqa: BLE001 - a planning bug must not crash the run
            item.stash[REMEDIATION_KEY] = {"status": "failed",
                                           "error": f"planning failed: {exc!r}"}
            return False
        info: dict[str, Any] = dict(plan.to_json())
        item.stash[REMEDIATION_KEY] = info
        if plan.refused or plan.empty:
            info["status"] = "refused" if plan.refused else "nothing planned"
            return False
        if self.options.dry_run:
            info["status"] = "would-fix"
            return False
        return self._apply(item, host, plan, info)

    def _apply(self, item, host, plan, info) -> bool:
        # A plan may change another host than the one checked (plan.target): that
        # host is locked, backed up and changed; the check's own host is re-checked.
        checked = host
        if plan.target:
            host = item.config.stash[STATE_KEY].pool.get(plan.target)
        if host.name in self._cut:
            info["status"] = (f"not attempted: an earlier fix on {host.name} lost its "
                              f"connection ({self._cut[host.name]})")
            return False
        policy = self.policy
        if policy is not None:
            reason = policy.begin(host.name)
            if reason:
                info["status"] = reason
                return False
        failed = True
        try:
            backups_dir = (self.reports_dir / "backups" / host.name
                           if self.reports_dir is not None else None)
            context = engine.ApplyContext(
                self.run_id, backups_dir, self.options.lock_timeout,
                item=item.callspec.params.get("item") if hasattr(item, "callspec") else None,
                inventory=_inventory(item.config))
            try:
                result = engine.apply(plan, host, context)
            except engine.ApplyFailed as exc:
                warnings = exc.details.pop("warnings", None) or []
                info.update(status="failed", error=str(exc), **exc.details)
                if warnings:
                    info["warnings"] = warnings
                    self._warn(item, host.name, warnings)
                if exc.cut:
                    self._cut[host.name] = exc.details.get("lost", "connection lost")
                raise AssertionError(f"fix failed: {exc}") from None
            info["backups"] = result.backups
            if result.warnings:
                info["warnings"] = result.warnings
                self._warn(item, host.name, result.warnings)
            host.facts.clear()
            checked.facts.clear()
            evidence = item.funcargs.get("evidence")
            if evidence is not None:
                evidence.clear()
                evidence.severity = evidence.advice = None
            try:
                item.runtest()
            except (AssertionError, pytest.fail.Exception) as again:
                info["status"] = "failed"
                first = (str(again).strip().splitlines() or [""])[0]
                raise AssertionError(f"fix applied, check still fails: {first}") from None
            info["status"] = "fixed"
            failed = False
            return True
        finally:
            if policy is not None:
                policy.end(failed)

    @staticmethod
    def _warn(item: pytest.Item, host: str, warnings: list[str]) -> None:
        """A stale lock taken over: one line on the terminal (the record has it too)."""
        terminal = item.config.pluginmanager.get_plugin("terminalreporter")
        for warning in warnings:
            if terminal is not None:
                terminal.write_line(f"WARNING: {host}: {warning}", yellow=True)


def _inventory(config: pytest.Config) -> list[str]:
    """The run's inventory sources, for a rollback without the run's results.json
    (files as absolute paths: rollback may run from another directory)."""
    paths = config.stash[STATE_KEY].inventory_paths
    return [os.path.abspath(p) if os.path.exists(p) else p for p in paths]
