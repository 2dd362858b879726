"""The ldap area: slaptest's facts (real captures), ldap.config_valid, the var's kinds
(DNs through ldap3's parser), the probe's judging and guards, and ldap.answers with the
probe replaced by a fake (no connection but to a closed loopback port)."""

from __future__ import annotations

import socket
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import ParseError, slaptest
from fleetcheck.facts import ldap as ldapfact
from fleetcheck.probes import ldap as ldapprobe

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "slaptest"
ANSWERS = {"base_dn": "dc=lab,dc=test"}


def captured(case):
    return slaptest.parse((FIXTURES / f"{case}.txt").read_text())


# -- slaptest ---------------------------------------------------------------------------


def test_command_tests_the_directory_or_the_declared_file():
    assert str(slaptest.command({"ldap": {"config_valid": {}}})).endswith(
        "slaptest -F /etc/ldap/slapd.d")
    cmd = str(slaptest.command({"ldap": {"config_valid": {"config_file": "/etc/x y.conf"}}}))
    assert cmd.endswith("slaptest -f '/etc/x y.conf'")
    with pytest.raises(values.UnsafeValue):
        slaptest.command({"ldap": {"config_valid": {"config_dir": "-F/tmp"}}})


@pytest.mark.parametrize("text, error", [
    ("fleetcheck-slaptest: slaptest -u -F /etc/ldap/slapd.d\nfleetcheck-slaptest: end\n",
     "no exit line"),
    ("fleetcheck-slaptest: slaptest -u -F x\nfleetcheck-slaptest: exit 0\n"
     "fleetcheck-slaptest: end\n", "line 1: not the slaptest command line"),
    ("config file testing succeeded\n", "line 1: expected"),
    ("fleetcheck-slaptest: slaptest -u -F /a\nfleetcheck-slaptest: exit 0\n"
     "fleetcheck-slaptest: exit 1\nfleetcheck-slaptest: end\n", "line 2: unexpected"),
])
def test_slaptest_parse_errors(text, error):
    with pytest.raises(ParseError, match=error):
        slaptest.parse(text)


def config_valid(fact, conf=None):
    return checkrun.run_check("ldap", "test_config_valid", {"ldap": {"config_valid": conf
                                                                      or {}}},
                              slaptest=fact)


def test_config_valid_clean_passes():
    outcome, _, evidence = config_valid(captured("cn-config-good"))
    assert outcome == "passed" and evidence["exit"] == 0 and evidence["succeeded"]


def test_config_valid_broken_is_high_with_slaptest_s_reason():
    outcome, message, evidence = config_valid(captured("db-directory-missing"))
    assert outcome == "failed" and evidence.severity == "high"
    assert "exits 1" in message and "invalid path" in message
    assert "ldapmodify" in evidence.advice


def test_config_valid_warnings_of_a_passing_test_are_medium_unless_off():
    fact = captured("unknown-attribute")
    outcome, message, evidence = config_valid(fact)
    assert outcome == "failed" and evidence.severity == "medium"
    assert "OLCSUFIX" in message and "checksum error" in message
    assert config_valid(fact, {"warnings": False})[0] == "passed"


def test_config_valid_not_installed_skips_unless_required():
    fact = captured("not-installed")
    assert config_valid(fact)[0] == "skipped"
    outcome, message, evidence = config_valid(fact, {"required": True})
    assert outcome == "failed" and evidence.severity == "high" and "not installed" in message
    assert checkrun.run_check("ldap", "test_config_valid", {"ldap": {"config_valid": None}},
                              slaptest=fact)[0] == "skipped"


# -- the var ---------------------------------------------------------------------------


def test_dn_kind_uses_ldap3_s_parser():
    assert ldapfact.dn("uid=a\\,b,ou=people,dc=lab,dc=test") == \
        "uid=a\\,b,ou=people,dc=lab,dc=test"
    for bad in ("dc=lab,,dc=test", "not a dn", "-dc=x", "dc=a\ndc=b", "", 3):
        with pytest.raises(values.UnsafeValue):
            ldapfact.dn(bad)
    with pytest.raises(values.UnsafeValue):
        ldapfact.env_name("LDAP PW")
    assert ldapfact.env_name("LDAP_MONITOR_PW") == "LDAP_MONITOR_PW"


