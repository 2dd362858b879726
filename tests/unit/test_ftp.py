"""The ftp area: vsftpd.conf's parser (as vsftpd 3.0.3 reads a file), the vsftpd fact,
ftp.vsftpd, the anonymous login test (ftplib replaced by a fake server: no connection
is made) and the fix of ftp.vsftpd."""

from __future__ import annotations

import base64
import ftplib
from pathlib import Path

import checkrun
import pytest

from fleetcheck.facts import vsftpd
from fleetcheck.facts.file import FileState
from fleetcheck.facts.vsftpd import parse_conf
from fleetcheck.probes import ftp as ftpprobe
from fleetcheck.remediate.ftp import set_directives
from fleetcheck.remediation import PlanContext, RunCommand, Service, WriteFile, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "vsftpd"
DEBIAN = (FIXTURES / "debian-bookworm-vsftpd.conf.txt").read_text()
LAB = """# the lab's
listen=YES
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
"""


def fact(text=LAB, running=True, installed=True):
    if not installed:
        return vsftpd.Vsftpd(installed=False)
    return vsftpd.Vsftpd(binary="/usr/sbin/vsftpd", running=running, path="/etc/vsftpd.conf",
                         exists=True, size=len(text), config=parse_conf(text))


# -- vsftpd.conf --------------------------------------------------------------------------


def test_conf_as_vsftpd_reads_it():
    conf = parse_conf("# c\n   \n\tlisten=YES\n listen=NO\nftpd_banner=a = b #x\n"
                      "ftpd_banner=\nanon_root=/srv/ftp\n")
    assert conf.refused == []
    assert conf.effective() == {"listen": "NO", "ftpd_banner": "", "anon_root": "/srv/ftp"}
    assert [d.line for d in conf.directives] == [3, 4, 5, 6, 7]


@pytest.mark.parametrize("line, reason", [
    ("anonymous_enable = YES", "unrecognised variable in config file: anonymous_enable "),
    ("ANONYMOUS_ENABLE=NO", "unrecognised variable in config file: ANONYMOUS_ENABLE"),
    ("anonymos_enable=NO", "unrecognised variable in config file: anonymos_enable"),
    ("anonymous_enable=NO ", "bad bool value in config file for: anonymous_enable"),
    ("anonymous_enable=NO\r", "bad bool value in config file for: anonymous_enable"),
    ("anonymous_enable=n", "bad bool value in config file for: anonymous_enable"),
    ("anonymous_enable=", "missing value in config file for: anonymous_enable"),
    ("anonymous_enable", "missing value in config file for: anonymous_enable"),
    ("  # a note", "missing value in config file for: # a note"),
])
def test_lines_vsftpd_refuses(line, reason):
    conf = parse_conf(f"listen=YES\n{line}\n")
    assert [(r.line, r.reason) for r in conf.refused] == [(2, reason)]
    assert conf.effective() == {"listen": "YES"}


def test_booleans_and_defaults():
    conf = parse_conf("anon_upload_enable=yes\nwrite_enable=True\nlocal_enable=0\n")
    assert conf.enabled("anon_upload_enable") and conf.enabled("write_enable")
    assert conf.enabled("local_enable") is False
    # the binary's default (Debian's man page says NO; bookworm's vsftpd lets USER in)
    assert conf.value("anonymous_enable") == ("YES", False)
    assert conf.value("banner_file") == (None, False)
    assert parse_conf(DEBIAN).value("anonymous_enable") == ("NO", True)


def test_the_fact_parser_bounds_and_shapes():
    with pytest.raises(vsftpd.ParseError, match="line 2: unexpected"):
        vsftpd.parse("fleetcheck-vsftpd: installed /usr/sbin/vsftpd\nbogus\n"
                     "fleetcheck-vsftpd: end\n")
    with pytest.raises(vsftpd.ParseError, match="more than"):
        vsftpd.parse("fleetcheck-vsftpd: installed /usr/sbin/vsftpd\n"
                     "fleetcheck-vsftpd: running yes\n"
                     f"fleetcheck-vsftpd: config /etc/vsftpd.conf size {10**7}\n"
                     "fleetcheck-vsftpd: end\n")
    with pytest.raises(vsftpd.ParseError, match="more than"):
        parse_conf("a=b\n" * (vsftpd.MAX_LINES + 1))


