"""The mail area: main.cf's parser, the postfix facts, mail.postfix, mail.queue, the relay
test (smtplib replaced by a fake server: no connection is made) and the fix of
mail.open_relay."""

from __future__ import annotations

import base64
import smtplib
from pathlib import Path

import checkrun
import pytest

from fleetcheck.facts import ParseError, postfix_config, postfix_queue
from fleetcheck.facts.file import FileState
from fleetcheck.facts.postfix import parse_main_cf, same_value
from fleetcheck.probes import smtp as smtpprobe
from fleetcheck.remediate.mail import set_parameters
from fleetcheck.remediation import PlanContext, RunCommand, WriteFile, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts"


def captured(fact, case):
    module = {"postfix_config": postfix_config, "postfix_queue": postfix_queue}[fact]
    return module.parse((FIXTURES / fact / f"{case}.txt").read_text())


MAIN_CF = """# a comment
myhostname = app1.lab.test
mynetworks = 127.0.0.0/8
    10.0.0.0/8
#   a comment between a line and its continuation
    192.168.0.0/16
smtpd_relay_restrictions = permit_mynetworks reject
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
header_checks = regexp:/etc/postfix/h # not a comment here
"""


# -- main.cf ------------------------------------------------------------------------------


def test_main_cf_continuations_comments_and_the_last_definition():
    cf = parse_main_cf(MAIN_CF)
    assert [(p.name, p.line, p.last) for p in cf.parameters][1:3] == [
        ("mynetworks", 3, 6), ("smtpd_relay_restrictions", 7, 7)]
    effective = cf.effective()
    assert effective["mynetworks"] == "127.0.0.0/8 10.0.0.0/8 192.168.0.0/16"
    assert effective["smtpd_relay_restrictions"].endswith("defer_unauth_destination")
    assert effective["header_checks"] == "regexp:/etc/postfix/h # not a comment here"


@pytest.mark.parametrize("text, error", [
    ("myhostname = a\nsmtpd_helo_required yes\n", "line 2: missing '='"),
    ("  continued = x\n", "line 1: a continuation line before any parameter"),
    ("my host = a\n", "line 1: missing '='"),
    ("a = b\x00\n", "line 1: a control character"),
])
def test_main_cf_errors(text, error):
    with pytest.raises(ParseError, match=error):
        parse_main_cf(text)


def test_values_compare_as_postfix_lists():
    assert same_value("permit_mynetworks, reject", "permit_mynetworks  reject")
    assert not same_value("127.0.0.0/8", "127.0.0.0/8 [::1]/128")
    assert not same_value("all", None)


def test_set_parameters_replaces_the_definition_in_effect_and_appends_the_rest():
    after = set_parameters(MAIN_CF, {"mynetworks": "127.0.0.0/8",
                                     "smtpd_relay_restrictions": "permit_mynetworks "
                                     "defer_unauth_destination", "relayhost": "[10.0.0.1]"})
    lines = after.splitlines()
    assert lines[2] == "mynetworks = 127.0.0.0/8"
    assert lines[3] == "smtpd_relay_restrictions = permit_mynetworks reject"   # overridden
    assert lines[4] == "smtpd_relay_restrictions = permit_mynetworks defer_unauth_destination"
    assert lines[-1] == "relayhost = [10.0.0.1]"
    assert parse_main_cf(after).effective()["header_checks"] == \
        parse_main_cf(MAIN_CF).effective()["header_checks"]


# -- the facts ----------------------------------------------------------------------------


def test_postfix_config_dump_with_cr_lf_check_output():
    cfg = captured("postfix_config", "dump-warnings")
    assert cfg.running and cfg.check_tty and cfg.main_cf == "/etc/postfix/main.cf"
    assert cfg.warnings()[-1] == ("postfix/postfix-script: warning: group or other writable: "
                                  "/etc/postfix/./main.cf")


def test_postfix_config_unexpected_line():
    text = (FIXTURES / "postfix_config" / "dump-warnings.txt").read_text()
    with pytest.raises(ParseError, match="line 2: unexpected"):
        postfix_config.parse(text.replace("running yes", "running maybe"))


def test_queue_ages_and_counts():
    queue = captured("postfix_queue", "dump")
    assert queue.by_queue() == {"active": 3, "deferred": 1}
    assert queue.oldest.queue_id == "4JfdNQ5stDz1yJf"
    assert round(queue.oldest_hours(), 2) == round((1642850000 - 1642672950) / 3600, 2)


# -- mail.postfix ---------------------------------------------------------------------------


def postfix_check(cfg, conf=None, **more):
    hostvars = {"mail": {"postfix": conf or {"parameters": {}, "warnings": True}, **more}}
    return checkrun.run_check("mail", "test_postfix", hostvars, postfix_config=cfg)


