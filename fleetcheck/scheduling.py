"""pytest-xdist: every test of one host runs in one worker, so each host gets one
connection and one fact cache. Registered only when xdist is installed."""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling

from fleetcheck.state import FleetRun


def host_of(nodeid: str, hosts_longest_first: list[str]) -> str | None:
    """The host in `path::check.id[host]` or `[host-item]` (an `@group` suffix allowed)."""
    if "[" not in nodeid:
        return None
    params = nodeid[nodeid.index("[") + 1:]
    params = params[: params.rindex("]")] if "]" in params else params
    for host in hosts_longest_first:
        if params == host or params.startswith(host + "-"):
            return host
    return None


class HostScheduling(LoadScopeScheduling):
    """LoadScope with the host as the scope: hosts are spread over workers."""

    def __init__(self, config: pytest.Config, log=None, hosts: list[str] = ()):
        super().__init__(config, log)
        self._hosts = sorted(hosts, key=len, reverse=True)

    def _split_scope(self, nodeid: str) -> str:
        host = host_of(nodeid, self._hosts)
        return f"host:{host}" if host is not None else super()._split_scope(nodeid)


class XdistHooks:
    def __init__(self, state: FleetRun):
        self.state = state

    def pytest_configure_node(self, node) -> None:
        node.workerinput["fleetcheck_run_id"] = self.state.run_id
        if self.state.reports_dir is not None:
            node.workerinput["fleetcheck_reports_dir"] = str(self.state.reports_dir)
        selection = self.state.selection
        if selection is not None and selection.remote:
            # An HTTP inventory or a script is read once: workers get its answer.
            node.workerinput["fleetcheck_selection"] = selection.to_wire()

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        # Only the default distribution (-n N implies --dist load) is replaced; an
        # explicit --dist loadfile/each/... is the user's choice.
        if config.getoption("dist") != "load":
            return None
        return HostScheduling(config, log, hosts=list(self.state.hosts))
