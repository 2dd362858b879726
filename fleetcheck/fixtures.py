"""The fixtures a check uses beside `host`: `facts`, `evidence` and `fleet`.

`host` itself is pytest-testinfra's fixture name: the plugin parametrizes it directly
with the worker pool's FleetHost (name, vars, facts, testinfra's host API) for every
check, so a user's own `host` fixture does not replace it, and leaves it to
pytest-testinfra for users' testinfra tests (fleetcheck.usertests).
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetcheck.connect.failures import Unreachable
from fleetcheck.checkmeta import HOST_KEY, USER_TEST_KEY
from fleetcheck.connect.hosts import FleetHost
from fleetcheck.report.records import severity_rank
from fleetcheck.state import STATE_KEY

EVIDENCE_KEY = pytest.StashKey["Evidence"]()


class UnreachableOutcome(Unreachable, pytest.fail.Exception):
    """Unreachable as pytest reports it: a message, no traceback. pytest would parse
    the source of every frame to show one for each check of a dead host, and in
    CPython 3.11 ast.parse racing a compile in another thread (paramiko's) can fail
    with "AST constructor recursion depth mismatch" and abort the run."""

    def __init__(self, reason: str):
        pytest.fail.Exception.__init__(self, reason, pytrace=False)

    def __str__(self) -> str:
        return str(self.msg)


class Evidence(dict):
    """The values a check compared, shown with its record.

    A check may also lower or raise the severity of this one finding (a resync in
    progress is a warning, a degraded array is critical) and say what to look at.
    """

    severity: str | None = None
    advice: str | None = None

    def add(self, **values: Any) -> None:
        self.update(values)

    def judge(self, problems: list[tuple[str, str]]) -> None:
        """Fail with every (severity, text) problem, in order, when there is one; the
        record takes the worst problem's severity."""
        if problems:
            self.severity = min((sev for sev, _ in problems), key=severity_rank)
            pytest.fail("; ".join(text for _, text in problems), pytrace=False)


class Fixtures:
    @pytest.fixture(autouse=True)
    def _fleetcheck_connected(self, request: pytest.FixtureRequest) -> None:
        """A check starts on a connected host: an unreachable one is reported as such,
        without a traceback. A user's test over the inventory connects when it first
        uses `host` (pytest says failed, as for testinfra; its record says
        unreachable). Offline hosts never get here: skipped at collection."""
        name = request.node.stash.get(HOST_KEY, None)
        if name is None or USER_TEST_KEY in request.node.stash:
            return  # a user's test connects when it first uses host, as testinfra's does
        try:
            request.config.stash[STATE_KEY].pool.get(name).connect()
        except Unreachable as exc:  # the plugin reports it as such
            raise UnreachableOutcome(str(exc)) from None

    @pytest.fixture
    def fleet(self, request: pytest.FixtureRequest) -> dict:
        """Every inventory host, selected by --limit or not: name -> HostEntry (its
        vars and address), for checks that compare a host with others (DNS)."""
        return request.config.stash[STATE_KEY].pool.entries

    @pytest.fixture
    def fleet_facts(self, request: pytest.FixtureRequest):
        """name -> another inventory host's fact cache (read-only), for a check that
        looks for something on the other hosts (vm.guests: a guest found elsewhere is
        moved, not missing). The host is connected by this process when first asked,
        as a fix's PlanContext.other does; an unreachable one raises Unreachable."""
        pool = request.config.stash[STATE_KEY].pool
        return lambda name: pool.get(name).facts

    @pytest.fixture
    def facts(self, host: FleetHost):
        """The host's fact cache: `facts.get("mdstat")` or `facts.mdstat`."""
        return host.facts

    @pytest.fixture
    def evidence(self, request: pytest.FixtureRequest) -> Evidence:
        """Record the values the check compares; they appear in every report."""
        ev = Evidence()
        request.node.stash[EVIDENCE_KEY] = ev
        return ev
