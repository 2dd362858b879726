"""The progress line of an audit on a terminal: hosts done of all, checks done, and the
hosts that have been gathering longest, one line rewritten in place:

    fleetcheck: 37/120 hosts done, 412/6000 checks, 3 failed; gathering: db7 (41 s), web3 (33 s)

A host is done when every test of it has reported; it is gathering from the moment a
gathering thread takes it (fleetcheck.gather) until its declared facts are all in (a
host waiting for a free thread is not gathering yet). The hosts and their tests come
from the collection (the nodeids: under xdist the controller collects nothing, its
workers send their nodeids), the gathering's starts and ends from the test reports
(gather.NEWS_ATTR, in seconds gathered so far: a worker's clock is not the
controller's), so the line is the controller's, with or without -n.

How it lives with pytest's own output. The line *replaces* pytest's progress (the
letters, the file names, the percentage) on a terminal at the default verbosity: at
1000 hosts that progress is hundreds of lines of dots interleaved across files (the
checks run as their facts come in, fleetcheck.runorder), and two writers on one line
would fight over the cursor. While the line is on, pytest_report_teststatus keeps
each report's category (the counts, the exit status, `-rf`) and gives no letter nor
word, so pytest writes nothing per test (it also leaves out its percentage, which it
counts by the letters it wrote), and showfspath is off, as pytest-xdist turns it off
for its own controller. This is xdist's "[gw0] ..." status line's manner too: one line
rewritten with `\\r`, padded with spaces over the longer line before it (no escape
sequence), finished before anything else is written. Here anything else written
meanwhile (a plugin's write_line, xdist's "node down", an INTERNALERROR) goes through
TerminalReporter.ensure_newline: the line marks itself as the open line
(`currentfspath`, as pytest's own verbose lines do), so such a write starts on a new
line and leaves the progress above it as it was, and the next redraw starts on a line
of its own. At the end of the run the line is erased (`\\r`, spaces, `\\r`) before
pytest's summary, which so starts on a clean line, and the letters are pytest's again
(its short summary, `-rf`, asks pytest_report_teststatus for its words then).

The other way, a line below pytest's dots erased before each of pytest's writes, was
not taken: it needs to know ahead every write to the terminal (pytest's, xdist's,
other plugins'), and to get back onto the dots' line it needs cursor movement, an
escape sequence that TERM decides and a dumb terminal prints as text.

It is on only when it can be right: the controller of an audit run, pytest's terminal
reporter present (not `-p no:terminal`), writing to a terminal (isatty; never in a CI
log or a pipe, which keep pytest's output byte for byte), TERM not `dumb`, verbosity 0
(`-q` keeps pytest's dots, `-v` its one line per test), output captured (`-s` lets the
tests write to the terminal themselves), and neither live logging (log_cli),
--setup-show, --pdb nor --trace writing there during the tests. The line has no
colour, so NO_COLOR has nothing to turn off.

Redraws come with the reports and test starts, at most every REDRAW_EVERY seconds;
there is no timer thread: a thread's write during a test would land in that test's
captured output (pytest redirects the terminal's file descriptor around each test),
so while nothing reports, the line keeps the ages it said last. The state is updated
in O(1) a report (dictionaries and counters); a redraw finds the slowest few hosts in
O(hosts gathering).
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterable

import pytest

from fleetcheck.gather import NEWS_ATTR
from fleetcheck.report.terminal import printable

REDRAW_EVERY = 0.25    # seconds between redraws, at least
SLOW_AFTER = 5.0       # seconds of gathering before a host is named on the line
SLOWEST_SHOWN = 3      # at most this many of them named
OPEN_LINE = -2         # TerminalReporter.currentfspath of an open line (pytest's own)


def host_in(nodeid: str, hosts: dict | set) -> str | None:
    """The host of `path::check[host]` or `[host-item]` (an `@group` suffix allowed),
    the longest host name that fits when several do; O(length of the id), for the
    controller of a big fleet (fleetcheck.scheduling.host_of compares every host)."""
    start = nodeid.find("[", max(nodeid.find("::"), 0))
    if start < 0:
        return None
    params = nodeid[start + 1:]
    params = params[: params.rindex("]")] if "]" in params else params
    if params in hosts:
        return params
    cut = params.rfind("-")
    while cut > 0:
        if params[:cut] in hosts:
            return params[:cut]
        cut = params.rfind("-", 0, cut)
    return None


class ProgressState:
    """What the line says, updated by the events of a run; no pytest, no clock of its
    own (`now` is given), so the line can be tested on its own."""

    def __init__(self) -> None:
        self.host_of: dict[str, str | None] = {}   # nodeid -> host (None: no host)
        self.left: dict[str, int] = {}             # host -> its tests not finished
        self.hosts_total = 0
        self.hosts_done = 0
        self.finished: set[str] = set()
        self.failed: set[str] = set()
        self.gathering: dict[str, float] = {}      # host -> when it started (now's clock)

    @property
    def tests_total(self) -> int:
        return len(self.host_of)

    def expect(self, tests: Iterable[tuple[str, str | None]]) -> None:
        """The run's tests, (nodeid, host or None), once, before the first report."""
        if self.host_of:
            return   # every xdist worker sends the same collection
        for nodeid, host in tests:
            if nodeid in self.host_of:
                continue
            self.host_of[nodeid] = host
            if host is not None:
                self.left[host] = self.left.get(host, 0) + 1
        self.hosts_total = len(self.left)

    def finish(self, nodeid: str) -> None:
        """A test is over (its teardown, or a crash, reported)."""
        if nodeid in self.finished or nodeid not in self.host_of:
            return
        self.finished.add(nodeid)
        host = self.host_of[nodeid]
        if host is None:
            return
        self.left[host] -= 1
        if self.left[host] == 0:
            self.hosts_done += 1
            self.gathering.pop(host, None)

    def fail(self, nodeid: str) -> None:
        self.failed.add(nodeid)

    def news(self, entries: Iterable, now: float) -> None:
        """gather.NEWS_ATTR: [host, seconds gathering] starts, [host, None] ends."""
        for entry in entries:
            try:
                host, age = entry
            except (TypeError, ValueError):
                continue
            if age is None:
                self.gathering.pop(host, None)
            elif self.left.get(host):
                self.gathering[host] = now - float(age)

    def slowest(self, now: float) -> tuple[list[tuple[str, float]], int]:
        """The SLOWEST_SHOWN hosts gathering longest, for SLOW_AFTER seconds or more,
        with their seconds, and how many hosts have been gathering that long."""
        at_least, most = SLOW_AFTER, SLOWEST_SHOWN
        slow = [(t, h) for h, t in self.gathering.items() if now - t >= at_least]
        return [(h, now - t) for t, h in heapq.nsmallest(most, slow)], len(slow)


