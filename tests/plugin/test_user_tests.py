"""Users' testinfra tests in a fleetcheck run (fleetcheck.usertests): what they get as
`host` in each mode, their records, and the options that cannot apply.

Every host here is local:// (this machine): the comparison with plain
pytest-testinfra over real hosts is tests/parity/."""

from __future__ import annotations

import json

import pytest

INVENTORY = """
all:
  hosts:
    h1: {ansible_connection: local, role: web}
    h2: {ansible_connection: local, role: db}
    gone: {ansible_connection: local, online: false}
"""

USER_TESTS = """
import pytest

fleetcheck_severity = "high"

def test_kind(host):
    # testinfra's Host without an inventory, fleetcheck's host (with vars) with one
    print("KIND", type(host).__name__, getattr(host, "name", "-"))
    assert host.file("/etc/passwd").exists
    assert host.run("echo %s", "a b").stdout == "a b\\n"

def test_role_is_web(host):
    assert host.vars["role"] == "web", "not a web host"

@pytest.mark.severity("low")
def test_low(host):
    assert host.vars["role"] == "web", "a low one"
"""

CHECK = """
import pytest

@pytest.mark.check("demo.alive", severity="low", facts=[])
def test_alive(host):
    assert host.check_output("echo %s", host.name) == host.name
"""


def results(pytester) -> dict:
    return json.loads((pytester.path / "reports" / "last" / "results.json").read_text())


def test_without_an_inventory_testinfra_decides(pytester):
    pytester.makepyfile(test_user="""
def test_kind(host):
    print("KIND", type(host).__module__, type(host).__name__)
    assert host.check_output("echo hi") == "hi"
""")
    res = pytester.runpytest("-s", "--hosts=local://")
    res.assert_outcomes(passed=1)
    assert "KIND testinfra.host Host" in res.stdout.str()
    (record,) = results(pytester)["records"]
    assert (record["host"], record["check_id"], record["outcome"]) == (
        "local", "user.kind", "passed")


def test_over_the_inventory_with_records(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_web=USER_TESTS)
    res = pytester.runpytest("-s", "--inventory", "inv.yml", "-rA")
    # gone is offline: skipped at collection, never touched
    res.assert_outcomes(passed=4, failed=2, skipped=3)
    out = res.stdout.str()
    assert "KIND FleetHost h1" in out and "KIND FleetHost h2" in out
    assert "test_web.py::test_role_is_web[h2] - AssertionError: not a web host" in out
    records = {(r["host"], r["check_id"]): r for r in results(pytester)["records"]}
    assert set(records) == {(h, c) for h in ("h1", "h2", "gone")
                            for c in ("web.kind", "web.role_is_web", "web.low")}
    bad = records[("h2", "web.role_is_web")]
    assert (bad["outcome"], bad["severity"]) == ("failed", "high")
    assert records[("h2", "web.low")]["severity"] == "low"
    assert records[("gone", "web.kind")]["outcome"] == "not-applicable"
    junit = (pytester.path / "reports" / "last" / "junit.xml").read_text()
    assert '<property name="check_id" value="web.role_is_web"' in junit


def test_limit_and_a_waiver_apply_to_users_tests(pytester):
    pytester.makefile(".yml", inv=INVENTORY + """
  vars:
    fleetcheck_waivers:
      - {check: web.role_is_web, hosts: h2, reason: "db hosts", owner: ops, expires: 2099-01-01}
""")
    pytester.makepyfile(test_web=USER_TESTS)
    res = pytester.runpytest("--inventory", "inv.yml", "--limit", "h2", "-k", "not low")
    assert res.ret == 0, res.stdout.str()
    outcomes = {r["check_id"]: r["outcome"] for r in results(pytester)["records"]}
    assert outcomes == {"web.kind": "passed", "web.role_is_web": "waived"}


