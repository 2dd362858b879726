"""pytest wiring of --remediate: a failing check with a registered fix is planned,
then (unless --dry-run) applied, and the same assertion re-runs on fresh facts."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.remediation import engine, registry
from fleetcheck.remediation.model import WriteFile
from fleetcheck.remediation.rolling import RollingLimits, RollingPolicy
from fleetcheck.state import STATE_KEY

REMEDIATION_KEY = pytest.StashKey[dict]()

# What a dry run shows on the terminal: at most this many lines of each diff, and of
# the whole listing (the full diffs are in report.html and results.json).
DIFF_LINES = 40
LISTING_LINES = 400


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
        names = ", ".join(sorted(known - {"all"})) or (
            f"none: {registry.FLEETCHECK_FIXES} is not installed")
        raise ValueError(f"--remediate: no fix registered for {', '.join(unknown)} "
                         f"(known: {names})")
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
        # host -> path -> the content the earlier plans of this run (not applied: a
        # dry run, or no --remediate) would have written; None: removed. The next plan
        # of the same file is made against it, so the diffs shown compose. A real run
        # needs none: after each fix the host's facts are read again.
        self._pending: dict[str, dict[str, bytes | None]] = {}

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
        host = item.funcargs["host"]
        pool = item.config.stash[STATE_KEY].pool
        selected = self.options.selects(meta.check_id)
        applies = selected and not self.options.dry_run
        facts = host.facts if applies else self._overlay(host.name, host.facts)
        other = ((lambda name: pool.get(name).facts) if applies else
                 (lambda name: self._overlay(name, pool.get(name).facts)))
        ctx = registry.PlanContext(meta.check_id, host.name, host.vars, facts,
                                   item=item.callspec.params.get("item"), other=other,
                                   fleet=pool.entries)
        try:
            plan = plan_fn(ctx)
        except Exception as exc:  # noqa: BLE001 - a planning bug must not crash the run
            item.stash[REMEDIATION_KEY] = (
                {"status": "failed", "error": f"planning failed: {exc!r}"} if selected
                else {"status": "no automatic fix here", "summary":
                      f"no automatic fix here: planning failed: {exc!r}"})
            return False
        if not selected:
            # Planned (pure, from the facts already gathered), not promised: the hint
            # says a fix exists only when it would change something on this host.
            if plan.refused or plan.empty:
                why = plan.reason or "nothing to do"
                item.stash[REMEDIATION_KEY] = {"status": "no automatic fix here",
                                               "summary": f"no automatic fix here: {why}"}
            else:
                self._planned(plan)
                item.stash[REMEDIATION_KEY] = dict(
                    plan.to_json(), status="available",
                    summary=f"a fix exists: run with --remediate ({plan.summary})")
            return False
        info: dict[str, Any] = dict(plan.to_json())
        item.stash[REMEDIATION_KEY] = info
        if plan.refused or plan.empty:
            info["status"] = "refused" if plan.refused else "nothing planned"
            return False
        if self.options.dry_run:
            self._planned(plan)
            info["status"] = "would-fix"
            return False
        return self._apply(item, host, plan, info)

    def _overlay(self, host: str, facts) -> PendingFacts:
        return PendingFacts(facts, self._pending.setdefault(host, {}))

    def _planned(self, plan) -> None:
        """A plan that is shown, not applied: what it writes is what the next plan of
        the same file starts from."""
        pending = self._pending.setdefault(plan.target or plan.host, {})
        for action in plan.actions:
            if isinstance(action, WriteFile):
                pending[action.path] = action.content

    @pytest.hookimpl(tryfirst=True)   # before the per-host summary, which ends the output
    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:
        """A dry run shows what --remediate would do: per host, each would-fix with its
        summary and diff, bounded (the whole diffs are in report.html)."""
        if not self.options.dry_run or hasattr(config, "workerinput"):
            return
        state = config.stash.get(STATE_KEY, None)
        records = sorted((r for r in (state.records.values() if state else ())
                          if r.plan and r.plan.get("status") == "would-fix"),
                         key=lambda r: r.host)   # stable: in the order they were planned
        if not records:
            return
        tr = terminalreporter
        tr.write_sep("=", f"fleetcheck dry run: {len(records)} fix(es) --remediate would apply")
        budget = LISTING_LINES
        for n, rec in enumerate(records):
            lines = dry_run_lines(rec)
            if len(lines) > budget:
                tr.write_line(f"... {len(records) - n} more fix(es) not shown here: "
                              "see report.html or results.json", yellow=True)
                return
            budget -= len(lines)
            for line in lines:
                mark = line[4:5] if line.startswith("    ") else ""
                tr.write_line(line, green=mark == "+" and not line[4:].startswith("+++"),
                              red=mark == "-" and not line[4:].startswith("---"))

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
                inventory=_inventory(item.config),
                keep_backups=float(getattr(item.config.option, "fleet_keep_backups", 0) or 0))
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
            if result.pruned:     # the host's backups of older runs, removed under the lock
                info["pruned_backups"] = result.pruned
            if result.warnings:
                info["warnings"] = result.warnings
                self._warn(item, host.name, result.warnings)
            host.facts.clear()
            checked.facts.clear()
            evidence = item.funcargs.get("evidence")
            found = getattr(evidence, "severity", None)   # the finding's, for the record
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
            if evidence is not None:
                evidence.severity = found
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


class PendingFacts:
    """A host's facts as the plans already shown in this run leave them: a `file`
    fact of a path they write has the content they would write."""

    def __init__(self, facts, pending: dict[str, bytes | None]):
        self._facts = facts
        self._pending = pending

    def get(self, fact: str, /, **params: Any):
        value = self._facts.get(fact, **params)
        path = params.get("path")
        if fact != "file" or path not in self._pending:
            return value
        content = self._pending[path]
        if content is None:
            return replace(value, exists=False, content_b64="")
        return replace(value, exists=True, content_b64=base64.b64encode(content).decode())

    def __getattr__(self, name: str):
        return getattr(self._facts, name)


def dry_run_lines(rec) -> list[str]:
    """The lines a dry run shows for one would-fix record: its host, check, summary
    and each diff, a diff cut at DIFF_LINES lines (saying so)."""
    target = rec.plan.get("target")
    where = f" (changes {target})" if target else ""
    lines = [f"{rec.host}  {rec.test_id}{where}: {rec.plan.get('summary', '')}"]
    for path, diff in (rec.plan.get("diffs") or {}).items():
        body = diff.splitlines()
        lines += ["    " + line for line in body[:DIFF_LINES]]
        if len(body) > DIFF_LINES:
            lines.append(f"    ... diff of {path} cut: {len(body) - DIFF_LINES} more "
                         "line(s) in report.html")
    return lines


def _inventory(config: pytest.Config) -> list[str]:
    """The run's inventory sources, for a rollback without the run's results.json
    (files as absolute paths: rollback may run from another directory)."""
    paths = config.stash[STATE_KEY].inventory_paths
    return [os.path.abspath(p) if os.path.exists(p) else p for p in paths]
