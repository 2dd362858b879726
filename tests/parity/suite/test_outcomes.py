"""Every outcome pytest has, on a host: skips (in the test, by mark, in a fixture),
xfail (strict and not), an error in a fixture, and a test without a host beside."""

import sys

import pytest


def test_skipped_in_the_test(host):
    if host.file("/etc/debian_version").exists:
        pytest.skip("Debian has no /etc/redhat-release")
    assert host.file("/etc/redhat-release").exists


@pytest.mark.skipif(sys.platform != "linux", reason="the controller is not Linux")
def test_skipif_mark_that_runs(host):
    assert host.system_info.type == "linux"


@pytest.mark.skip(reason="not written yet")
def test_skip_mark(host):
    raise AssertionError("never runs")


@pytest.fixture
def selinux(host):
    if not host.exists("getenforce"):
        pytest.skip("no SELinux tools")
    return host.check_output("getenforce")


def test_skipped_in_a_fixture(host, selinux):
    assert selinux == "Enforcing"


@pytest.mark.xfail(reason="hostname is not fqdn")
def test_xfail_that_fails(host):
    assert "." in host.check_output("hostname")


@pytest.mark.xfail(reason="sometimes passes", strict=False)
def test_xfail_that_passes(host):
    assert host.exists("sh")


@pytest.mark.xfail(reason="strict: a pass is a failure", strict=True)
def test_xfail_strict_that_passes(host):
    assert host.exists("sh")


@pytest.fixture
def broken_fixture(host):
    host.check_output("cat /fleetcheck-parity-absent")


def test_error_in_a_fixture(host, broken_fixture):
    """Errors on purpose: its fixture fails."""


@pytest.fixture(scope="module")
def broken_module_fixture(host):
    raise RuntimeError("the module-scoped setup broke")


def test_error_in_a_module_fixture(host, broken_module_fixture):
    """Errors on purpose: its module-scoped fixture raises."""


@pytest.mark.parametrize("name", [
    "root",
    pytest.param("fleetcheck-parity-absent", marks=pytest.mark.xfail(reason="no such user")),
    pytest.param("adm", marks=pytest.mark.skip(reason="skipped by its param")),
], ids=["root", "absent", "adm"])
def test_param_marks(host, name):
    assert host.user(name).exists


def test_without_a_host():
    """Not a testinfra test: no host, one item, in every mode."""
    assert 1 + 1 == 2
