"""The plugin, run by pytester on small inventories of local:// hosts.

local:// hosts are real (commands run on this machine); only the SSH paths need the
lab (tests/integration). A closed loopback port stands for a host that refuses, and a
loopback listener that never speaks SSH for one that times out.
"""

import json
import socket
import threading
import time

import pytest

CHECKS = """
import os
import pytest
from fleetcheck.facts.base import Command

@pytest.mark.check("demo.echo", severity="low", title="echo works")
def test_echo(host, evidence):
    evidence["pid"] = os.getpid()
    result = host.run(Command("printf %s", "a b;$(id)"))
    evidence["out"] = result.stdout
    assert result.stdout == "a b;$(id)"

@pytest.mark.check("demo.name", severity="high", title="host is not b")
def test_name(host, evidence):
    evidence["pid"] = os.getpid()
    evidence["name"] = host.name
    assert host.name != "b", "b is bad"
"""

LOCAL_INV = """
all:
  vars:
    answer: {deep: {x: 1}}
  hosts:
    a: {ansible_connection: local}
    b: {ansible_connection: local}
"""


def results(pytester) -> dict:
    return json.loads((pytester.path / "reports" / "last" / "results.json").read_text())


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return port


@pytest.fixture
def silent_port():
    """A listener that accepts and never sends an SSH banner: a connect timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], conns
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


def test_fanout_ids_records_and_reports(pytester):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(passed=3, failed=1)
    res.stdout.fnmatch_lines(["*fleetcheck summary*", "a  2 passed", "b  1 failed, 1 passed",
                              "  [high] demo.name  b is bad", "reports: reports/*"])
    data = results(pytester)
    got = {(r["test_id"], r["outcome"], r["severity"]) for r in data["records"]}
    assert got == {("demo.echo[a]", "passed", "low"), ("demo.echo[b]", "passed", "low"),
                   ("demo.name[a]", "passed", "high"), ("demo.name[b]", "failed", "high")}
    failed = [r for r in data["records"] if r["outcome"] == "failed"][0]
    assert failed["message"] == "b is bad" and failed["evidence"]["name"] == "b"
    echo = [r for r in data["records"] if r["test_id"] == "demo.echo[a]"][0]
    assert echo["evidence"]["out"] == "a b;$(id)"  # quoted: nothing expanded
    assert data["run"]["hosts"] == ["a", "b"]
    latest = pytester.path / "reports" / "last"
    assert latest.is_symlink()
    junit = (latest / "junit.xml").read_text()
    assert 'name="check_id" value="demo.name"' in junit
    assert 'name="outcome" value="failed"' in junit
    html = (latest / "report.html").read_text()
    assert "col-check_id" in html and "demo.name" in html


def test_unreachable_found_once_with_reason(pytester, closed_port):
    pytester.makefile(".yml", inv=LOCAL_INV + f"""
    dead: {{ansible_host: 127.0.0.1, ansible_port: {closed_port}}}
""")
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(passed=3, failed=1)
    assert res.parseoutcomes()["unreachable"] == 2
    assert res.ret == 1  # an unreachable host fails the run
    res.stdout.fnmatch_lines(["*dead*2 unreachable*connection refused*"])
    dead = [r for r in results(pytester)["records"] if r["host"] == "dead"]
    assert [r["outcome"] for r in dead] == ["unreachable", "unreachable"]
    assert all(r["message"] == "connection refused" for r in dead)


def test_timeout_costs_one_connect_timeout(pytester, silent_port):
    port, conns = silent_port
    pytester.makefile(".yml", inv=LOCAL_INV + f"""
    slow: {{ansible_host: 127.0.0.1, ansible_port: {port}}}
