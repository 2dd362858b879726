"""Facts gathered ahead of the checks, every host of this process at once.

A check reads facts through the host's cache, so each command runs once per host;
but the checks of a process run one after the other, and a fleet's time would be the
sum of its hosts' (`vmstat 1 5` alone takes 4 s a host). So before the first check
runs, one thread per host (up to --gather-threads) connects and gathers, in the
order the checks will ask, the facts the checks declare (`facts=` on the check
marker); the checks then read them from the cache. The fleet costs about its slowest
host, as in Ansible's forks or pyinfra's fact gathering.

Declaring is an optimisation, never a condition: a fact a check did not declare is
gathered when it asks, as before. Errors are cached like values, so a fact that
fails while gathered fails the same way in its check, and an unreachable host is
found once, in its thread, and reported by each of its checks at once.

Under xdist each worker gathers the hosts it owns (fleetcheck.scheduling assigns
hosts to workers before the run, so a worker knows them before its first test).
In one process, the checks then run in the order their facts come in
(fleetcheck.runorder), not check by check across the fleet.

Each host's start and end of gathering is news for the terminal's progress line
(fleetcheck.report.progress): the next test report of this process carries it
(`NEWS_ATTR`), so the controller knows which hosts are still gathering, and since when,
also under xdist, where the gathering happens in the workers.

The gathering threads are daemon threads (not a ThreadPoolExecutor's, which the
interpreter joins at exit): after Ctrl-C the run ends at once, without waiting for the
commands in flight (`vmstat 1 5` on a slow host); their connections end with the
process.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from fleetcheck.checkmeta import HOST_KEY, META_KEY, CheckMeta
from fleetcheck.connect.failures import Unreachable
from fleetcheck.connect.hosts import FleetHost
from fleetcheck.runorder import DONE, UNDECLARED, ReadyQueue, run_ready_first
from fleetcheck.state import STATE_KEY

DEFAULT_THREADS = 64
# The report attribute with the gathering news: [[host, seconds gathering so far], ...]
# for a host that started, [host, None] for one that is over (plain data: xdist ships it).
NEWS_ATTR = "fleetcheck_gathering"
# What the report's host view says of a reached host (kernel, distribution, uptime):
# gathered last in its last batch, read by no check (fleetcheck.facts.system).
SUMMARY = ("system", {})

Request = tuple[str, dict[str, Any]]
# What one host's checks will read: (check, item) in the order the checks run.
Work = list[tuple[CheckMeta, Any]]


def requests_of(meta: CheckMeta, host: FleetHost, item: Any) -> Iterator[Request]:
    """The facts a check declares for one host (and item), in the order it reads them.

    An entry of `facts=` is a fact name, a (name, params) pair, or a callable
    (host, item) -> iterable of those; a callable may read facts it already yielded
    (host.facts) to decide what comes next, as DNS reads named.conf for its zones."""
    for spec in meta.facts or ():
        if callable(spec):
            yield from (_request(r) for r in spec(host, item))
        else:
            yield _request(spec)


def _request(spec: str | tuple[str, dict[str, Any]]) -> Request:
    if isinstance(spec, str):
        return spec, {}
    name, params = spec
    return name, dict(params)


def gather_host(host: FleetHost, work: Work, stop: threading.Event,
                progress: Callable[[int], None] = lambda done: None) -> int:
    """Gather one host's declared facts in the order its checks read them; the number
    of requests sent. Requests wait in a batch (fleetcheck.connect.batch: one remote command
    for all) until something must read one of them (a declaration reading a fact, as
    DNS reads named.conf for its zones) or the work is done. The host's lock is held
    per batch, so a check whose facts are in runs meanwhile; one that reads a fact
    still being gathered waits for it, one that gets to a fact first runs it itself.
    `progress` hears how many entries of `work` are in, and DONE at the end."""
    pending: list[Request] = []
    sent = 0
    complete = 0  # entries of `work` whose requests are all sent or pending
    flushing = False

    def flush() -> None:
        nonlocal pending, sent, flushing
        if flushing:
            return  # gather_many reads what it sent through get(), which calls back
        flushing = True
        try:
            if pending:
                requests, pending = pending, []
                host.facts.gather_many(requests)
                sent += len(requests)
            progress(complete)
        finally:
            flushing = False

    try:
        try:
            host.connect()
        except Unreachable:
            return 0  # the reason is kept on the host; each check reports it
        host.facts.on_miss(flush)  # a declaration reads a fact: send what waits first
        for meta, item in work:
            if stop.is_set():
                break
            try:
                for request in requests_of(meta, host, item):
                    pending.append(request)  # not extend(): a read may flush midway
            except Unreachable:
                raise
            except Exception:  # noqa: BLE001 - a declaration read a fact that failed
                pass  # its check reads it again and reports it
            complete += 1
            if not pending:
                progress(complete)
        if not stop.is_set():
            pending.append(SUMMARY)  # the report's host view: in the last batch, last
        flush()
        return sent
    except Unreachable:
        return sent  # the connection is lost: each check says so
    finally:
        host.facts.on_miss(None)
        progress(DONE)


class Gatherer:
    def __init__(self, threads: int):
        self.threads = threads
        self.stop = threading.Event()
        # Each gathered host's count of work entries done (DONE when over), and a
        # host's name each time its count moves (fleetcheck.runorder waits on it).
        self.progress: dict[str, int] = {}
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        # (host, time.monotonic() of its start) when a thread takes it, (host, None)
        # when it is over: what the next report tells the progress line (take_news).
        self.news: queue.SimpleQueue[tuple[str, float | None]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._starter: threading.Thread | None = None

    def _report(self, name: str, done: int) -> None:
        self.progress[name] = done
        self.events.put(name)
        if done == DONE:
            self.news.put((name, None))

    def take_news(self) -> list[list]:
        """The starts and ends since the last call, in their order: [host, seconds
        since it started] or [host, None] (seconds, not times: a worker's clock is not
        the controller's)."""
        now, news = time.monotonic(), []
        while True:
            try:
                name, started = self.news.get_nowait()
            except queue.Empty:
                return news
            news.append([name, None if started is None else round(now - started, 3)])

    def start(self, plan: dict[FleetHost, Work]) -> bool:
        """Start gathering `plan`; False when there is nothing to gather (or no threads)."""
        if not plan or self.threads < 1:
            return False
        todo: queue.SimpleQueue[tuple[FleetHost, Work]] = queue.SimpleQueue()
        for host, work in plan.items():
            self.progress[host.name] = 0
            todo.put((host, work))

        def worker() -> None:
            while not self.stop.is_set():
                try:
                    host, work = todo.get_nowait()
                except queue.Empty:
                    return
                self.news.put((host.name, time.monotonic()))
                try:
                    gather_host(host, work, self.stop,
                                functools.partial(self._report, host.name))
                except Exception:  # noqa: BLE001 - its checks read the facts again
                    pass

        def start_all() -> None:
            for i in range(min(self.threads, len(plan))):
                if self.stop.is_set():
                    return
                thread = threading.Thread(target=worker, name=f"fleetcheck-gather_{i}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()

        # Starting a thread waits until it runs; with the first hosts already
        # connecting, 50 starts cost the test thread most of a second. It goes on.
        self._starter = threading.Thread(target=start_all, name="fleetcheck-gather-start",
                                         daemon=True)
        self._starter.start()
        return True

    def close(self, wait: bool = True) -> None:
        """Stop gathering (a thread ends after its current command) and, unless
        `wait` is False (after Ctrl-C), wait for that."""
        self.stop.set()
        if not wait:
            return   # daemon threads: they do not hold the process
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        for thread in self._threads:
            thread.join()
        self._threads = []


class GatherHooks:
    """Starts the gathering when the tests start (never for --collect-only, never in
    an xdist controller, which runs no checks), and runs the checks in the order
    their facts come in (fleetcheck.runorder), except in an xdist worker."""

    def __init__(self, threads: int, owned: Callable[[list[str]], Iterable[str]] | None):
        self.gatherer = Gatherer(threads)
        self.owned = owned  # under xdist: which of the hosts this worker runs
        self.interrupted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        config = session.config
        if config.option.collectonly or config.pluginmanager.hasplugin("dsession"):
            return None
        if session.testsfailed and not config.option.continue_on_collection_errors:
            return None  # pytest's own loop stops the run
        state = config.stash[STATE_KEY]
        mine = set(self.owned(list(state.hosts)) if self.owned else state.hosts)
        skip = set() if state.include_offline else set(state.offline)
        plan: dict[str, Work] = {}
        slots: dict[pytest.Item, tuple[str, int]] = {}
        undeclared: list[tuple[pytest.Item, str]] = []
        for item in session.items:  # in the order the checks will run
            name, meta = item.stash.get(HOST_KEY, None), item.stash.get(META_KEY, None)
            if name not in mine or name in skip or meta is None:
                continue
            if meta.facts is None:
                undeclared.append((item, name))
            elif meta.facts:
                param = getattr(item, "callspec", None)
                work = plan.setdefault(name, [])
                slots[item] = (name, len(work))
                work.append((meta, param.params.get("item") if param else None))
        for item, name in undeclared:
            if name in plan:
                slots[item] = (name, UNDECLARED)
        started = self.gatherer.start({state.pool.get(name): work
                                       for name, work in plan.items()})
        if not started or hasattr(config, "workerinput"):
            return None  # pytest's loop, or xdist's worker loop: collection order
        run_ready_first(session, ReadyQueue(session.items, slots, self.gatherer.progress,
                                            self.gatherer.events))
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """The gathering's news since the last report rides on this one."""
        report = yield
        news = self.gatherer.take_news()
        if news:
            setattr(report, NEWS_ATTR, news)
        return report

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = True
        self.gatherer.stop.set()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.gatherer.close(wait=not self.interrupted)