def test_a_user_host_fixture_does_not_replace_the_checks_host(pytester):
    """A conftest of theirs overriding `host` decides what their tests get; fleetcheck's
    checks still get the inventory host."""
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makeconftest("""
import pytest

@pytest.fixture
def host():
    return "theirs"
""")
    pytester.makepyfile(test_demo=CHECK, test_theirs="""
def test_theirs(host):
    assert host == "theirs"
""")
    res = pytester.runpytest("--inventory", "inv.yml", "--limit", "h1:h2", "-rA")
    res.assert_outcomes(passed=3)
    assert "test_theirs.py::test_theirs PASSED" in res.stdout.str() or \
        "PASSED test_theirs.py::test_theirs" in res.stdout.str()


def test_a_module_with_testinfra_hosts_keeps_them(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_own="""
testinfra_hosts = ["local://"]

def test_own(host):
    assert type(host).__name__ == "Host"
""")
    res = pytester.runpytest("--inventory", "inv.yml", "-rA")
    res.assert_outcomes(passed=1)
    assert "test_own.py::test_own[local]" in res.stdout.str()


def test_a_foreign_hosts_spec_is_testinfras_unless_a_check_needs_it(pytester):
    pytester.makepyfile(test_demo=CHECK)
    pytester.makepyfile(test_user="def test_x(host):\n    pass\n")
    # only the user's test: testinfra's own business (and its own error: no docker)
    res = pytester.runpytest("--hosts=docker://nosuchcontainer", "test_user.py",
                             "--collect-only", "-q")
    assert res.ret == 0, res.stdout.str()
    assert "test_user.py::test_x[docker://nosuchcontainer]" in res.stdout.str()
    res = pytester.runpytest("--hosts=docker://nosuchcontainer", "test_demo.py")
    assert res.ret == 4
    line = [x for x in res.stderr.lines if x.startswith("ERROR:")]
    assert line and "--hosts 'docker://nosuchcontainer': fleetcheck's checks run over " \
        "local, paramiko and ssh connections only" in line[0], res.stderr.str()
    assert "Traceback" not in res.stderr.str() + res.stdout.str()


@pytest.mark.parametrize("option", ["--sudo", "--ssh-identity-file=k", "--connection=ssh",
                                    "--ansible-inventory=x.yml"])
def test_testinfra_options_that_cannot_apply_to_inventory_hosts(pytester, option):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_demo=CHECK)
    res = pytester.runpytest("--inventory", "inv.yml", option)
    assert res.ret == 4
    flag = option.split("=")[0]
    assert any(line.startswith(f"ERROR: {flag} is testinfra's option for its --hosts")
               for line in res.stderr.lines), res.stderr.str()


def test_testinfra_options_are_the_hosts_specs_defaults_for_checks(pytester):
    """`--connection=local`, as testinfra reads it: the scheme of a spec without one;
    --sudo: ansible_become (here a no-op sudo would need root: only the var)."""
    pytester.makepyfile(test_demo=CHECK)
    res = pytester.runpytest("--hosts=local://", "--sudo-user=nobody", "--collect-only", "-q")
    assert res.ret == 0, res.stdout.str() + res.stderr.str()
    res = pytester.runpytest("--hosts=local://")
    res.assert_outcomes(passed=1)


def test_testinfra_api_commands_are_in_the_command_log(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_web=USER_TESTS)
    res = pytester.runpytest("--inventory", "inv.yml", "--limit", "h1",
                             "--command-log", "cmds.jsonl", "-k", "kind")
    res.assert_outcomes(passed=1)
    rows = [json.loads(line) for line in (pytester.path / "cmds.jsonl").read_text().splitlines()]
    commands = [r["command"] for r in rows if r["host"] == "h1"]
    assert "echo 'a b'" in commands, commands


def test_a_bad_severity_is_one_line(pytester):
    pytester.makefile(".yml", inv=INVENTORY)
    pytester.makepyfile(test_web="""
import pytest
pytestmark = pytest.mark.severity("urgent")

def test_x(host):
    pass
""")
    res = pytester.runpytest("--inventory", "inv.yml", "--limit", "h1")
    assert res.ret == 4
    assert res.stderr.lines[0] == ("ERROR: test_web.py::test_x[h1]: @pytest.mark.severity "
                                   "'urgent' is not one of critical, high, medium, low, info")
