"""The progress line's pure parts (fleetcheck.report.progress): which host a test is
of, hosts done of all, the hosts gathering longest, and the line cut to the width.
The line on a real terminal is tests/plugin/test_progress_line.py."""

from __future__ import annotations

import types

import pytest

from fleetcheck.gather import Gatherer
from fleetcheck.report import progress
from fleetcheck.report.progress import ProgressState, host_in, progress_line, why_not_shown
from fleetcheck.runorder import DONE

HOSTS = {"web": None, "web-1": None, "db1": None}


@pytest.mark.parametrize("nodeid, host", [
    ("checks/test_x.py::test_a[web]", "web"),
    ("checks/test_x.py::test_a[web-1]", "web-1"),              # the longest that fits
    ("checks/test_x.py::test_a[web-1-vm.swappiness]", "web-1"),
    ("checks/test_x.py::test_a[web-vm.swappiness]", "web"),
    ("checks/test_x.py::test_a[db1-a-b-c]", "db1"),
    ("checks/test_x.py::test_a[db1]@slow", "db1"),             # an xdist_group suffix
    ("checks/test_x.py::test_a[db10]", None),
    ("checks/test_x.py::test_a[-web]", None),
    ("checks/test_x.py::test_a", None),
    ("checks/a[web]/test_x.py::test_a", None),                 # a path is not a param
])
def test_the_host_of_a_nodeid(nodeid, host):
    assert host_in(nodeid, HOSTS) == host


def state_of(hosts: dict[str, int], others: int = 0) -> ProgressState:
    state = ProgressState()
    state.expect([(f"t.py::t[{h}-{i}]", h) for h, n in hosts.items() for i in range(n)]
                 + [(f"t.py::other{i}", None) for i in range(others)])
    return state


def test_a_host_is_done_when_each_of_its_tests_has_finished():
    state = state_of({"a": 2, "b": 1}, others=1)
    assert (state.hosts_done, state.hosts_total, state.tests_total) == (0, 2, 4)
    state.finish("t.py::t[a-0]")
    state.finish("t.py::t[a-0]")            # said twice (a crash and its teardown): once
    state.finish("t.py::t[b-0]")
    state.finish("t.py::other0")
    state.finish("t.py::unknown")           # not of the collection: nothing
    assert (state.hosts_done, len(state.finished)) == (1, 3)
    state.finish("t.py::t[a-1]")
    assert state.hosts_done == 2
    # a second worker's collection is the same one: not counted again
    state.expect([("t.py::t[a-0]", "a")])
    assert (state.hosts_total, state.tests_total) == (2, 4)


def test_the_hosts_gathering_longest_first():
    state = state_of({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1})
    now = 100.0
    state.news([["a", 41.0], ["b", 2.0], ["c", 33.0], ["d", 7.0], ["e", 60.0]], now)
    state.news([["e", None]], now)                       # e is gathered
    slow, count = state.slowest(now)
    assert [(h, round(s)) for h, s in slow] == [("a", 41), ("c", 33), ("d", 7)]
    assert count == 3                                    # b: under SLOW_AFTER
    state.finish("t.py::t[a-0]")                         # a done: not gathering
    state.news([["a", 50.0], ["nobody", 9.0], "junk", ["x"]], now)  # news of a done host
    assert [h for h, _ in state.slowest(now + 10)[0]] == ["c", "d", "b"]


def test_the_line_says_hosts_checks_failures_and_the_slowest():
    state = state_of({"db7": 2, "web3": 2, "app1": 1})
    state.finish("t.py::t[app1-0]")
    state.fail("t.py::t[db7-0]")
    state.news([["db7", 41.2], ["web3", 33.0]], 0.0)
    assert progress_line(state, 0.0, 200) == (
        "fleetcheck: 1/3 hosts done, 1/5 checks, 1 failed; "
        "gathering: db7 (41 s), web3 (33 s)")
    assert progress_line(state_of({}, others=3), 0.0, 80) == "fleetcheck: 0/3 checks"


