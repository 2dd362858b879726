"""sshd.baseline: the rules judged on real `sshd -T` captures (Debian 12's stock
configuration, and with a weak drop-in), the host key files on a real stat capture,
not applicable without sshd, a directive the inventory declares left to sshd.config,
the var's kinds at load, and the fixes as pure plans (as tests/unit/test_plans.py).

Captures: tests/fixtures/facts/sshd/debian12_stock_config.txt and
debian12_weak_dropin.txt, tests/fixtures/facts/sshd_hostkeys/debian12_mixed_modes.txt
(each .json says how it was made). The "not found" text is what this machine's
/bin/sh (dash, Debian 12) printed for `sshd -T` without openssh-server, exit 127.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import pytest

from fleetcheck import checkmeta
from fleetcheck.facts import sshd as sshd_fact
from fleetcheck.facts import sshd_hostkeys
from fleetcheck.facts.base import FactError
from fleetcheck.facts.file import FileState
from fleetcheck.inventory import InventoryError, load
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "facts"
STOCK = sshd_fact.parse((FIXTURES / "sshd" / "debian12_stock_config.txt").read_text())
WEAK = sshd_fact.parse((FIXTURES / "sshd" / "debian12_weak_dropin.txt").read_text())
KEYS = sshd_hostkeys.parse(
    (FIXTURES / "sshd_hostkeys" / "debian12_mixed_modes.txt").read_text())
NOT_FOUND = "sh: 1: sshd: not found\n"
# the package's sshd_config, as far as it matters here (Debian 12: Include first)
SSHD_CONFIG = (b"# sshd config\nInclude /etc/ssh/sshd_config.d/*.conf\n"
               b"KbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\n")

# the defaults of the embedded inventory (the block proposed for fleetcheck/data/local.yml)
DEFAULTS = {
    "permit_root_login": "prohibit-password", "password_authentication": False,
    "kbd_interactive_authentication": False, "permit_empty_passwords": False,
    "x11_forwarding": False, "max_auth_tries": 4,
    "weak_ciphers": sshd_fact.WEAK_CIPHERS, "weak_macs": sshd_fact.WEAK_MACS,
    "weak_kex": sshd_fact.WEAK_KEX, "host_key_mode": "0600",
}


def _check_module():
    spec = importlib.util.spec_from_file_location("_checks_sshd", ROOT / "checks" / "test_sshd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = _check_module()


class Evidence(dict):
    severity = None

    def add(self, **values):
        self.update(values)


class Facts:
    """A host's facts as data: `sshd`, `sshd_hostkeys` and `file` (sshd_config)."""

    def __init__(self, sshd=STOCK, keys=KEYS, config=SSHD_CONFIG):
        self.sshd, self.keys, self.config = sshd, keys, config
        self.asked: list = []

    def get(self, fact, /, **params):
        self.asked.append((fact, params))
        if fact == "file":
            return FileState(True, 0o644, "root", "root",
                             base64.b64encode(self.config).decode())
        return {"sshd": self.sshd, "sshd_hostkeys": self.keys}[fact]


class Host:
    def __init__(self, vars, facts=None):
        self.vars, self.facts = vars, facts or Facts()


def run_check(item, baseline=None, facts=None, **vars):
    """(outcome, message, evidence) of test_sshd_baseline for one item."""
    facts = facts or Facts()
    host = Host({"sshd_baseline": baseline or DEFAULTS, **vars}, facts)
    evidence = Evidence()
    try:
        CHECKS.test_sshd_baseline(host, facts, item, evidence)
    except AssertionError as exc:
        return "failed", str(exc), evidence
    except pytest.skip.Exception as exc:
        return "skipped", str(exc), evidence
    return "passed", "", evidence


# -- the rules on Debian 12's stock configuration ---------------------------------------

STOCK_OUTCOMES = {
    "permit_root_login": "passed",          # without-password: keys only
    "password_authentication": "failed",    # Debian's default is yes
    "kbd_interactive_authentication": "passed",
    "permit_empty_passwords": "passed",
    "x11_forwarding": "failed",             # the package's sshd_config says yes
    "max_auth_tries": "failed",             # OpenSSH's default 6
    "weak_ciphers": "passed",
    "weak_macs": "failed",                  # umac-64*, hmac-sha1* in OpenSSH 9.2's list
    "weak_kex": "passed",
    "host_key_mode": "failed",              # the mixed capture: the Ed25519 key
}


