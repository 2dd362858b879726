"""pytest-xdist: every test of one host runs in one worker, so each host gets one
connection and one fact cache. Registered only when xdist is installed.

Hosts are assigned to workers before the run: the i-th selected host belongs to
worker gw(i mod workers). A worker therefore knows its hosts before its first test
and gathers their facts at once (fleetcheck.gather); the scheduler sends each host's
tests to its owner only. Nothing is lost against xdist's dynamic balancing: a host's
cost is its slowest fact, paid in parallel with the others. A worker that crashes
leaves its unfinished hosts to whichever worker asks first.
"""

from __future__ import annotations

from collections.abc import Callable

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


def owner(index: int, workers: int) -> int:
    """The worker (gw number) that runs the index-th selected host."""
    return index % workers


def worker_hosts(config: pytest.Config) -> Callable[[list[str]], list[str]] | None:
    """In an xdist worker of the default distribution: selected hosts -> the ones this
    worker runs. In another distribution: none are known ahead (nothing is gathered
    ahead). Outside a worker: None (every host is this process's)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    if not workerinput.get("fleetcheck_host_owners"):
        return lambda hosts: []
    me = int(str(workerinput["workerid"]).removeprefix("gw"))
    count = int(workerinput["workercount"])
    return lambda hosts: [h for i, h in enumerate(hosts) if owner(i, count) == me]


class HostScheduling(LoadScopeScheduling):
    """LoadScope with the host as the scope, each host sent to the worker that owns it."""

    def __init__(self, config: pytest.Config, log=None, hosts: list[str] = ()):
        super().__init__(config, log)
        self._order = {h: i for i, h in enumerate(hosts)}
        self._hosts = sorted(hosts, key=len, reverse=True)
        self._workers = 1

    def schedule(self) -> None:
        if self.collection is None:
            # As many as the workers counted when they started (workerinput's
            # workercount), before LoadScope shuts down those it has no work for.
            self._workers = max(len(self.nodes), 1)
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        host = host_of(nodeid, self._hosts)
        return f"host:{host}" if host is not None else super()._split_scope(nodeid)

    def _owner_of(self, scope: str) -> int | None:
        if not scope.startswith("host:"):
            return None
        index = self._order.get(scope[5:])
        return None if index is None else owner(index, self._workers)

    def _next_scope_for(self, node) -> str | None:
        """This node's next host; a host whose owner is gone (crashed, or never
        started) and tests without a host go to any node."""
        me = _gw_number(node)
        alive = {_gw_number(n) for n in self.nodes}
        for scope in self.workqueue:
            wanted = self._owner_of(scope)
            if wanted is None or wanted == me or wanted not in alive:
                return scope
        return None

    def _assign_work_unit(self, node) -> None:
        scope = self._next_scope_for(node)
        if scope is None:
            return
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid)
                                for nodeid, done in work_unit.items() if not done])

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if self._next_scope_for(node) is None:
            # Nothing here will ever be this node's: it finishes what it has and ends.
            node.shutdown()
            return
        super()._reschedule(node)


def _gw_number(node) -> int:
    return int(str(node.gateway.id).removeprefix("gw"))


class XdistHooks:
    def __init__(self, state: FleetRun):
        self.state = state

    def pytest_configure_node(self, node) -> None:
        node.workerinput["fleetcheck_run_id"] = self.state.run_id
        # HostScheduling is in use (see pytest_xdist_make_scheduler): hosts have owners.
        node.workerinput["fleetcheck_host_owners"] = node.config.getoption("dist") == "load"
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