def test_the_line_fits_the_terminal_names_first_then_a_cut():
    state = state_of({f"host{n:02d}": 1 for n in range(10)})
    state.news([[f"host{n:02d}", 60.0 - n] for n in range(10)], 0.0)
    full = progress_line(state, 0.0, 1000)
    assert full == ("fleetcheck: 0/10 hosts done, 0/10 checks; gathering: host00 (60 s), "
                    "host01 (59 s), host02 (58 s) and 7 more")
    for width in range(1, len(full) + 1):
        assert len(progress_line(state, 0.0, width)) <= width or width < 4
    assert progress_line(state, 0.0, 80) == (
        "fleetcheck: 0/10 hosts done, 0/10 checks; gathering: host00 (60 s) and 9 more")
    assert progress_line(state, 0.0, 45) == "fleetcheck: 0/10 hosts done, 0/10 checks"
    assert progress_line(state, 0.0, 30) == "fleetcheck: 0/10 hosts done..."


def test_a_hostile_host_name_reaches_the_terminal_as_text():
    name = "evil\x1b[2J\x07x"
    state = state_of({name: 1})
    state.news([[name, 99.0]], 0.0)
    line = progress_line(state, 0.0, 200)
    assert line.endswith("; gathering: evil?[2J?x (99 s)")


def test_slow_after_is_read_when_the_line_is_made(monkeypatch):
    state = state_of({"a": 1})
    state.news([["a", 1.0]], 0.0)
    assert state.slowest(0.0) == ([], 0)
    monkeypatch.setattr(progress, "SLOW_AFTER", 0.5)
    assert state.slowest(0.0)[1] == 1


class Config:
    """What why_not_shown reads of pytest's config."""

    def __init__(self, verbose=0, ini=None, **options):
        self.option = types.SimpleNamespace(verbose=verbose, collectonly=False)
        self.options, self.ini = options, ini or {}

    def getoption(self, name, default=None):
        return self.options.get(name, default)

    def getini(self, name):
        return self.ini.get(name, False)


class Terminal:
    def __init__(self, tty=True):
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("config, tr, env, why", [
    (Config(), Terminal(), {}, None),
    (Config(), Terminal(), {"NO_COLOR": "1"}, None),     # the line has no colour
    (Config(), None, {}, "no terminal reporter"),         # -p no:terminal
    (Config(), Terminal(tty=False), {}, "not a terminal"),
    (Config(), Terminal(), {"TERM": "dumb"}, "TERM=dumb"),
    (Config(verbose=-1), Terminal(), {}, "-q or -v"),
    (Config(verbose=1), Terminal(), {}, "-q or -v"),
    (Config(capture="no"), Terminal(), {}, "-s"),
    (Config(setupshow=True), Terminal(), {}, "--setup-show"),
    (Config(usepdb=True), Terminal(), {}, "--pdb"),
    (Config(trace=True), Terminal(), {}, "--pdb"),
    (Config(ini={"log_cli": True}), Terminal(), {}, "live logging"),
    (Config(log_cli_level="INFO"), Terminal(), {}, "live logging"),
])
def test_when_the_line_is_off(monkeypatch, config, tr, env, why):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert why_not_shown(config, tr) == why


def test_the_gatherers_news_are_starts_then_ends_once():
    gatherer = Gatherer(threads=1)
    assert gatherer.take_news() == []
    gatherer.news.put(("a", 0.0))             # what its thread puts when it takes a
    gatherer._report("a", 3)                  # progress is no news
    gatherer._report("a", DONE)
    news = gatherer.take_news()
    assert [n[0] for n in news] == ["a", "a"] and news[0][1] > 0 and news[1][1] is None
    assert gatherer.take_news() == []


def test_without_pytests_logging_plugin_there_is_no_live_logging(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")

    class NoLogging(Config):
        def getini(self, name):
            raise ValueError(f"unknown configuration value: {name!r}")

    assert why_not_shown(NoLogging(), Terminal()) is None