def test_schema_requires_base_dn_and_a_password_env_with_a_bind():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(ldapfact.VARS["ldap"])
    assert not list(validator.iter_errors({"answers": ANSWERS, "config_valid": {}}))
    assert list(validator.iter_errors({"answers": {"tls": "starttls"}}))
    assert list(validator.iter_errors({"answers": {**ANSWERS, "bind_dn": "cn=x"}}))
    assert list(validator.iter_errors({"answers": {**ANSWERS, "tls": "ssl"}}))
    assert list(validator.iter_errors({"answers": {**ANSWERS, "password": "x"}}))


def test_answers_settings_port_follows_the_tls_mode():
    assert ldapfact.answers_settings({"ldap": {"answers": ANSWERS}})["port"] == 389
    assert ldapfact.answers_settings(
        {"ldap": {"answers": {**ANSWERS, "tls": "ldaps"}}})["port"] == 636
    assert ldapfact.answers_settings(
        {"ldap": {"answers": {**ANSWERS, "tls": "ldaps", "port": 1636}}})["port"] == 1636
    assert ldapfact.answers_settings({"ldap": {"answers": None}}) is None


# -- the probe -------------------------------------------------------------------------


def result(**kw):
    res = ldapprobe.BaseSearch("10.213.47.20", 389, "starttls", "dc=lab,dc=test",
                               "anonymous")
    for k, v in kw.items():
        setattr(res, k, v)
    return res


def test_problems():
    assert ldapprobe.problems(result(connected=True, stage="done", result=0, found=True)) == []
    [(sev, text)] = ldapprobe.problems(result(error="Connection refused"))
    assert sev == "high" and "no LDAP server answers at 10.213.47.20:389" in text
    [(sev, text)] = ldapprobe.problems(result(connected=True, stage="tls", error="bad cert"))
    assert sev == "high" and text.startswith("TLS (starttls) with")
    [(sev, text)] = ldapprobe.problems(result(connected=True, stage="done", result=32,
                                              description="noSuchObject"))
    assert sev == "high" and "dc=lab,dc=test does not exist" in text
    [(sev, text)] = ldapprobe.problems(result(connected=True, stage="done", result=0))
    assert "returns no entry" in text
    [(sev, text)] = ldapprobe.problems(result(connected=True, stage="done", result=50,
                                              description="insufficientAccessRights"))
    assert "insufficientAccessRights (50)" in text


def test_probe_only_to_the_inventory_ip_and_only_a_dn():
    assert ldapprobe.target("files1.lab.test")[0] is None
    assert ldapprobe.target("10.213.47.20") == ("10.213.47.20", None)
    with pytest.raises(ldapprobe.NotAllowed):
        ldapprobe.base_search("10.213.47.30", 389, base_dn="dc=x", allowed="10.213.47.20")
    with pytest.raises(ldapprobe.NotAllowed):
        ldapprobe.base_search("files1", 389, base_dn="dc=x", allowed="files1")
    with pytest.raises(values.UnsafeValue):
        ldapprobe.base_search("127.0.0.1", 389, base_dn="dc=x,,", allowed="127.0.0.1")


def test_probe_to_a_closed_loopback_port_does_not_answer():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = ldapprobe.base_search("127.0.0.1", port, base_dn="dc=lab,dc=test", timeout=2,
                                allowed="127.0.0.1")
    assert not res.connected and res.stage == "connect" and res.error
    assert ldapprobe.problems(res)[0][0] == "high"