""")
    pytester.makepyfile(test_demo=CHECKS)
    start = time.monotonic()
    res = pytester.runpytest("--inventory", "inv.yml", "--connect-timeout", "1")
    elapsed = time.monotonic() - start
    res.assert_outcomes(passed=3, failed=1)
    assert res.parseoutcomes()["unreachable"] == 2
    slow = [r for r in results(pytester)["records"] if r["host"] == "slow"]
    assert {r["outcome"] for r in slow} == {"unreachable"}
    assert "timeout" in slow[0]["message"]
    assert len(conns) == 1, "the host must be tried once, not once per check"
    assert elapsed < 5, elapsed  # one 1 s timeout (+ overhead), never one per check


def test_xdist_keeps_each_host_on_one_worker(pytester):
    hosts = "\n".join(f"    h{i}: {{ansible_connection: local}}" for i in range(4))
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n{hosts}\n")
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-n", "2")
    res.assert_outcomes(passed=8)
    records = results(pytester)["records"]
    assert len(records) == 8
    pids = {}
    for r in records:
        pids.setdefault(r["host"], set()).add(r["evidence"]["pid"])
    assert all(len(p) == 1 for p in pids.values()), pids
    assert len(set().union(*pids.values())) == 2  # both workers got hosts


def test_facts_cached_per_host(pytester):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_facts="""
import pytest
@pytest.mark.check("demo.first", severity="info")
def test_first(host, facts, evidence):
    evidence["cpus"] = facts.nproc.cpus
    evidence["commands"] = host.commands_run
@pytest.mark.check("demo.second", severity="info")
def test_second(host, facts, evidence):
    evidence["cpus"] = facts.get("nproc").cpus
    evidence["commands"] = host.commands_run
""")
    pytester.runpytest("--inventory", "inv.yml", "--limit", "a").assert_outcomes(passed=2)
    first, second = results(pytester)["records"]
    assert first["evidence"]["cpus"] == second["evidence"]["cpus"] >= 1
    assert first["evidence"]["commands"] == second["evidence"]["commands"] == 1


def test_hosts_option_gets_local_all_vars(pytester):
    pytester.makepyfile(test_vars="""
import pytest
@pytest.mark.check("demo.vars", severity="info")
def test_vars(host, evidence):
    evidence["host"] = host.name
    assert host.vars["capacity"]["vmstat"]["samples"] >= 2
    assert host.vars["ansible_connection"] == "local"
""")
    res = pytester.runpytest("--hosts=local://")
    res.assert_outcomes(passed=1)


def test_limit_grammar_applies(pytester):
    hosts = "\n".join(f"    web{i}: {{ansible_connection: local}}" for i in range(1, 4))
    pytester.makefile(".yml", inv=f"all:\n  children:\n    web:\n      hosts:\n{hosts.replace('    ', '        ')}\n  hosts:\n    db1: {{ansible_connection: local}}\n")
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "--limit", "web:!web2:db1", "-k", "echo")
    res.assert_outcomes(passed=3)
    assert [r["host"] for r in results(pytester)["records"]] == ["db1", "web1", "web3"]


@pytest.mark.parametrize("marker, message", [
    ('"nodot", severity="low"', "must look like 'area.name'"),
    ('"a.b", severity="urgent"', "is not one of critical"),
    ('"a.b", facts=["vmstat", "nosuchfact"]', "facts= of a.b: unknown fact 'nosuchfact'"),
    ('"a.b", facts="vmstat"', "facts= of a.b: 'vmstat' is not a list"),
    ('"a.b", facts=[("df", "inodes")]', "is not a fact name, a (name, params) pair"),
    ('"a.b", compare=("expected", "actual")', "compare= of a.b: ('expected', 'actual') is not"),
    ('"a.b", compare={"value": ("expected",)}', "'value': ('expected',) is not an (expected"),
    ('"a.b", compare={"value": (None, None)}', "'value': (None, None) names no evidence key"),
])
def test_bad_check_marker_is_a_collection_error(pytester, marker, message):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_bad=f"""
import pytest
@pytest.mark.check({marker})
def test_x(host):
    pass
""")
    res = pytester.runpytest("--inventory", "inv.yml")
    res.stdout.fnmatch_lines([f"*{message}*"])
    assert res.ret != 0


def test_strict_markers_on(pytester):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_typo="""
import pytest
@pytest.mark.chek("a.b")
def test_x():
    pass
