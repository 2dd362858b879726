"""host.sudo(): commands as root or another user (needs sudo on the host)."""

import pytest


@pytest.fixture
def sudo(host):
    if not host.exists("sudo"):
        pytest.skip("sudo is not installed")
    return host.sudo


def test_as_root(host, sudo):
    with sudo():
        assert host.check_output("id -u") == "0"


def test_as_nobody(host, sudo):
    with sudo("nobody"):
        assert host.check_output("id -un") == "nobody"
        assert host.run("cat /etc/shadow").rc != 0


def test_nobody_reads_passwd(host, sudo):
    with sudo("nobody"):
        assert host.file("/etc/passwd").contains("^nobody:")


def test_who_am_i(host):
    assert host.user().name == host.check_output("id -un")
