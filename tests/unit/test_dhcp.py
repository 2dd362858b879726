"""The dhcp area: dhcpd.conf's and kea-dhcp4.conf's parsers, the dhcp fact on real
captures (tests/fixtures/facts/dhcp/), dhcp.config_valid, the var and the fix that
starts a stopped declared server."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values, varschema
from fleetcheck.facts import ParseError, dhcp
from fleetcheck.facts.dhcp_conf import (normal_range, parse_dhcpd_conf, parse_kea_conf,
                                        strip_json_comments)
from fleetcheck.facts.service import ServiceState
from fleetcheck.remediation import PlanContext, RunCommand, Service, lookup

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "facts" / "dhcp"
LAB = {"server": "isc", "running": True,
       "subnets": [{"subnet": "10.213.47.0/24", "ranges": ["10.213.47.240 10.213.47.249"]}]}


def captured(case: str) -> dhcp.DhcpServers:
    return dhcp.parse((FIXTURES / f"{case}.txt").read_text())


def with_isc(case: str, **changes) -> dhcp.DhcpServers:
    """A capture with its ISC server changed (pids: the daemon running)."""
    state = captured(case)
    return dataclasses.replace(state, isc=dataclasses.replace(state.isc, **changes))


# -- dhcpd.conf --------------------------------------------------------------------------

def test_dhcpd_conf_quotes_comments_nesting_and_loose_pools():
    conf = parse_dhcpd_conf('''
option domain-name "x; subnet 1.2.3.0 netmask 255.255.255.0 { range 1.2.3.4; }"; # "
# subnet 9.9.9.0 netmask 255.255.255.0 { range 9.9.9.1 9.9.9.2; }
include "/etc/dhcp/more.conf";
shared-network a { subnet 10.0.0.0 netmask 255.255.255.0 { pool { range 10.0.0.5
   10.0.0.9; } }
  pool { range dynamic-bootp 10.0.0.20 10.0.0.30; }
  pool { range 192.0.2.1 192.0.2.2; } }   # no subnet holds it: not attached
subnet 172.16.0.0 netmask 255.240.0.0 { range 172.16.1.1; }
''')
    assert [(s.subnet, s.ranges, s.line) for s in conf.subnets] == [
        ("10.0.0.0/24", ["10.0.0.5 10.0.0.9", "10.0.0.20 10.0.0.30"], 5),
        ("172.16.0.0/12", ["172.16.1.1 172.16.1.1"], 9)]
    assert conf.includes == ["/etc/dhcp/more.conf"]
    assert conf.subnet("10.0.0.7/24").ranges[0] == "10.0.0.5 10.0.0.9"
    assert conf.subnet("10.0.1.0/24") is None


@pytest.mark.parametrize("text, error", [
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.1 10.0.0.2;\n", "line 2: a '{' is never closed"),
    ("}\n", "line 1: '}' without its '{'"),
    ('option domain-name "lab.test;\n', "line 1: a string that never ends"),
    ("subnet 10.0.0.0 {\n}\n", "line 1: expected 'subnet NUMBER netmask MASK {'"),
    ("subnet 10.0.0.0 netmask 255.0.255.0 { }\n", "line 1: not a subnet"),
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.9 10.0.0.1;\n}\n",
     "line 2: not a range: 10.0.0.9 is above 10.0.0.1"),
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.9 10.0.0.10 10.0.0.11;\n}\n",
     "line 2: expected 'range [dynamic-bootp] LOW [HIGH];'"),
    ("default-lease-time 600\n", "line 1: the last statement has no ';'"),
    ("include /etc/x;\n", "line 1: expected 'include \"FILE\";'"),
    ("a;\nb\x00;\n", "line 2: a control character"),
    ("x {" * 40 + "}" * 40, "line 1: blocks nested deeper than 32"),
])
def test_dhcpd_conf_errors(text, error):
    with pytest.raises(ParseError, match=re.escape(error)):
        parse_dhcpd_conf(text)


def test_parsers_are_bounded():
    with pytest.raises(ParseError, match="larger than"):
        parse_dhcpd_conf("#" * (1 << 20) + "\n")
    with pytest.raises(ParseError, match="more than 200000 tokens"):
        parse_dhcpd_conf("a;" * 100001)


# -- kea-dhcp4.conf ----------------------------------------------------------------------

def test_kea_comments_includes_extraneous_commas_and_shared_networks():
    text = '''// a comment with "quotes"
{ # another
  "Dhcp4": { /* a block
  comment */ "subnet4": [ {"subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10-10.0.0.20"},
      {"pool": "10.0.0.128/25"},], "user-context": {"note": "// not a comment, # nor this"}}, ],
  <?include "/etc/kea/extra.json"?>
  "shared-networks": [{"name": "n", "subnet4": [{"subnet": "192.0.2.0/26"}]}] }
}'''
    plain, includes = strip_json_comments(text)
    assert plain.count("\n") == text.count("\n") and includes == ["/etc/kea/extra.json"]
    conf = parse_kea_conf(text)
    assert [(s.subnet, s.ranges) for s in conf.subnets] == [
        ("10.0.0.0/24", ["10.0.0.10 10.0.0.20", "10.0.0.128 10.0.0.255"]),
        ("192.0.2.0/26", [])]


@pytest.mark.parametrize("text, error", [
    ('{"Dhcp4": {"subnet4": [ {"subnet": "10.0.0.0/24"} }\n}', "line 1: not JSON"),
    ('{\n"Dhcp4": /* never ends\n', "line 2: a /* comment that never ends"),
    ('{"Dhcp6": {}}', "line 1: no Dhcp4 object"),
    ('{"Dhcp4": {"subnet4": [{"pools": []}]}}', "a subnet4 entry without its subnet"),
    ('{"Dhcp4": {"subnet4": [{"subnet": "10.0.0.0/24", "pools": [{"pool": "x"}]}]}}',
     "not a pool"),
    ('{"Dhcp4": {"subnet4": {"subnet": "10.0.0.0/24"}}}', "subnet4 is not a list"),
])
def test_kea_errors(text, error):
    with pytest.raises(ParseError, match=re.escape(error)):
        parse_kea_conf(text)


@pytest.mark.parametrize("text, want", [
    ("10.0.0.5 10.0.0.9", "10.0.0.5 10.0.0.9"), ("10.0.0.5-10.0.0.9", "10.0.0.5 10.0.0.9"),
    ("10.0.0.5 - 10.0.0.9", "10.0.0.5 10.0.0.9"), ("10.0.0.64/26", "10.0.0.64 10.0.0.127"),
    ("10.0.0.7", "10.0.0.7 10.0.0.7"),
])
def test_ranges_compare_in_one_shape(text, want):
    assert normal_range(text) == want


# -- the fact ----------------------------------------------------------------------------

def test_the_captures_say_what_each_server_said():
    typo = captured("debian12-typo-kea-syntax-error")
    assert typo.isc.error() == "/tmp/lab-typo.conf line 2: semicolon expected."
    assert typo.kea.error().startswith("Syntax check failed with: /tmp/kea-syntax.conf:15.19")
    stock = captured("debian12-stock-packages")
    assert stock.isc.messages() == [] and stock.isc.error() is None
    assert stock.kea.messages()[0].endswith("Extraneous comma. A piece of configuration may "
                                            "have been omitted.")
    outside = captured("debian12-shared-networks-kea-pool-outside")
    assert outside.kea.error().startswith("Error encountered: subnet configuration failed")
    assert outside.isc.messages() == ["WARNING: Host declarations are global.  They are not "
                                      "limited to the scope you declared them in."]


def test_the_command_quotes_the_declared_file_and_refuses_an_option():
    cmd = dhcp.command({"dhcp": {"config_valid": {"server": "kea", "config": "/srv/k a.conf"}}})
    assert cmd.render().endswith("/etc/dhcp/dhcpd.conf '/srv/k a.conf'")
    with pytest.raises(dhcp.FactError, match="must be an absolute path|absolute"):
        dhcp.command({"dhcp": {"config_valid": {"server": "isc", "config": "-x"}}})


def test_the_script_runs_here_and_redacts_secrets(tmp_path):
    """The real script on this machine (no dhcpd, no kea-dhcp4 here: their sections say
    none) and its sed expressions on a file with secrets."""
    out = subprocess.run(["sh", "-c", dhcp.SCRIPT, "fleetcheck", "/nonexistent",
                          "/nonexistent"], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.endswith(dhcp.END + "\n")
    dhcp.parse(out.stdout)
    isc = tmp_path / "dhcpd.conf"
    isc.write_text('key k { algorithm hmac-md5; secret "c2VjcmV0"; }\nkey d {\n'
                   '  secret c2VjcmV0Cg==;\n};\n')
    kea = tmp_path / "kea.conf"
    kea.write_text('{"lease-database": {"user": "kea", "password": "p\\"w;"}, '
                   '"tsig": {"secret" : "abc"}}\n')
    red = [subprocess.run(["sed", "-e", expr, str(path)], capture_output=True, text=True,
                          check=True).stdout
           for expr, path in ((dhcp._ISC_REDACT, isc), (dhcp._KEA_REDACT, kea))]
    assert "c2Vj" not in red[0] and red[0].count('"-redacted-"') == 2
    parse_dhcpd_conf(red[0])
    assert 'p\\"w' not in red[1] and "abc" not in red[1] and red[1].count("-redacted-") == 2


# -- dhcp.config_valid -------------------------------------------------------------------

def run(conf, state):
    return checkrun.run_check("dhcp", "test_config_valid", {"dhcp": {"config_valid": conf}},
                              host_name="app1", dhcp=state)


def test_the_lab_config_running_passes():
    outcome, msg, ev = run(LAB, with_isc("debian12-lab-config", pids=[812],
                                         config="/etc/dhcp/dhcpd.conf"))
    assert outcome == "passed", msg
    assert ev["isc"]["subnets"] == {"10.213.47.0/24": ["10.213.47.240 10.213.47.249"]}


def test_a_failing_test_is_high_and_names_the_line():
    outcome, msg, ev = run(LAB, with_isc("debian12-typo-kea-syntax-error", pids=[812]))
    assert outcome == "failed" and ev.severity == "high"
    assert msg == ("dhcpd -t -cf /tmp/lab-typo.conf exits 1: /tmp/lab-typo.conf line 2: "
                   "semicolon expected.")


def test_a_missing_range_or_subnet_is_medium():
    outcome, msg, ev = run(LAB, with_isc("debian12-no-range-kea-missing", pids=[812]))
    assert (outcome, ev.severity) == ("failed", "medium")
    assert msg == ("range 10.213.47.240 10.213.47.249 of subnet 10.213.47.0/24 is not "
                   "declared in /tmp/lab-norange.conf (it has: no range)")
    outcome, msg, ev = run(dict(LAB, subnets=[{"subnet": "10.9.0.0/16"}]),
                           with_isc("debian12-lab-config", pids=[812]))
    assert msg == "subnet 10.9.0.0/16 is not declared in /tmp/lab-good.conf"
    assert ev.severity == "medium"


def test_not_running_is_high_and_running_when_declared_not_to_is_high():
    outcome, msg, ev = run(LAB, captured("debian12-lab-config"))
    assert (outcome, ev.severity, msg) == ("failed", "high", "/usr/sbin/dhcpd is not "
                                           "running (service isc-dhcp-server)")
    outcome, msg, ev = run({"running": False}, with_isc("debian12-lab-config", pids=[7]))
    assert outcome == "failed" and "runs (pid 7), declared not to" in msg


def test_the_embedded_default_judges_only_a_running_server():
    default = {"server": None, "subnets": [], "running": None}
    for case in ("neither-installed", "debian12-stock-packages",
                 "debian12-typo-kea-syntax-error"):
        outcome, msg, _ = run(default, captured(case))
        assert outcome == "skipped", (case, msg)
    outcome, msg, _ = run(default, with_isc("debian12-stock-packages", pids=[5]))
    assert outcome == "passed", msg
    outcome, msg, _ = run(default, with_isc("debian12-typo-kea-syntax-error", pids=[5]))
    assert outcome == "failed" and msg.startswith("dhcpd -t -cf /tmp/lab-typo.conf exits 1")
    assert run(None, captured("debian12-stock-packages"))[0] == "skipped"


def test_a_declared_server_that_is_not_installed_is_high():
    outcome, msg, ev = run({"server": "kea"}, captured("neither-installed"))
    assert (outcome, ev.severity) == ("failed", "high") and "kea is declared" in msg
    outcome, msg, _ = run({"running": True}, captured("neither-installed"))
    assert outcome == "failed" and "no DHCP server is installed" in msg


def test_unreadable_subnets_are_said_when_the_test_passes():
    state = captured("debian12-lab-config")
    kea = dataclasses.replace(state.kea, subnets=None, read_error="x: line 3: not JSON")
    outcome, msg, ev = run({"server": "kea", "subnets": LAB["subnets"]},
                           dataclasses.replace(state, kea=kea))
    assert (outcome, ev.severity) == ("failed", "medium") and "cannot be judged" in msg


# -- the var -----------------------------------------------------------------------------

def test_schema_and_kinds():
    assert varschema.problems("dhcp", {"config_valid": LAB}) == []
    assert varschema.problems("dhcp", {"config_valid": {"server": "dnsmasq"}}) != []
    assert varschema.problems("dhcp", {"config_valid": {"config": "/etc/x.conf"}}) != []
    assert varschema.problems("dhcp", {"config_valid": None}) == []
    with pytest.raises(values.UnsafeValue):
        dhcp.network("10.213.47.1/24")
    with pytest.raises(values.UnsafeValue):
        dhcp.address_range("10.0.0.9 10.0.0.1")
    found = list(values.problems("dhcp", {"config_valid": {"subnets": [
        {"subnet": "10.0.0.0/24", "ranges": ["10.0.0.1 x"]}]}}, values.declared()))
    assert found and found[0].startswith("dhcp.config_valid.subnets[0].ranges[0]:")


@pytest.mark.parametrize("value, said", [
    ("{config_valid: {server: isc, config: '-cf'}}", "dhcp.config_valid.config: "),
    ("{config_valid: {subnets: [{subnet: 10.213.47.1/24}]}}",
     "dhcp.config_valid.subnets[0].subnet: the subnet must be an IPv4 network"),
    ("{config_valid: {server: dnsmasq}}", "dhcp.config_valid.server"),
])
def test_a_bad_value_is_one_line_and_exit_4(tmp_path, value, said):
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  hosts:\n    a:\n      dhcp: {value}\n")
    res = subprocess.run([sys.executable, "-m", "fleetcheck", "hosts", "--inventory",
                          str(inv)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 4, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in res.stderr, lines


# -- the fix -----------------------------------------------------------------------------

def plan(conf, state, service=ServiceState("sysv", running=False, enabled=True)):
    facts = checkrun.Facts(dhcp=state, service=lambda name: service)
    return lookup("dhcp.config_valid")(PlanContext("dhcp.config_valid", "app1",
                                                   {"dhcp": {"config_valid": conf}}, facts))


def test_a_stopped_declared_dhcpd_is_tested_then_started():
    p = plan(LAB, with_isc("debian12-lab-config", config="/etc/dhcp/dhcpd.conf"))
    assert not p.refused, p.reason
    test, start = p.actions
    assert isinstance(test, RunCommand) and test.command.render() == \
        "dhcpd -t -q -cf /etc/dhcp/dhcpd.conf"
    assert isinstance(start, Service) and (start.name, start.operation) == \
        ("isc-dhcp-server", "start")
    assert [(a.name, a.operation) for a in p.on_rollback] == [("isc-dhcp-server", "stop")]


@pytest.mark.parametrize("conf, state, reason", [
    (LAB, with_isc("debian12-typo-kea-syntax-error", config="/etc/dhcp/dhcpd.conf"),
     "semicolon expected"),
    (LAB, with_isc("debian12-no-range-kea-missing", config="/etc/dhcp/dhcpd.conf"),
     "range 10.213.47.240 10.213.47.249 of subnet"),
    (LAB, with_isc("debian12-lab-config"), "not the declared /tmp/lab-good.conf"),
    (LAB, with_isc("debian12-typo-kea-syntax-error", pids=[3]), "runs: what fails"),
    (dict(LAB, running=None), with_isc("debian12-lab-config"), "only a daemon declared"),
    ({"running": True}, captured("debian12-stock-packages"), "several DHCP servers"),
    ({"server": "kea", "running": True}, captured("neither-installed"), "not installed"),
])
def test_the_fix_refuses_what_it_must_not_do(conf, state, reason):
    p = plan(conf, state)
    assert p.refused and reason in p.reason, p.reason