""")
    res = pytester.runpytest("--inventory", "inv.yml", "--strict-markers")
    res.stdout.fnmatch_lines(["*'chek' not found in `markers`*"])


def test_host_fixture_is_fleetchecks_not_testinfras(pytester):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_type="""
import pytest
from fleetcheck.connect.hosts import FleetHost
@pytest.mark.check("demo.type", severity="info")
def test_type(host):
    assert isinstance(host, FleetHost)
""")
    pytester.runpytest("--inventory", "inv.yml").assert_outcomes(passed=2)


def test_not_applicable_is_a_skip_with_reason(pytester):
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_na="""
import pytest
@pytest.mark.check("demo.na", severity="info")
def test_na(host):
    pytest.skip("no md driver")
""")
    pytester.runpytest("--inventory", "inv.yml").assert_outcomes(skipped=2)
    recs = results(pytester)["records"]
    assert {(r["outcome"], r["message"]) for r in recs} == {("not-applicable", "no md driver")}


def test_broken_fact_is_an_error_not_a_crash(pytester):
    pytester.makefile(".yml", inv="""
all:
  vars:
    raid: {mdstat_path: /etc/hostname}
  hosts:
    a: {ansible_connection: local}
""")
    pytester.makepyfile(test_md="""
import pytest
@pytest.mark.check("demo.md", severity="info")
def test_md(host, facts):
    facts.mdstat
""")
    res = pytester.runpytest("--inventory", "inv.yml")
    res.assert_outcomes(failed=1)
    (rec,) = results(pytester)["records"]
    assert rec["outcome"] == "error" and "ParseError" in rec["message"]


def test_every_command_has_a_timeout(pytester):
    pytester.makefile(".yml", inv="""
all:
  hosts:
    a: {ansible_connection: local, fleetcheck_command_timeout: 1}
""")
    pytester.makepyfile(test_slow="""
import pytest
from fleetcheck.facts.base import Command
@pytest.mark.check("demo.slow", severity="info")
def test_slow(host):
    host.run(Command("sleep %s", 30))
""")
    start = time.monotonic()
    res = pytester.runpytest("--inventory", "inv.yml")
    assert time.monotonic() - start < 10
    res.assert_outcomes(failed=1)
    (rec,) = results(pytester)["records"]
    assert rec["outcome"] == "error" and "timed out after 1s" in rec["message"]


@pytest.mark.root("sudo -u nobody without a password")
def test_become_runs_commands_through_sudo(pytester):
    # Needs sudo (tests/requirements-apt.txt); run as root, sudo -u needs no password.
    pytester.makefile(".yml", inv="""
all:
  hosts:
    a: {ansible_connection: local, ansible_become: true, ansible_become_user: nobody}
    b: {ansible_connection: local}
""")
    pytester.makepyfile(test_who="""
import pytest
from fleetcheck.facts.base import Command
@pytest.mark.check("demo.who", severity="info")
def test_who(host, evidence):
    evidence["user"] = host.run(Command("id -un")).stdout.strip()