@pytest.mark.parametrize("item", list(STOCK_OUTCOMES))
def test_each_rule_on_debian_12_stock(item):
    outcome, message, evidence = run_check(item)
    assert outcome == STOCK_OUTCOMES[item], message
    assert evidence["rule"] == item and "expected" in evidence and "actual" in evidence
    assert evidence.severity == sshd_fact.RULES[item].severity


def test_every_rule_is_in_the_defaults_and_the_schema():
    assert set(DEFAULTS) == set(sshd_fact.RULES)
    assert set(sshd_fact.VARS["sshd_baseline"]["properties"]) == set(sshd_fact.RULES)
    for item, value in DEFAULTS.items():
        assert sshd_fact.VARS["sshd_baseline"]["properties"][item]["default"] in (
            value, "no" if value is False else value)


def test_failure_messages_and_evidence():
    _, message, evidence = run_check("password_authentication")
    assert message.startswith("PasswordAuthentication is yes")
    assert (evidence["directive"], evidence["expected"], evidence["actual"]) == (
        "PasswordAuthentication", "no", "yes")
    _, message, evidence = run_check("max_auth_tries")
    assert message.startswith("MaxAuthTries is 6, at most 4 allowed")
    _, message, evidence = run_check("weak_macs")
    assert message.startswith("MACs offers umac-64-etm@openssh.com, hmac-sha1-etm@openssh.com,"
                              " umac-64@openssh.com, hmac-sha1")
    assert evidence["actual"] == STOCK.get("macs")
    _, message, evidence = run_check("host_key_mode")
    assert message.startswith("/etc/ssh/ssh_host_ed25519_key: owned by nobody (uid 65534), "
                              "not root, mode 0644 (group nogroup), at most 0600")
    assert evidence["actual"]["/etc/ssh/ssh_host_ecdsa_key"] == "0640 root:ssh_keys"
    assert evidence["actual"]["/etc/ssh/ssh_host_dsa_key"] == "missing"


def test_the_weak_drop_in_fails_what_it_weakens():
    facts = Facts(sshd=WEAK)
    for item in ("permit_root_login", "permit_empty_passwords", "max_auth_tries",
                 "weak_ciphers", "weak_macs", "weak_kex"):
        assert run_check(item, facts=facts)[0] == "failed", item
    assert run_check("weak_ciphers", facts=facts)[1].startswith(
        "Ciphers offers aes128-cbc, 3des-cbc")
    assert run_check("weak_kex", facts=facts)[1].startswith(
        "KexAlgorithms offers diffie-hellman-group1-sha1, diffie-hellman-group14-sha1")
    assert run_check("permit_root_login", facts=facts)[1].startswith(
        "PermitRootLogin is yes, at most prohibit-password allowed")


@pytest.mark.parametrize("actual, widest, ok", [
    ("no", "prohibit-password", True), ("without-password", "prohibit-password", True),
    ("forced-commands-only", "prohibit-password", True), ("yes", "prohibit-password", False),
    ("without-password", "no", False), ("forced-commands-only", "forced-commands-only", True),
    ("something-new", "prohibit-password", False),     # unknown: judged the widest
])
def test_root_login_is_at_most_the_setting(actual, widest, ok):
    cfg = sshd_fact.SshdConfig({"permitrootlogin": actual})
    assert sshd_fact.judge("permit_root_login", widest, cfg).ok is ok


@pytest.mark.parametrize("actual, ok", [("4", True), ("1", True), ("5", False),
                                         ("9" * 5000, False), ("x", False)])
def test_max_auth_tries_reads_digits_only(actual, ok):
    cfg = sshd_fact.SshdConfig({"maxauthtries": actual})
    assert sshd_fact.judge("max_auth_tries", 4, cfg).ok is ok


def test_weak_patterns_are_globs_in_any_case():
    assert sshd_fact.weak_ones(["AES128-CBC", "aes128-ctr", "rijndael-cbc@lysator.liu.se",
                                "arcfour256"], sshd_fact.WEAK_CIPHERS) == [
        "AES128-CBC", "rijndael-cbc@lysator.liu.se", "arcfour256"]
    assert sshd_fact.weak_ones(["hmac-sha2-256", "hmac-sha1-96", "hmac-md5-etm@openssh.com",
                                "umac-128@openssh.com"], sshd_fact.WEAK_MACS) == [
        "hmac-sha1-96", "hmac-md5-etm@openssh.com"]


def test_a_directive_missing_from_sshd_t_fails():
    cfg = sshd_fact.SshdConfig({"port": "22"})
    verdict = sshd_fact.judge("x11_forwarding", "no", cfg)
    assert not verdict.ok and verdict.problem == "`sshd -T` prints no X11Forwarding"