def test_probe_to_a_server_that_never_answers_times_out_on_its_reply():
    """Connected (the loopback socket listens, nothing accepts), then no reply within a
    fractional timeout (ldap3 wants whole seconds for its receive timeout)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        res = ldapprobe.base_search("127.0.0.1", s.getsockname()[1], base_dn="dc=lab,dc=test",
                                    timeout=0.5, allowed="127.0.0.1")
    assert res.connected and res.stage == "bind" and res.error and not res.found, res
    [(sev, text)] = ldapprobe.problems(res)
    assert sev == "high" and text.startswith("the bind at 127.0.0.1:")


# -- ldap.answers ----------------------------------------------------------------------


@pytest.fixture
def fake_search(monkeypatch):
    calls = []

    def fake(address, port, **kw):
        calls.append({"address": address, "port": port, **kw})
        return result(connected=True, stage="done", result=0, found=True, tls=kw["tls"],
                      bind=kw["bind_dn"] or "anonymous", port=port)
    monkeypatch.setattr(ldapprobe, "base_search", fake)
    return calls


def answers(conf, address="10.213.47.20"):
    return checkrun.run_check("ldap", "test_answers",
                              {"ansible_host": address, "ldap": {"answers": conf}},
                              host_name="files1")


def test_answers_off_or_a_name_is_not_applicable(fake_search):
    assert answers(None)[0] == "skipped"
    assert answers(ANSWERS, address="files1.lab.test")[0] == "skipped"
    assert fake_search == []


def test_answers_anonymous_plain(fake_search):
    outcome, _, evidence = answers(ANSWERS)
    assert outcome == "passed" and evidence["bind"] == "anonymous"
    [call] = fake_search
    assert (call["address"], call["port"], call["tls"], call["password"]) == \
        ("10.213.47.20", 389, "none", None)
    assert call["allowed"] == "10.213.47.20" and call["tls_name"] == "files1"


def test_answers_bind_password_from_the_environment_never_shown(fake_search, monkeypatch):
    conf = {**ANSWERS, "tls": "ldaps", "bind_dn": "cn=monitor,dc=lab,dc=test",
            "password_env": "FC_TEST_LDAP_PW"}
    monkeypatch.delenv("FC_TEST_LDAP_PW", raising=False)
    outcome, message, evidence = answers(conf)
    assert outcome == "failed" and evidence.severity == "medium" and fake_search == []
    assert "FC_TEST_LDAP_PW" in message and evidence["password_set"] is False
    monkeypatch.setenv("FC_TEST_LDAP_PW", "s3cret-value")
    outcome, _, evidence = answers(conf)
    assert outcome == "passed" and fake_search[0]["password"] == "s3cret-value"
    assert fake_search[0]["port"] == 636
    assert "s3cret-value" not in repr(dict(evidence))


def test_answers_missing_ca_bundle_is_high(fake_search, tmp_path):
    conf = {**ANSWERS, "tls": "starttls", "ca_bundle": str(tmp_path / "nope.pem")}
    outcome, message, evidence = answers(conf)
    assert outcome == "failed" and evidence.severity == "high" and "not a file" in message
    (tmp_path / "ca.pem").write_text("x")
    outcome, _, _ = answers({**conf, "ca_bundle": str(tmp_path / "ca.pem"),
                             "tls_name": "files1.lab.test"})
    assert outcome == "passed"
    assert fake_search[0]["ca_file"] == str(tmp_path / "ca.pem")
    assert fake_search[0]["tls_name"] == "files1.lab.test"


def test_answers_base_missing_is_high(monkeypatch):
    monkeypatch.setattr(ldapprobe, "base_search", lambda *a, **kw: result(
        connected=True, stage="done", result=32, description="noSuchObject"))
    outcome, message, evidence = answers(ANSWERS)
    assert outcome == "failed" and evidence.severity == "high"
    assert "does not exist" in message and "slapadd" in evidence.advice


# -- the lab's directory (lab/faults/ldap.py) --------------------------------------------


def test_lab_tree_holds_the_base_and_alice_s_password():
    import base64
    import hashlib

    from lab.faults import ldap as lab_ldap

    entries = lab_ldap.tree_ldif().split("\n\n")
    assert entries[0].startswith(f"dn: {lab_ldap.BASE_DN}\n")
    assert [e.split("\n", 1)[0] for e in entries] == [
        "dn: dc=lab,dc=test", "dn: ou=people,dc=lab,dc=test",
        "dn: uid=alice,ou=people,dc=lab,dc=test", "dn: uid=bob,ou=people,dc=lab,dc=test"]
    hashed = next(line for line in entries[2].splitlines()
                  if line.startswith("userPassword: "))[len("userPassword: {SSHA}"):]
    raw = base64.b64decode(hashed)
    assert hashlib.sha1(lab_ldap.PASSWORD.encode() + raw[20:]).digest() == raw[:20]
    assert lab_ldap.tree_ldif() == lab_ldap.tree_ldif(), "the same file at every up"
    assert f"olcSuffix: {lab_ldap.BASE_DN}" in lab_ldap.databases_ldif()
    for name in lab_ldap.FAULTS:
        assert callable(getattr(lab_ldap, "_" + name.replace("-", "_")))