def progress_line(state: ProgressState, now: float, width: int) -> str:
    """`fleetcheck: 37/120 hosts done, 412/6000 checks, 3 failed; gathering: db7 (41 s),
    web3 (33 s) and 4 more`, no longer than `width`: the slow hosts are named while
    they fit (at most SLOWEST_SHOWN), then the line is cut."""
    text = "fleetcheck: "
    if state.hosts_total:
        text += f"{state.hosts_done}/{state.hosts_total} hosts done, "
    text += f"{len(state.finished)}/{state.tests_total} checks"
    if state.failed:
        text += f", {len(state.failed)} failed"
    slow, count = state.slowest(now)
    for shown in range(len(slow), 0, -1):
        names = ", ".join(f"{printable(host)} ({age:.0f} s)" for host, age in slow[:shown])
        more = f" and {count - shown} more" if count > shown else ""
        candidate = f"{text}; gathering: {names}{more}"
        if len(candidate) <= width:
            return candidate
    return text if len(text) <= width else text[:max(width - 3, 1)] + "..."


def why_not_shown(config: pytest.Config, tr) -> str | None:
    """None when the line can be drawn, else why not (see the module's docstring)."""
    opt = config.option
    if tr is None:
        return "no terminal reporter"
    if not tr.isatty():
        return "not a terminal"
    if os.environ.get("TERM") == "dumb":
        return "TERM=dumb"
    if opt.verbose != 0:
        return "-q or -v"
    if config.getoption("capture", "fd") == "no":
        return "-s"
    if config.getoption("setupshow", False) or config.getoption("setuponly", False) \
            or config.getoption("setupplan", False):
        return "--setup-show"
    if config.getoption("usepdb", False) or config.getoption("trace", False):
        return "--pdb"
    if _live_logging(config):
        return "live logging"
    if opt.collectonly:
        return "--collect-only"
    return None