def clean(**changes):
    cfg = postfix_config.PostfixConfig(
        config_directory="/etc/postfix", running=True, postconf_exit=0, check_exit=0,
        check_tty=True, parameters={"myhostname": "app1.lab.test", "inet_interfaces": "all",
                                    "mynetworks": "0.0.0.0/0"})
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def test_postfix_clean_passes_and_mynetworks_is_left_to_the_relay_test():
    conf = {"parameters": {"myhostname": "app1.lab.test", "mynetworks": "127.0.0.0/8"}}
    outcome, _, evidence = postfix_check(clean(), conf,
                                         open_relay={"mynetworks": "127.0.0.0/8"})
    assert outcome == "passed" and evidence["declared"] == {"myhostname": "app1.lab.test"}


def test_postfix_warning_and_a_misspelt_parameter():
    cfg = clean(postconf_messages=["postconf: warning: /etc/postfix/main.cf: unused "
                                   "parameter: smtpd_helo_requierd=yes"])
    outcome, message, evidence = postfix_check(
        cfg, {"parameters": {"smtpd_helo_required": True}})
    assert outcome == "failed" and evidence.severity == "medium"
    assert message == ("1 warning(s): postconf: warning: /etc/postfix/main.cf: unused "
                       "parameter: smtpd_helo_requierd=yes; smtpd_helo_required is not set "
                       "in main.cf (its default is in effect), declared True")


def test_postfix_fatal_is_high():
    outcome, message, evidence = postfix_check(captured("postfix_config", "dump-fatal"))
    assert outcome == "failed" and evidence.severity == "high"
    assert message.startswith("postconf -n exits 1: postconf: fatal:")


def test_postfix_not_installed_or_idle():
    assert postfix_check(captured("postfix_config", "not-installed"))[0] == "skipped"
    assert postfix_check(clean(running=False))[0] == "skipped"
    assert postfix_check(clean(running=False),
                         {"parameters": {"myhostname": "x"}})[0] == "failed"


# -- mail.queue --------------------------------------------------------------------------------


def queue_check(queue, conf):
    return checkrun.run_check("mail", "test_queue", {"mail": {"queue": conf}},
                              postfix_queue=queue)


def test_queue_thresholds():
    queue = captured("postfix_queue", "dump")
    outcome, message, evidence = queue_check(queue, {"messages": {"warn": 3, "crit": 10},
                                                     "oldest_hours": {"warn": 24, "crit": 96}})
    assert outcome == "failed" and evidence.severity == "low"
    assert message == "messages 4 >= warn 3; oldest_hours 49.1806 >= warn 24"
    outcome, _, evidence = queue_check(queue, {"messages": {"warn": 3, "crit": 4}})
    assert evidence.severity == "medium" and outcome == "failed"
    assert queue_check(queue, {"messages": {"warn": 100, "crit": 1000}})[0] == "passed"


def test_queue_down_or_not_installed():
    for case in ("mail-system-down", "not-installed"):
        assert queue_check(captured("postfix_queue", case),
                           {"messages": {"warn": 1, "crit": 2}})[0] == "skipped"


# -- the relay test -------------------------------------------------------------------------


class FakeSMTP:
    """smtplib.SMTP's surface as the probe uses it; no socket."""
    rcpt_reply = (554, b"5.7.1 <relay-test@relay-test.invalid>: Relay access denied")
    refuse_connect = False
    said: list = []

    def __init__(self, local_hostname=None, timeout=None):
        assert local_hostname and timeout
        self.sock = type("S", (), {"getsockname": lambda self: ("10.213.47.1", 40000)})()

    def connect(self, host, port):
        if self.refuse_connect:
            raise ConnectionRefusedError(111, "Connection refused")
        self.said.append(("connect", host, port))
        return 220, b"app1.lab.test ESMTP Postfix (Debian/GNU)"

    def ehlo(self, name):
        self.said.append(("EHLO", name))
        return 250, b"app1.lab.test\nPIPELINING"

    def helo(self, name):
        return 250, b"app1"

    def mail(self, sender):
        self.said.append(("MAIL", sender))
        return 250, b"2.1.0 Ok"

    def rcpt(self, recipient):
        self.said.append(("RCPT", recipient))
        return self.rcpt_reply

    def rset(self):
        self.said.append(("RSET",))
        return 250, b"2.0.0 Ok"

    def quit(self):
        self.said.append(("QUIT",))

    def close(self):
        pass


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.said = []
    FakeSMTP.refuse_connect = False
    FakeSMTP.rcpt_reply = (554, b"5.7.1 <relay-test@relay-test.invalid>: Relay access denied")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