# -- not applicable, turned off, declared ------------------------------------------------

def test_not_applicable_without_sshd():
    missing = sshd_fact.from_result(127, "", NOT_FOUND)
    assert not missing.installed
    outcome, message, _ = run_check("password_authentication", facts=Facts(sshd=missing))
    assert outcome == "skipped" and "sshd is not installed" in message


def test_sshd_config_fails_without_sshd():
    missing = sshd_fact.from_result(127, "", NOT_FOUND)
    host = Host({"sshd": {"PermitRootLogin": "no"}}, Facts(sshd=missing))
    with pytest.raises(pytest.fail.Exception, match="sshd is not installed"):
        CHECKS.test_sshd_config(host, host.facts, "PermitRootLogin", Evidence())


def test_other_failures_of_sshd_t_stay_errors():
    with pytest.raises(FactError, match="exited 255: sshd: no hostkeys available"):
        sshd_fact.from_result(255, "", "sshd: no hostkeys available -- exiting.\n")
    assert sshd_fact.from_result(0, "port 22\n", "").installed


def test_null_turns_a_rule_off():
    outcome, message, _ = run_check("x11_forwarding", dict(DEFAULTS, x11_forwarding=None))
    assert outcome == "skipped" and "turned off" in message
    meta = checkmeta.CheckMeta("sshd.baseline", "high", "t", items="sshd_baseline")
    assert "x11_forwarding" not in checkmeta.host_items(
        meta, {"sshd_baseline": dict(DEFAULTS, x11_forwarding=None)})


@pytest.mark.parametrize("declared", ["PasswordAuthentication", "passwordauthentication"])
def test_a_declared_directive_is_left_to_sshd_config(declared):
    outcome, message, _ = run_check("password_authentication", sshd={declared: "yes"})
    assert outcome == "skipped"
    assert f"the inventory declares {declared} (var sshd): sshd.config judges it" in message
    # the other rules still run
    assert run_check("x11_forwarding", sshd={declared: "yes"})[0] == "failed"