def _live_logging(config: pytest.Config) -> bool:
    if config.getoption("log_cli_level", None) is not None:
        return True
    try:
        return bool(config.getini("log_cli"))
    except ValueError:   # -p no:logging: no such ini option, no live logging
        return False


class ProgressLine:
    """The controller's line (registered for audit runs; on only when why_not_shown
    says nothing against it, decided when the session starts)."""

    def __init__(self, config: pytest.Config, hosts: Iterable[str]):
        self.config = config
        self.hosts = dict.fromkeys(hosts)
        self.state = ProgressState()
        self.tr = None
        self.on = False
        self.drawn = 0           # the length of the line on the terminal now (0: none)
        self.last_draw = None    # time.monotonic() of the last redraw

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if why_not_shown(self.config, tr) is None:
            self.tr, self.on = tr, True
            tr.showfspath = False

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.state.expect((item.nodeid, host_in(item.nodeid, self.hosts))
                          for item in session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report, config):
        result = yield
        if self.on and result:
            return (result[0], "", "")   # the category counts; nothing is written
        return result

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._redraw()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        news = getattr(report, NEWS_ATTR, None)
        if news:
            self.state.news(news, time.monotonic())
        if report.failed:
            self.state.fail(report.nodeid)
        if report.when not in ("setup", "call"):   # teardown, or an xdist crash ("???")
            self.state.finish(report.nodeid)
        self._redraw()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before pytest's summary (its own sessionfinish is a wrapper: it writes after)."""
        if self.on:
            self._erase()
            self.on = False

    def _redraw(self) -> None:
        if not self.on:
            return
        now = time.monotonic()
        if self.last_draw is not None and now - self.last_draw < REDRAW_EVERY:
            return
        self.last_draw = now
        if self.tr.currentfspath != OPEN_LINE:
            self.drawn = 0   # something finished the line (ensure_newline): a fresh one
        width = max(getattr(getattr(self.tr, "_tw", None), "fullwidth", 80) - 1, 20)
        line = progress_line(self.state, now, width)
        self._write("\r" + line + " " * max(self.drawn - len(line), 0))
        self.drawn = len(line)
        self.tr.currentfspath = OPEN_LINE

    def _erase(self) -> None:
        if self.drawn and self.tr.currentfspath == OPEN_LINE:
            self._write("\r" + " " * self.drawn + "\r")
            self.tr.currentfspath = None
        self.drawn = 0

    def _write(self, text: str) -> None:
        """Raw: pytest's writer does not count it into the width of its current line
        (nor would it understand the `\\r`)."""
        write = getattr(self.tr, "write_raw", None) or self.tr._tw.write_raw
        write(text, flush=True)


class XdistProgress:
    """Under xdist the controller collects nothing: the first worker's nodeids are the
    run's tests. Registered only when xdist is installed (its hook is unknown without)."""

    def __init__(self, line: ProgressLine):
        self.line = line

    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.line.state.expect((nodeid, host_in(nodeid, self.line.hosts)) for nodeid in ids)
