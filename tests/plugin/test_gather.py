"""Facts gathered ahead (fleetcheck.gather), proven on local:// hosts through the
command log: when each command ran, on which host, in which worker.

`vmstat 1 2` takes a second on a host; whether the hosts' seconds overlap shows
whether they were gathered at once. Nothing here judges how long a run took (that is
bench/'s work): only the order and overlap of what ran.
"""

import json

import pytest

HOSTS = ("a", "b", "c", "d")
INV = "all:\n  vars:\n    capacity: {vmstat: {interval: 1, samples: 2}}\n  hosts:\n" + "".join(
    f"    {h}: {{ansible_connection: local}}\n" for h in HOSTS)

CHECKS = """
import pytest

@pytest.mark.check("demo.vmstat", facts=["vmstat"])
def test_vmstat(host, facts):
    assert len(facts.vmstat.live) == 1

@pytest.mark.check("demo.later", facts=["nproc", lambda host, item: [("file", {"path": "/etc/hostname"})]])
def test_later(host, facts):
    assert facts.nproc.cpus >= 1
    assert facts.get("file", path="/etc/hostname").exists

@pytest.mark.check("demo.undeclared")
def test_undeclared(host, facts):
    assert facts.loadavg.load1 >= 0   # not declared: read when the check asks
"""


def commands(pytester) -> list[dict]:
    return [json.loads(line) for line in
            (pytester.path / "commands.jsonl").read_text().splitlines()]


def seconds(row: dict) -> float:
    """A command's seconds, or its batch's (fleetcheck.connect.batch): it ran within them."""
    return row["seconds"] if row["seconds"] is not None else row["batch"]["seconds"]


def vmstat_spans(rows: list[dict]) -> dict[str, tuple[float, float]]:
    return {r["host"]: (r["at"] - seconds(r), r["at"]) for r in rows
            if r["command"].endswith("vmstat 1 2")}


def overlapping(spans: list[tuple[float, float]]) -> bool:
    """Do all these time spans share a moment?"""
    return max(s for s, _ in spans) < min(e for _, e in spans)


def run(pytester, *args):
    pytester.makefile(".yml", inv=INV)
    pytester.makepyfile(test_demo=CHECKS)
    return pytester.runpytest("--inventory", "inv.yml", "--command-log", "commands.jsonl",
                              *args)


def test_every_host_gathered_at_once(pytester):
    run(pytester).assert_outcomes(passed=3 * len(HOSTS))
    rows = commands(pytester)
    spans = vmstat_spans(rows)
    assert sorted(spans) == list(HOSTS)
    assert overlapping(list(spans.values()))
    for host in HOSTS:
        mine = [r for r in rows if r["host"] == host]
        commands_run = [r["command"] for r in mine]
        # declared facts in the order the checks read them, each once, in one batch
        # (one remote command: fleetcheck.connect.batch), the report's host summary
        # (fleetcheck.facts.system) last in it; the undeclared one when its check
        # asked, after the gathering, on its own
        assert commands_run[:2] == ["LC_ALL=C vmstat 1 2", "nproc"]
        assert "/etc/hostname" in commands_run[2]
        assert "/proc/sys/kernel/osrelease" in commands_run[3]
        assert [r.get("batch", {}).get("commands") for r in mine[:4]] == [4, 4, 4, 4]
        assert all(r["batch"]["complete"] for r in mine[:4])
        assert mine[0]["seconds"] is None and mine[0]["batch"]["seconds"] >= 1
        assert commands_run[4:] == ["cat /proc/loadavg"] and mine[4]["seconds"] is not None
        assert {r["on"] for r in rows} == {"host"} and all(r["rc"] == 0 for r in rows)
        assert "stdout" not in rows[0] and "output" not in rows[0]


def test_gather_threads_0_reads_each_fact_when_asked(pytester):
    run(pytester, "--gather-threads", "0").assert_outcomes(passed=3 * len(HOSTS))
    spans = sorted(vmstat_spans(commands(pytester)).values())
    assert len(spans) == len(HOSTS)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(spans, spans[1:]))  # one by one


def test_xdist_worker_gathers_the_hosts_it_owns(pytester):
    run(pytester, "-n", "2").assert_outcomes(passed=3 * len(HOSTS))
    rows = commands(pytester)
    workers = {h: {r["worker"] for r in rows if r["host"] == h} for h in HOSTS}
    # the i-th host belongs to gw(i mod 2), before the run: each host on one worker
    assert workers == {"a": {"gw0"}, "b": {"gw1"}, "c": {"gw0"}, "d": {"gw1"}}
    spans = vmstat_spans(rows)
    assert overlapping([spans["a"], spans["c"]]) and overlapping([spans["b"], spans["d"]])


def test_unreachable_host_is_found_in_its_thread_and_reported(pytester):
    pytester.makefile(".yml", inv=INV + "    dead: {ansible_host: 127.0.0.1, ansible_port: 1}\n")
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "--command-log", "commands.jsonl")
    outcomes = res.parseoutcomes()
    assert outcomes["passed"] == 3 * len(HOSTS) and outcomes["unreachable"] == 3
    res.stdout.fnmatch_lines(["dead *3 unreachable*refused*"])
    assert "dead" not in {r["host"] for r in commands(pytester)}


def test_bad_gather_threads_is_a_usage_error(pytester):
    res = run(pytester, "--gather-threads", "-1")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--gather-threads must be 0 or more*"])


def test_unwritable_command_log_is_one_line(pytester):
    pytester.makefile(".yml", inv=INV)
    res = pytester.runpytest("--inventory", "inv.yml", "--command-log", "no/such/dir/log")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--command-log no/such/dir/log: No such file or directory*"])
    assert "Traceback" not in res.stderr.str()


