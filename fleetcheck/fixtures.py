"""The fixtures a check uses: `host`, `facts`, `evidence` and `fleet`.

Registered by the plugin at configure time, after every entry-point plugin, so this
`host` overrides pytest-testinfra's fixture of the same name: a fleetcheck check gets
a FleetHost (name, vars, facts) from the worker's pool, parametrized by the plugin.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetcheck.connect.failures import Unreachable
from fleetcheck.filters import OFFLINE_REASON
from fleetcheck.connect.hosts import FleetHost
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


class Fixtures:
    @pytest.fixture
    def host(self, request: pytest.FixtureRequest) -> FleetHost:
        """The inventory host this check runs against (parametrized by fleetcheck)."""
        name = getattr(request, "param", None)
        if name is None:
            pytest.fail("the `host` fixture is for fleetcheck checks: mark the test with "
                        "@pytest.mark.check(...)", pytrace=False)
        state = request.config.stash[STATE_KEY]
        if name in state.offline and not state.include_offline:
            # Marked offline by the inventory: reported, never touched.
            pytest.skip(OFFLINE_REASON)
        fleet_host = state.pool.get(name)
        try:
            fleet_host.connect()
        except Unreachable as exc:  # the plugin reports it as such
            raise UnreachableOutcome(str(exc)) from None
        return fleet_host

    @pytest.fixture
    def fleet(self, request: pytest.FixtureRequest) -> dict:
        """Every inventory host, selected by --limit or not: name -> HostEntry (its
        vars and address), for checks that compare a host with others (DNS)."""
        return request.config.stash[STATE_KEY].pool.entries

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
