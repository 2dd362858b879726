"""A module that defines `host` itself, from testinfra's API: its tests use this host
whatever --hosts or --inventory says (and they are not testinfra-parametrized)."""

import pytest
import testinfra


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("local://")


def test_local_root(host):
    assert host.user().name == host.check_output("id -un")


def test_local_file(host):
    assert host.file("/etc/passwd").is_file