# --- the order checks run in (fleetcheck.runorder) ---------------------------------

# "slow" samples for 3 seconds, "quick1"/"quick2" for 1: what each host's checks read
# comes in at different times. Collection order is check by check.
ORDER_INV = """all:
  vars:
    capacity: {vmstat: {interval: 1, samples: 2}}
  hosts:
    quick1: {ansible_connection: local}
    quick2: {ansible_connection: local}
    slow: {ansible_connection: local, capacity: {vmstat: {interval: 1, samples: 4}}}
"""

ORDER_CHECKS = """
import pytest

@pytest.mark.check("demo.sample", facts=["vmstat"])
def test_sample(host, facts):
    assert facts.vmstat.live

@pytest.mark.check("demo.cpus", facts=["nproc"])
def test_cpus(host, facts):
    assert facts.nproc.cpus >= 1

@pytest.mark.check("demo.controller", facts=[])
def test_controller(host):
    assert host.name

@pytest.mark.check("demo.undeclared")
def test_undeclared(host, facts):
    assert facts.loadavg.load1 >= 0
"""


def run_order(pytester, *args) -> list[str]:
    pytester.makefile(".yml", inv=ORDER_INV)
    pytester.makepyfile(test_demo=ORDER_CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-v", *args)
    res.assert_outcomes(passed=12)
    return [line.split("::", 1)[1].split(" ", 1)[0] for line in res.stdout.lines
            if line.startswith("test_demo.py::") and " PASSED" in line]


def test_checks_run_as_their_facts_come_in(pytester):
    order = run_order(pytester)
    pos = {name: i for i, name in enumerate(order)}
    # facts=[]: at once (the first check run), not after every host's sample
    assert order[0] == "test_controller[quick1]"
    assert max(pos[f"test_controller[{h}]"] for h in ("quick1", "quick2", "slow")) \
        < pos["test_sample[slow]"]
    # the quick hosts' checks do not wait for the slow host's sample
    for quick in ("quick1", "quick2"):
        assert pos[f"test_cpus[{quick}]"] < pos["test_sample[slow]"]
        # undeclared: after its host's gathering, never before what it declared
        assert pos[f"test_cpus[{quick}]"] < pos[f"test_undeclared[{quick}]"]
    assert order[-2:] == ["test_cpus[slow]", "test_undeclared[slow]"]


def test_collection_order_without_gathering(pytester):
    order = run_order(pytester, "--gather-threads", "0")
    assert order == [f"test_{check}[{h}]" for check in ("sample", "cpus", "controller",
                                                        "undeclared")
                     for h in ("quick1", "quick2", "slow")]


def test_exitfirst_still_stops_at_the_first_failure(pytester):
    pytester.makefile(".yml", inv=ORDER_INV)
    pytester.makepyfile(test_demo=ORDER_CHECKS.replace("assert host.name",
                                                       "assert host.name != 'quick2'"))
    res = pytester.runpytest("--inventory", "inv.yml", "-x")
    outcomes = res.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes.get("passed") == 1  # controller[quick1]
    res.stdout.fnmatch_lines(["*demo.controller*quick2*"])


def test_a_batch_that_breaks_off_falls_back_to_one_command_each(pytester):
    """A batch whose output does not come back whole (a timeout, a dropped channel:
    stood in for here by a split that finds no markers) leaves nothing half-read:
    each fact is then gathered on its own, with its own timeout."""
    pytester.makeconftest("""
import fleetcheck.connect.batch

real_split = fleetcheck.connect.batch.split

def pytest_configure(config):
    fleetcheck.connect.batch.split = lambda *args, **kwargs: None

def pytest_unconfigure(config):
    fleetcheck.connect.batch.split = real_split   # the run is in this process: put it back
""")
    run(pytester).assert_outcomes(passed=3 * len(HOSTS))
    for host in HOSTS:
        mine = [r for r in commands(pytester) if r["host"] == host]
        sent, again = mine[:4], mine[4:]   # three declared facts and the host summary
        # the batch is in the log, marked as not come back, without exit statuses
        assert [r["batch"]["complete"] for r in sent] == [False] * 4
        assert [r["rc"] for r in sent] == [None] * 4
        assert [r["command"] for r in again][:2] == ["LC_ALL=C vmstat 1 2", "nproc"]
        assert all("batch" not in r and r["rc"] == 0 for r in again)


# --- a check's duration is its own cost ------------------------------------------------

WAIT_CHECKS = """
import time

import pytest

from fleetcheck.connect import hosts


@pytest.mark.check("demo.early", facts=[])
def test_early(host, facts):
    time.sleep(0.3)
    hosts._add_wait(0.25)   # as a wait for the host's lock would count it
    assert facts.loadavg.load1 >= 0
"""


def test_a_checks_duration_leaves_out_what_it_waited_for(pytester):
    """The record's duration (every report's, Prometheus' too) is what the check cost:
    the seconds its thread counted as waiting for others (the host's lock held by a
    gathering thread, a batch sent first: tests/unit/test_fact_waits.py) are taken out;
    pytest's own duration (its reports' setup and call) keeps them."""
    pytester.makefile(".yml", inv="all:\n  hosts:\n    a: {ansible_connection: local}\n")
    pytester.makepyfile(test_demo=WAIT_CHECKS)
    rec = pytester.inline_run("--inventory", "inv.yml")
    rec.assertoutcome(passed=1)
    theirs = sum(r.duration for r in rec.getreports("pytest_runtest_logreport")
                 if r.when in ("setup", "call"))
    run = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    (mine,) = [r["duration"] for r in run["records"]]
    assert 0.0 <= mine <= theirs - 0.24, (mine, theirs)
    assert theirs >= 0.3