def test_the_command_quotes_the_declared_path():
    assert vsftpd.command({}).render().endswith(" /etc/vsftpd.conf /etc/vsftpd/vsftpd.conf")
    declared = {"ftp": {"vsftpd": {"config": "/etc/my vsftpd.conf"}}}
    assert vsftpd.command(declared).render().endswith(" '/etc/my vsftpd.conf'")


# -- the login test -----------------------------------------------------------------------


class FakeFTP:
    """ftplib.FTP's surface the probe uses, answering from a script."""
    replies: dict = {}
    sent: list = []

    def __init__(self, timeout=None):
        self.timeout = timeout

    def connect(self, host, port, timeout=None):
        FakeFTP.sent.append(f"connect {host}:{port}")
        return "220 (vsFTPd 3.0.3)"

    def sendcmd(self, cmd):
        FakeFTP.sent.append(cmd)
        reply = FakeFTP.replies[cmd.split()[0]]
        if reply.startswith("5"):
            raise ftplib.error_perm(reply)
        return reply

    def quit(self):
        FakeFTP.sent.append("QUIT")
        return "221 Goodbye."

    def close(self):
        pass


@pytest.fixture
def fake_ftp(monkeypatch):
    FakeFTP.sent = []
    monkeypatch.setattr(ftpprobe.ftplib, "FTP", FakeFTP)
    return FakeFTP


def probe():
    return ftpprobe.login_test("10.0.0.5", 21, password="p@x.invalid", timeout=5,
                               allowed="10.0.0.5")


def test_login_refused_passes(fake_ftp):
    fake_ftp.replies = {"USER": "331 Please specify the password.", "PASS": "530 Login incorrect."}
    test = probe()
    assert test.refused and not test.accepted
    assert fake_ftp.sent == ["connect 10.0.0.5:21", "USER anonymous", "PASS p@x.invalid", "QUIT"]
    assert ftpprobe.problems(test, allowed=False) == []
    assert ftpprobe.problems(test, allowed=True)[0][0] == "medium"


def test_login_accepted_is_high_and_nothing_else_is_sent(fake_ftp):
    fake_ftp.replies = {"USER": "331 Please specify the password.", "PASS": "230 Login successful."}
    test = probe()
    assert test.accepted
    assert fake_ftp.sent[-1] == "QUIT" and len(fake_ftp.sent) == 4   # no STOR, MKD, LIST
    assert ftpprobe.problems(test, allowed=False)[0][0] == "high"
    assert "p@x.invalid" not in " ".join(test.steps)


def test_login_test_only_to_the_inventory_address():
    with pytest.raises(ftpprobe.NotAllowed):
        ftpprobe.login_test("10.0.0.6", 21, password="p@x.invalid", timeout=5,
                            allowed="10.0.0.5")
    assert ftpprobe.target("web1.example")[0] is None


# -- the check ----------------------------------------------------------------------------

LABVARS = {"ftp": {"vsftpd": {"anonymous_enable": False, "chroot_local_user": True,
                              "probe": False}}}


def check(hostvars=LABVARS, state=None):
    return checkrun.run_check("ftp", "test_vsftpd", hostvars, vsftpd=state or fact())


def test_the_lab_file_passes():
    outcome, message, evidence = check()
    assert outcome == "passed", message
    assert evidence["directives"]["chroot_local_user"]["in_effect"] == "YES"


@pytest.mark.parametrize("text, words", [
    (LAB.replace("anonymous_enable=NO", "anonymous_enable=YES"), "anonymous_enable=YES"),
    (LAB.replace("anonymous_enable=NO\n", ""), "compiled-in default"),
    (LAB.replace("anonymous_enable=NO", "anonymous_enable=YES") + "anon_upload_enable=YES\n",
     "anyone may write"),
    (LAB + "anon_mkdir_write_enable=YES\nanonymous_enable = NO\n", "vsftpd refuses"),
])
def test_anonymous_findings_are_high(text, words):
    outcome, message, evidence = check(state=fact(text))
    assert outcome == "failed" and words in message and evidence.severity == "high", message


