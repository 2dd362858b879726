"""The CI gate and waivers, through pytest (pytester, local:// hosts).

The fleet: hosts a, b, c. demo.crit fails on c (critical), demo.low fails on a (low),
demo.ok passes everywhere. A closed loopback port stands for an unreachable host.
"""

import json
import socket

import pytest

CHECKS = """
import pytest

@pytest.mark.check("demo.crit", severity="critical", title="host is not c")
def test_crit(host, evidence):
    evidence["name"] = host.name
    assert host.name != "c", "c is critical"

@pytest.mark.check("demo.low", severity="low", title="host is not a")
def test_low(host):
    assert host.name != "a", "a is a low finding"

@pytest.mark.check("demo.ok", severity="high", title="always fine")
def test_ok(host):
    pass
"""


def inventory(waivers: str = "", extra_hosts: str = "") -> str:
    text = "all:\n"
    if waivers:
        text += "  vars:\n    fleetcheck_waivers:\n" + waivers
    text += ("  children:\n    web:\n      hosts:\n"
             "        a: {ansible_connection: local}\n"
             "        b: {ansible_connection: local}\n"
             "  hosts:\n"
             "    c: {ansible_connection: local}\n" + extra_hosts)
    return text


def results(pytester) -> dict:
    return json.loads((pytester.path / "reports" / "last" / "results.json").read_text())


def outcomes(pytester) -> dict:
    return {(r["host"], r["check_id"]): r["outcome"] for r in results(pytester)["records"]}


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fleet(pytester):
    pytester.makepyfile(test_demo=CHECKS)

    def run(*args, waivers="", extra_hosts=""):
        pytester.makefile(".yml", inv=inventory(waivers, extra_hosts))
        return pytester.runpytest("--inventory", "inv.yml", *args)
    return run


@pytest.mark.parametrize("args, code, failing, tolerated", [
    ((), 1, 2, 0),                          # default: any finding fails
    (("--fail-on", "info"), 1, 2, 0),
    (("--fail-on", "low"), 1, 2, 0),
    (("--fail-on", "medium"), 1, 1, 1),     # the low finding is tolerated
    (("--fail-on", "critical"), 1, 1, 1),
])
def test_fail_on_threshold(fleet, pytester, args, code, failing, tolerated):
    res = fleet(*args)
    assert res.ret == code
    gate = results(pytester)["run"]["gate"]
    assert (gate["failing"], gate["tolerated"]) == (failing, tolerated)
    assert gate["exit_code"] == code


def test_fail_on_below_every_finding_passes(fleet, pytester):
    res = fleet("--fail-on", "critical", "-k", "low or ok")
    assert res.ret == 0, "a low finding must not fail a --fail-on critical gate"
    res.assert_outcomes(passed=5, failed=1)  # pytest still reports the failure
    out = res.stdout.str()
    assert "gate (--fail-on critical): 0 failing, 1 tolerated -> pass" in out
    assert "tolerated: a demo.low [low] failed" in out


def test_bad_fail_on_is_a_usage_error(fleet):
    res = fleet("--fail-on", "severe")
    assert res.ret == 4
    res.stderr.fnmatch_lines(["*--fail-on*invalid choice*severe*"])


def test_unreachable_fails_unless_allowed(fleet, pytester, closed_port):
    dead = f"    dead: {{ansible_host: 127.0.0.1, ansible_port: {closed_port}}}\n"
    res = fleet("-k", "ok", extra_hosts=dead)
    assert res.ret == 1
    res = fleet("-k", "ok", "--allow-unreachable", extra_hosts=dead)
    assert res.ret == 0
    assert outcomes(pytester)[("dead", "demo.ok")] == "unreachable"
    # --allow-unreachable does not hide findings
    res = fleet("--allow-unreachable", extra_hosts=dead)
    assert res.ret == 1


WAIVE_C = """      - check: "demo.crit"
        hosts: "c"
        reason: "c is being decommissioned <b>bold</b>"
        owner: ops@example.com
        expires: 2099-12-31
"""


def test_waiver_turns_failure_into_waived(fleet, pytester):
    res = fleet("-k", "crit", waivers=WAIVE_C)
    assert res.ret == 0
    res.assert_outcomes(passed=2)
    assert res.parseoutcomes()["waived"] == 1
    rec = [r for r in results(pytester)["records"] if r["host"] == "c"][0]
    assert rec["outcome"] == "waived"
    assert rec["waiver"]["reason"].startswith("c is being decommissioned")
    assert rec["waiver"]["owner"] == "ops@example.com"
    assert rec["message"] == "c is critical"  # the finding stays visible
    junit = (pytester.path / "reports" / "last" / "junit.xml").read_text()
    assert 'name="outcome" value="waived"' in junit


