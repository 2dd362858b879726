"""The package module (dpkg on Debian)."""

import pytest

# fleetcheck's records of this module's tests: severity low (plain testinfra ignores it)
fleetcheck_severity = "low"


@pytest.mark.parametrize("name", ["dpkg", "coreutils", "bash"])
def test_essential_package_is_installed(host, name):
    pkg = host.package(name)
    assert pkg.is_installed
    assert pkg.version


def test_dpkg_version_is_bookworms(host, os_release):
    if os_release.get("VERSION_CODENAME") != "bookworm":
        pytest.skip("not Debian 12")
    assert host.package("dpkg").version.startswith("1.21.")


def test_an_absent_package(host):
    assert not host.package("fleetcheck-parity-absent").is_installed


def test_version_of_an_absent_package(host):
    """Fails on purpose: testinfra asserts dpkg-query's exit code."""
    assert host.package("fleetcheck-parity-absent").version == ""