def test_the_check_declares_sshd_and_the_host_keys_it_reads():
    host = Host({"sshd_baseline": DEFAULTS}, Facts())
    assert list(CHECKS._baseline_reads(host, "weak_ciphers")) == ["sshd"]
    assert list(CHECKS._baseline_reads(host, "host_key_mode")) == ["sshd", (
        "sshd_hostkeys", {"paths": ("/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                                    "/etc/ssh/ssh_host_ed25519_key")})]


# -- host key files -----------------------------------------------------------------------

def test_host_keys_rhel_group_and_missing_files_pass():
    problems = {k.path: sshd_hostkeys.key_problem(k, 0o600) for k in KEYS.keys}
    assert problems == {
        "/etc/ssh/ssh_host_rsa_key": None,
        "/etc/ssh/ssh_host_ecdsa_key": None,           # 0640 root:ssh_keys (RHEL)
        "/etc/ssh/ssh_host_ed25519_key":
            "/etc/ssh/ssh_host_ed25519_key: owned by nobody (uid 65534), not root, "
            "mode 0644 (group nogroup), at most 0600",
        "/etc/ssh/ssh_host_dsa_key": None,             # missing: sshd skips it
        "/etc/ssh/host key link": None,
    }
    other = sshd_hostkeys.KeyFile("/k", True, 0o640, 0, "root", 4, "adm")
    assert "mode 0640 (group adm)" in sshd_hostkeys.key_problem(other, 0o600)


def test_public_keys_are_not_private_host_keys():
    cfg = sshd_fact.SshdConfig({"hostkey": "/etc/ssh/a"},
                               {"hostkey": ["/etc/ssh/a", "/etc/ssh/b.pub", "/etc/ssh/a"]})
    assert sshd_hostkeys.private_host_keys(cfg) == ("/etc/ssh/a",)


def test_host_key_command_quotes_paths_and_refuses_bad_ones():
    rendered = sshd_hostkeys.command({}, ("/etc/ssh/host key", "/etc/ssh/k$(id)")).render()
    assert rendered.endswith(" fleetcheck '/etc/ssh/host key' '/etc/ssh/k$(id)'")
    assert sshd_hostkeys.command({}, ()).render() == "true"
    for bad in ("etc/ssh/key", "/etc/ssh/../shadow", "-oProxy", "/etc/ssh/a\nb"):
        with pytest.raises(FactError):
            sshd_hostkeys.command({}, (bad,))


# -- the var at load ------------------------------------------------------------------------

def _inventory(tmp_path, yaml_value):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  vars:\n    sshd_baseline: " + yaml_value
                    + "\n  hosts:\n    web1:\n")
    return [str(path)]


def test_the_defaults_load(tmp_path):
    block = ("{permit_root_login: prohibit-password, password_authentication: no, "
             "kbd_interactive_authentication: no, permit_empty_passwords: no, "
             "x11_forwarding: no, max_auth_tries: 4, weak_ciphers: ['*-cbc', 'arcfour*'], "
             "weak_macs: ['hmac-sha1*'], weak_kex: [diffie-hellman-group1-sha1], "
             "host_key_mode: '0600'}")
    inventory = load(_inventory(tmp_path, block))
    assert inventory.hosts["web1"].vars["sshd_baseline"]["password_authentication"] is False
    inventory = load(_inventory(tmp_path, "{x11_forwarding: null, host_key_mode: '0640'}"))
    assert inventory.hosts["web1"].vars["sshd_baseline"]["x11_forwarding"] is None


@pytest.mark.parametrize("yaml_value, message", [
    ("{permit_root_login: 'yes'}", "sshd_baseline.permit_root_login"),
    ("{password_authentication: 'yes'}", "sshd_baseline.password_authentication"),
    ("{max_auth_tries: 0}", "sshd_baseline.max_auth_tries"),
    ("{max_auth_tries: '4'}", "sshd_baseline.max_auth_tries"),
    ("{weak_ciphers: ['-oProxyCommand=x']}", "sshd_baseline.weak_ciphers"),
    ("{weak_ciphers: ['a b']}", "sshd_baseline.weak_ciphers"),
    ("{weak_ciphers: '*-cbc'}", "sshd_baseline.weak_ciphers"),
    ("{host_key_mode: 0600}", "sshd_baseline.host_key_mode"),   # YAML 1.1: the int 384
    ("{host_key_mode: '0800'}", "sshd_baseline.host_key_mode"),
    ("{host_key_mode: '0644'}", "sshd_baseline.host_key_mode"),
    ("{x11_forwardin: no}", "did you mean x11_forwarding?"),
])
def test_bad_settings_are_refused_at_load(tmp_path, yaml_value, message):
    with pytest.raises(InventoryError) as info:
        load(_inventory(tmp_path, yaml_value))
    assert message in str(info.value) and "\n" not in str(info.value)


# -- the fixes -----------------------------------------------------------------------------

def plan(item, facts=None, baseline=None, **vars):
    vars = {"sshd_baseline": baseline or DEFAULTS, **vars}
    return lookup("sshd.baseline")(PlanContext("sshd.baseline", "web1", vars,
                                               facts or Facts(), item))


def written(p) -> str:
    return p.actions[0].content.decode()


def test_a_directive_is_set_as_sshd_config_s_fix_sets_it():
    p = plan("x11_forwarding")
    assert [type(a).__name__ for a in p.actions] == ["WriteFile", "RunCommand", "Service"]
    assert p.actions[1].command.render() == "sshd -t"
    assert (p.actions[2].name, p.actions[2].operation) == ("ssh", "reload")
    assert "-X11Forwarding yes" in p.diffs()["/etc/ssh/sshd_config"]
    assert "+X11Forwarding no" in p.diffs()["/etc/ssh/sshd_config"]
    assert [a.summary for a in p.on_rollback] == [
        "validate the restored file with sshd -t", "reload sshd"]


def test_a_directive_below_the_include_is_also_set_above_it():
    # Debian's layout: sshd_config.d/*.conf is read first, so a drop-in's
    # `KbdInteractiveAuthentication yes` wins over the package's `no` below the Include
    dropin = sshd_fact.SshdConfig({"kbdinteractiveauthentication": "yes"})
    lines = written(plan("kbd_interactive_authentication", Facts(sshd=dropin))).splitlines()
    assert lines[1:3] == ["KbdInteractiveAuthentication no",
                          "Include /etc/ssh/sshd_config.d/*.conf"]
    assert lines.count("KbdInteractiveAuthentication no") == 2
    lines = written(plan("x11_forwarding")).splitlines()
    assert lines.count("X11Forwarding no") == 2 and "X11Forwarding yes" not in lines
    # sshd.config's own fix is unchanged: in place, or refused when the file says it
    p = lookup("sshd.config")(PlanContext("sshd.config", "web1", {"sshd": {
        "KbdInteractiveAuthentication": "no"}}, Facts(sshd=dropin), "KbdInteractiveAuthentication"))
    assert p.refused and "override" in p.reason


def test_an_absent_directive_goes_above_the_include():
    lines = written(plan("permit_empty_passwords", facts=Facts(sshd=WEAK))).splitlines()
    assert lines.index("PermitEmptyPasswords no") < lines.index(
        "Include /etc/ssh/sshd_config.d/*.conf")
    lines = written(plan("max_auth_tries", facts=Facts(sshd=WEAK))).splitlines()
    assert "MaxAuthTries 4" in lines
    lines = written(plan("permit_root_login", facts=Facts(sshd=WEAK))).splitlines()
    assert "PermitRootLogin prohibit-password" in lines


def test_weak_algorithms_are_removed_from_the_effective_list():
    facts = Facts(sshd=WEAK)
    assert f"Ciphers {STOCK.get('ciphers')}" in written(plan("weak_ciphers", facts))
    assert f"KexAlgorithms {STOCK.get('kexalgorithms')}" in written(plan("weak_kex", facts))
    macs = written(plan("weak_macs", facts)).splitlines()[1]
    assert macs == ("MACs umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                    "hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,"
                    "hmac-sha2-512")


def test_nothing_to_do_refused_and_declared():
    assert plan("permit_empty_passwords").empty            # already no
    assert not plan("permit_empty_passwords").refused
    only_weak = sshd_fact.SshdConfig({"ciphers": "aes128-cbc,3des-cbc"})
    p = plan("weak_ciphers", facts=Facts(sshd=only_weak))
    assert p.refused and "choose Ciphers by hand" in p.reason
    p = plan("x11_forwarding", sshd={"X11Forwarding": "yes"})
    assert p.refused and "sshd.config's fix sets it" in p.reason
    p = plan("x11_forwarding", baseline=dict(DEFAULTS, x11_forwarding=None))
    assert p.refused and p.empty


@pytest.mark.parametrize("item, value", [
    ("permit_root_login", "yes\nPermitEmptyPasswords yes"), ("permit_root_login", "yes"),
    ("max_auth_tries", "4\nX"), ("weak_ciphers", ["*-cbc\nCiphers x"]),
    ("host_key_mode", "0777"), ("x11_forwarding", "no # yes")])
def test_hostile_settings_are_refused_by_the_plan(item, value):
    p = plan(item, baseline=dict(DEFAULTS, **{item: value}))
    assert p.refused and p.empty


def test_host_keys_chmod_and_chown_the_exact_path():
    p = plan("host_key_mode")
    assert [a.command.render() for a in p.actions] == [
        "chmod 0600 -- /etc/ssh/ssh_host_ed25519_key",
        "chown root -- /etc/ssh/ssh_host_ed25519_key"]
    assert [a.command.render() for a in p.on_rollback] == [
        "chown 65534 -- /etc/ssh/ssh_host_ed25519_key",
        "chmod 0644 -- /etc/ssh/ssh_host_ed25519_key"]
    assert p.files() == []      # no file content changes: nothing to back up


def test_host_keys_keep_what_is_allowed():
    keys = sshd_hostkeys.HostKeys([
        sshd_hostkeys.KeyFile("/etc/ssh/a key", True, 0o644, 0, "root", 998, "ssh_keys"),
        sshd_hostkeys.KeyFile("/etc/ssh/b", True, 0o604, 0, "root", 0, "root"),
        sshd_hostkeys.KeyFile("/etc/ssh/c", True, 0o400, 0, "root", 0, "root")])
    p = plan("host_key_mode", facts=Facts(keys=keys))
    assert [a.command.render() for a in p.actions] == [
        "chmod 0640 -- '/etc/ssh/a key'",      # RHEL's group keeps its read bit
        "chmod 0600 -- /etc/ssh/b"]
    stock = sshd_hostkeys.parse(
        (FIXTURES / "sshd_hostkeys" / "debian12_ssh_keygen_defaults.txt").read_text())
    p = plan("host_key_mode", facts=Facts(keys=stock))
    assert p.empty and not p.refused


def test_a_host_key_path_that_is_not_safe_is_refused():
    keys = sshd_hostkeys.HostKeys([
        sshd_hostkeys.KeyFile("/etc/ssh/../../tmp/k", True, 0o644, 0, "root", 0, "root")])
    p = plan("host_key_mode", facts=Facts(keys=keys))
    assert p.refused and "'..'" in p.reason
