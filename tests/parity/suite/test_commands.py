"""Commands: run, check_output, run_expect, run_test, exists, find_command,
environment, and testinfra's quoting of arguments."""

import pytest


def test_run(host):
    cmd = host.run("echo hello; echo oops >&2; exit 3")
    assert cmd.rc == 3
    assert cmd.stdout == "hello\n"
    assert cmd.stderr == "oops\n"
    assert cmd.failed and not cmd.succeeded


def test_arguments_are_quoted(host):
    assert host.run("echo %s", "a b; echo injected").stdout == "a b; echo injected\n"
    assert host.check_output("printf '%%s|' %s %s", "x y", "$HOME") == "x y|$HOME|"


def test_check_output_strips_the_newline(host):
    assert host.check_output("uname -s") == "Linux"


def test_check_output_of_a_failing_command(host):
    """Fails on purpose: check_output asserts exit status 0."""
    host.check_output("ls /fleetcheck-parity-absent")


def test_run_expect(host):
    assert host.run_expect([0, 2], "ls /fleetcheck-parity-absent").rc == 2


def test_run_expect_another_status(host):
    """Fails on purpose: exit 3 is not expected."""
    host.run_expect([0, 1], "exit 3")


def test_run_test(host):
    assert host.run_test("grep -q fleetcheck-parity-absent /etc/hostname").rc == 1


def test_exists_and_find_command(host):
    assert host.exists("sh")
    assert not host.exists("fleetcheck-parity-absent")
    assert host.find_command("sysctl") in ("/usr/sbin/sysctl", "/sbin/sysctl")


def test_find_an_absent_command(host):
    with pytest.raises(ValueError, match="cannot find"):
        host.find_command("fleetcheck-parity-absent")


def test_environment(host):
    env = host.environment()
    assert "PATH" in env
    assert env.get("HOME") == host.user().home


@pytest.mark.parametrize("text", ["plain", "with space", "it's", "$(id)", "tab\there"])
def test_echo_round_trip(host, text):
    assert host.check_output("printf %s %s", "%s", text) == text