def test_waiver_by_group_and_glob(fleet, pytester):
    waivers = """      - {check: "demo.*", hosts: "web:!b", reason: r, expires: 2099-01-01}
"""
    res = fleet(waivers=waivers)
    assert outcomes(pytester)[("a", "demo.low")] == "waived"
    assert outcomes(pytester)[("c", "demo.crit")] == "failed"
    assert res.ret == 1


def test_expired_waiver_no_longer_applies(fleet, pytester):
    waivers = WAIVE_C.replace("2099-12-31", "2001-01-01")
    res = fleet("-k", "crit", waivers=waivers)
    assert res.ret == 1
    rec = [r for r in results(pytester)["records"] if r["host"] == "c"][0]
    assert rec["outcome"] == "failed"
    assert rec["waiver"]["expired"] is True
    assert "expired waiver (no longer applies): c demo.crit, expired 2001-01-01" in res.stdout.str()
    assert results(pytester)["run"]["waivers"]["expired_matching"][0]["check"] == "demo.crit"


def test_stale_waiver_is_listed(fleet, pytester):
    waivers = WAIVE_C + """      - {check: "nfs.exports", hosts: "all", reason: "old", expires: 2099-01-01}
      - {check: "demo.crit", hosts: "nosuchhost", reason: "gone", expires: 2099-01-01}
"""
    fleet(waivers=waivers)
    stale = results(pytester)["run"]["waivers"]["stale"]
    assert [(w["check"], w["hosts"]) for w in stale] == [("nfs.exports", "all"),
                                                         ("demo.crit", "nosuchhost")]


def test_stale_waivers_judged_on_complete_runs_only(fleet, pytester):
    """A -k subset lacks records a waiver may be for: no waiver is called stale."""
    waivers = WAIVE_C + """      - {check: "demo.low", hosts: "a", reason: "low", expires: 2099-01-01}
"""
    res = fleet("-k", "crit", waivers=waivers)
    run = results(pytester)["run"]
    assert run["complete"] is False
    assert run["waivers"]["stale"] == [] and run["waivers"]["stale_judged"] is False
    assert "stale waiver (matches nothing)" not in res.stdout.str()
    assert "stale waivers not judged" in res.stdout.str()


def test_waivers_under_xdist(fleet, pytester):
    res = fleet("-n", "2", "-k", "crit", waivers=WAIVE_C)
    assert res.ret == 0
    assert outcomes(pytester)[("c", "demo.crit")] == "waived"


BAD_WAIVERS = {
    "no reason": ('      - {check: "demo.crit", expires: 2099-01-01}\n', "'reason' is required"),
    "empty reason": ('      - {check: "demo.crit", reason: " ", expires: 2099-01-01}\n',
                     "'reason' is required"),
    "bad date": ('      - {check: "demo.crit", reason: r, expires: "31/12/2099"}\n',
                 "expires '31/12/2099' is not a date"),
    "no expiry": ('      - {check: "demo.crit", reason: r}\n', "'expires' is required"),
    "unknown key": ('      - {check: "demo.crit", reason: r, expires: 2099-01-01, host: a}\n',
                    "unknown key 'host'"),
    "bad check pattern": ('      - {check: "~demo", reason: r, expires: 2099-01-01}\n',
                          "check pattern '~demo'"),
    "host regex": ('      - {check: "demo.crit", hosts: "~(a+)+$", reason: r, expires: 2099-01-01}\n',
                   "hosts pattern '~(a+)+$': '~regex' is for --limit, not for a waiver"),
    "dangling op": ('      - {check: "demo.crit", hosts: "a:&", reason: r, expires: 2099-01-01}\n',
                    "hosts pattern 'a:&'"),
    "not a list": None,
}


@pytest.mark.parametrize("case", list(BAD_WAIVERS))
def test_bad_waiver_is_an_inventory_error(pytester, case):
    pytester.makepyfile(test_touch="""
import pytest
@pytest.mark.check("demo.touch", severity="info")
def test_touch(host):
    raise AssertionError("a host was touched")
""")
    if BAD_WAIVERS[case] is None:
        text = "all:\n  vars:\n    fleetcheck_waivers: {check: x}\n  hosts:\n    a: {ansible_connection: local}\n"
        message = "must be a list of waivers"
    else:
        text = inventory(BAD_WAIVERS[case][0])
        message = BAD_WAIVERS[case][1]
    pytester.makefile(".yml", inv=text)
    res = pytester.runpytest("--inventory", "inv.yml")
    assert res.ret == 4
    errors = [line for line in res.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, res.stderr.lines
    assert message in errors[0], errors[0]
    assert "Traceback" not in res.stderr.str()
    assert not (pytester.path / "reports").exists() or not list(
        (pytester.path / "reports").glob("*/results.json"))