""")
    pytester.runpytest("--inventory", "inv.yml").assert_outcomes(passed=2)
    users = {r["host"]: r["evidence"]["user"] for r in results(pytester)["records"]}
    assert users["a"] == "nobody" and users["b"] != "nobody"


def test_failed_assertion_is_its_message_unless_tb_asked(pytester):
    """More in tests/plugin/test_terminal_summary.py."""
    pytester.makefile(".yml", inv=LOCAL_INV)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml", "-k", "name")
    res.stdout.fnmatch_lines(["  [high] demo.name  b is bad",
                              "FAILED test_demo.py::test_name[b] - b is bad"])
    assert "def test_name" not in res.stdout.str()  # no source of the check
    res = pytester.runpytest("--inventory", "inv.yml", "-k", "name", "--tb=long")
    res.stdout.fnmatch_lines(["*demo.name?b?*", "*def test_name(host, evidence):*",
                              "E *AssertionError: b is bad"])


def test_ssh_config_that_weakens_host_keys_is_said_once(pytester):
    """An ssh_config with StrictHostKeyChecking no is overridden (fleetcheck.connect.hostkeys):
    the run says so once, at the start and in the summary, and in results.json."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # closed once the block ends: the hosts are unreachable
    pytester.makefile("", ssh_config="Host *\n  StrictHostKeyChecking no\n"
                                     "  UserKnownHostsFile /dev/null\n")
    pytester.makefile(".yml", inv=f"""
all:
  vars: {{fleetcheck_ssh_config: ssh_config, ansible_host: 127.0.0.1, ansible_port: {port}}}
  hosts: {{a: {{}}, b: {{}}}}
""")
    pytester.makepyfile(test_demo="""
import pytest

@pytest.mark.check("demo.ok", severity="low", title="ok")
def test_ok(host):
    assert host.name
""")
    res = pytester.runpytest("--inventory", "inv.yml", "--allow-unreachable")
    out = res.stdout.str()
    warned = [ln for ln in out.splitlines() if ln.startswith("WARNING: ")
              and "StrictHostKeyChecking" in ln]
    assert len(warned) == 2, out        # the header and the summary, not once per host
    import json
    run = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())["run"]
    assert [w for w in run["connection_warnings"] if "StrictHostKeyChecking" in w], run


def test_a_var_named_like_a_fleetcheck_var_is_a_warning_or_with_strict_vars_an_error(pytester):
    pytester.makefile(".yml", inv="""
all:
  vars:
    capacty: {disk: {}}
  hosts:
    a: {ansible_connection: local}
""")
    pytester.makepyfile(test_demo="""
import pytest

@pytest.mark.check("demo.ok", severity="low", title="ok")
def test_ok(host):
    assert host.name
""")
    res = pytester.runpytest("--inventory", "inv.yml")
    assert res.ret == 0
    warned = [ln for ln in res.stdout.lines if ln.startswith("WARNING: ") and "capacty" in ln]
    assert warned and all("inv.yml:3: group 'all': capacty:" in ln and "did you mean capacity?" in ln
                          for ln in warned), res.stdout.str()
    res = pytester.runpytest("--inventory", "inv.yml", "--strict-vars")
    assert res.ret == 4
    errors = [ln for ln in res.stderr.lines if "capacty" in ln]
    assert len(errors) == 1 and errors[0].endswith("(--strict-vars)"), res.stderr.str()


def test_users_checks_declare_the_schema_of_their_vars(pytester):
    """A conftest.py beside the user's checks declares their vars (pytest_fleetcheck_vars):
    the inventory's definitions are validated at load like fleetcheck's own."""
    pytester.makeconftest("""
def pytest_fleetcheck_vars(config):
    return {"myapp": {"myapp": {
        "type": "object", "description": "what the myapp checks expect",
        "additionalProperties": False,
        "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                "description": "the port myapp listens on"}}}}}
""")
    pytester.makepyfile(test_myapp="""
import pytest

@pytest.mark.check("myapp.port", severity="low", title="port declared")
def test_port(host):
    assert host.vars["myapp"]["port"]
""")
    pytester.makefile(".yml", good="all:\n  vars: {myapp: {port: 8080}}\n"
                                   "  hosts: {a: {ansible_connection: local}}\n")
    pytester.makefile(".yml", bad="all:\n  vars: {myapp: {prot: 8080}}\n"
                                  "  hosts: {a: {ansible_connection: local}}\n")
    assert pytester.runpytest("--inventory", "good.yml").ret == 0
    res = pytester.runpytest("--inventory", "bad.yml")
    assert res.ret == 4
    (line,) = [ln for ln in res.stderr.lines if "myapp" in ln]
    assert "bad.yml:2: group 'all': myapp.prot: unknown key (did you mean port?)" in line, line
