"""Remediation plans are pure: facts + expected state -> Plan. Here the facts are
given as data (no host), as pyinfra tests its operations."""

import base64

import pytest

from fleetcheck.facts.file import FileState
from fleetcheck.facts.service import ServiceState
from fleetcheck.facts.sysctl import Sysctl
from fleetcheck.remediation import PlanContext, lookup

SSHD = b"# sshd config\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nUsePAM yes\n"


class Facts:
    def __init__(self, **values):
        self.values = values

    def get(self, fact, /, **params):
        return self.values[fact]


def file_state(content: bytes | None) -> FileState:
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content).decode())


def plan(check_id, vars, item, **facts):
    return lookup(check_id)(PlanContext(check_id, "web1", vars, Facts(**facts), item))


def test_sysctl_plan_persists_and_sets():
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "1"}), file=file_state(None))
    assert [a.summary for a in p.actions] == [
        "persist net.ipv4.ip_forward = 0 in /etc/sysctl.d/99-fleetcheck.conf",
        "sysctl -w net.ipv4.ip_forward=0"]
    assert p.actions[1].command.render() == "sysctl -w net.ipv4.ip_forward=0"
    assert "+net.ipv4.ip_forward = 0" in p.diffs()["/etc/sysctl.d/99-fleetcheck.conf"]


def test_sysctl_plan_is_idempotent():
    persisted = b"# header\nnet.ipv4.ip_forward = 0\n"
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": "0"}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "0"}), file=file_state(persisted))
    assert p.empty and "already" in p.reason


def test_sysctl_value_reaches_the_shell_quoted():
    value = "1; touch /tmp/x $(id)"
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": value}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "0"}), file=file_state(None))
    assert p.actions[-1].command.render() == \
        "sysctl -w 'net.ipv4.ip_forward=1; touch /tmp/x $(id)'"


def test_sshd_plan_replaces_first_occurrence_and_validates_before_reload():
    p = plan("sshd.config", {"sshd": {"PermitRootLogin": "no"}}, "PermitRootLogin",
             file=file_state(SSHD))
    kinds = [type(a).__name__ for a in p.actions]
    assert kinds == ["WriteFile", "RunCommand", "Service"]
    assert p.actions[1].command.render() == "sshd -t"
    assert p.actions[0].content.decode().splitlines()[2] == "PermitRootLogin no"
    diff = p.diffs()["/etc/ssh/sshd_config"]
    assert "-PermitRootLogin yes" in diff and "+PermitRootLogin no" in diff


def test_sshd_plan_inserts_above_include_when_absent():
    p = plan("sshd.config", {"sshd": {"PasswordAuthentication": "no"}},
             "PasswordAuthentication", file=file_state(SSHD))
    lines = p.actions[0].content.decode().splitlines()
    assert lines.index("PasswordAuthentication no") < lines.index(
        "Include /etc/ssh/sshd_config.d/*.conf")


@pytest.mark.parametrize("value", ["no\nPermitEmptyPasswords yes", "no\rX", "a\x00b"])
def test_sshd_plan_refuses_line_breaks(value):
    p = plan("sshd.config", {"sshd": {"PermitRootLogin": value}}, "PermitRootLogin",
             file=file_state(SSHD))
    assert p.refused and p.empty


def test_sshd_plan_refuses_when_file_already_says_it():
    p = plan("sshd.config", {"sshd": {"PermitRootLogin": "yes"}}, "PermitRootLogin",
             file=file_state(SSHD))
    assert p.refused and "override" in p.reason


def test_service_plan():
    p = plan("service.running", {"services": ["cron"]}, "cron",
             service=ServiceState("sysv", running=False, enabled=True))
    assert [(a.name, a.operation) for a in p.actions] == [("cron", "start")]
    p = plan("service.running", {"services": ["cron"]}, "cron",
             service=ServiceState("sysv", running=True, enabled=True))
    assert p.empty