def test_chroot_and_directives_as_declared():
    outcome, message, _ = check(state=fact(LAB.replace("chroot_local_user=YES",
                                                       "chroot_local_user=NO")))
    assert outcome == "failed" and "chroot_local_user=NO" in message, message
    declared = {"ftp": {"vsftpd": {**LABVARS["ftp"]["vsftpd"],
                                   "directives": {"write_enable": True, "listen_port": 2121}}}}
    outcome, message, _ = check(declared)
    assert outcome == "failed" and "listen_port=21" in message and "write" not in message


def test_not_applicable_where_not_installed_or_idle():
    assert check(state=fact(installed=False))[0] == "skipped"
    idle = {"ftp": {"vsftpd": {"probe": False}}}
    assert check(idle, fact(DEBIAN, running=False))[0] == "skipped"
    assert check(idle, fact(DEBIAN.replace("anonymous_enable=NO", "anonymous_enable=YES"),
                            running=False))[0] == "failed"
    assert check({"ftp": {"vsftpd": None}})[0] == "skipped"


def test_the_probe_result_is_judged(fake_ftp):
    fake_ftp.replies = {"USER": "230 Login successful."}
    hostvars = {"ftp": {"vsftpd": {"chroot_local_user": True}}, "ansible_host": "10.0.0.5"}
    outcome, message, evidence = check(hostvars)
    assert outcome == "failed" and "anonymous FTP login accepted" in message, message
    assert evidence["login_test"]["address"] == "10.0.0.5" and evidence.severity == "high"


# -- the fix ------------------------------------------------------------------------------


def file_state(content):
    return FileState(True, 0o600, "root", "root", base64.b64encode(content.encode()).decode())


def plan(text, hostvars=LABVARS):
    facts = checkrun.Facts(file=file_state(text), vsftpd=fact(text))
    return lookup("ftp.vsftpd")(PlanContext("ftp.vsftpd", "web1", hostvars, facts))


def test_set_directives_in_place_every_other_byte_kept():
    text = DEBIAN.replace("anonymous_enable=NO", "anonymous_enable=YES") + "anonymous_enable=1"
    after = set_directives(text, {"anonymous_enable": "NO", "chroot_local_user": "YES"})
    assert after == DEBIAN.replace("anonymous_enable=NO", "anonymous_enable=YES") + \
        "anonymous_enable=NO\nchroot_local_user=YES\n"
    crlf = set_directives("listen=YES\r\nftpd_banner=hi\r\n", {"ftpd_banner": "hello"})
    assert crlf == "listen=YES\r\nftpd_banner=hello\n"


def test_plan_writes_validates_then_restarts():
    broken = LAB.replace("anonymous_enable=NO", "anonymous_enable=YES") + \
        "anon_upload_enable=YES\n"
    p = plan(broken)
    write, validate, restart = p.actions
    assert isinstance(write, WriteFile) and write.path == "/etc/vsftpd.conf"
    written = parse_conf(write.content.decode())
    assert written.effective() == {**parse_conf(broken).effective(),
                                   "anonymous_enable": "NO", "anon_upload_enable": "NO"}
    assert isinstance(validate, RunCommand)
    assert validate.command.render().endswith(" /etc/vsftpd.conf /usr/sbin/vsftpd")
    assert "must be started from inetd" in validate.command.render()
    assert isinstance(restart, Service) and (restart.name, restart.operation) == \
        ("vsftpd", "restart")
    assert p.on_rollback == [validate, restart]


def test_plan_refuses():
    assert "vsftpd refuses" in plan(LAB + "anonymous_enable = YES\n").reason
    assert "already says" in plan(LAB).reason
    hostile = {"ftp": {"vsftpd": {"directives": {"ftpd_banner": "hi\nanonymous_enable=YES"}}}}
    assert plan(LAB, hostile).refused
    bad_bool = {"ftp": {"vsftpd": {"directives": {"ssl_enable": "maybe"}}}}
    p = plan(LAB, bad_bool)
    assert p.refused and "does not read back" in p.reason, p.reason