RELAY = {"ansible_host": "10.213.47.31", "mail": {"open_relay": {"port": 25}}}


def relay_check(hostvars=RELAY):
    return checkrun.run_check("mail", "test_open_relay", hostvars, host_name="app1")


def test_refused_relay_passes_and_nothing_is_sent(fake_smtp):
    outcome, _, evidence = relay_check()
    assert outcome == "passed"
    assert [s[0] for s in fake_smtp.said] == ["connect", "EHLO", "MAIL", "RCPT", "RSET", "QUIT"]
    assert fake_smtp.said[0] == ("connect", "10.213.47.31", 25)
    assert evidence["session"][2] == ("RCPT TO:<relay-test@relay-test.invalid> -> 554 5.7.1 "
                                      "<relay-test@relay-test.invalid>: Relay access denied")


def test_accepted_recipient_is_an_open_relay(fake_smtp):
    fake_smtp.rcpt_reply = (250, b"2.1.5 Ok")
    outcome, message, evidence = relay_check()
    assert outcome == "failed" and evidence.severity == "high"
    assert message == ("open relay: 10.213.47.31:25 accepted RCPT TO:<relay-test@relay-test."
                       "invalid> after MAIL FROM:<fleetcheck-probe@relay-test.invalid> from "
                       "10.213.47.1: 250 2.1.5 Ok")


def test_nothing_listening_or_no_usable_address(fake_smtp):
    fake_smtp.refuse_connect = True
    assert relay_check()[0] == "skipped"
    for address, why in ((None, "no address"), ("app1.lab.test", "is a name"),
                         ("127.0.0.1", "loopback")):
        outcome, message, _ = relay_check({**RELAY, "ansible_host": address})
        assert outcome == "skipped" and why in message
    assert fake_smtp.said == []


def test_the_probe_connects_only_to_the_inventory_address(fake_smtp):
    with pytest.raises(smtpprobe.NotAllowed):
        smtpprobe.relay_test("10.213.47.30", 25, helo="x.invalid", sender="a@b.invalid",
                             recipient="c@d.invalid", timeout=1, allowed="10.213.47.31")
    with pytest.raises(ValueError):
        smtpprobe.relay_test("10.213.47.31", 25, helo="x.invalid", sender="a@b\r\nDATA",
                             recipient="c@d.invalid", timeout=1, allowed="10.213.47.31")
    assert fake_smtp.said == []


# -- the fix -----------------------------------------------------------------------------------


def file_state(content):
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content.encode()).decode())


DECLARED = {"mail": {"open_relay": {"mynetworks": "127.0.0.0/8", "smtpd_relay_restrictions":
                                    "permit_mynetworks permit_sasl_authenticated "
                                    "defer_unauth_destination"}}}


def plan(hostvars=DECLARED, main_cf=MAIN_CF.replace("127.0.0.0/8", "0.0.0.0/0"), cfg=None):
    facts = checkrun.Facts(file=file_state(main_cf), postfix_config=cfg or clean())
    return lookup("mail.open_relay")(PlanContext("mail.open_relay", "app1", hostvars, facts))


def test_plan_writes_main_cf_checks_then_reloads():
    p = plan()
    write, check, reload = p.actions
    assert isinstance(write, WriteFile) and write.path == "/etc/postfix/main.cf"
    assert parse_main_cf(write.content.decode()).effective()["mynetworks"] == "127.0.0.0/8"
    assert isinstance(check, RunCommand) and check.command.render() == "postfix check"
    assert reload.command.render() == "postfix reload"
    assert [a.command.render() for a in p.on_rollback] == ["postfix check", "postfix reload"]


@pytest.mark.parametrize("hostvars, reason", [
    ({"mail": {"open_relay": {"port": 25}}}, "declare mail.open_relay.mynetworks"),
    ({"mail": {"open_relay": {"mynetworks": "127.0.0.0/8\nrelayhost = evil"}}},
     "mail.open_relay.mynetworks"),
    ({"mail": {"open_relay": {"mynetworks": " 127.0.0.0/8"}}}, "must not start or end"),
])
def test_plan_refuses_what_it_must_not_write(hostvars, reason):
    p = plan(hostvars)
    assert p.refused and reason in p.reason, p.reason


def test_plan_refuses_without_main_cf_or_postfix_or_when_already_so():
    assert "does not exist" in plan(main_cf=None).reason
    assert "not installed" in plan(cfg=postfix_config.PostfixConfig(installed=False)).reason
    already = set_parameters(MAIN_CF, {k: v for k, v in DECLARED["mail"]["open_relay"].items()})
    assert "already says" in plan(main_cf=already).reason
