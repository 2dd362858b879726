"""A module that overrides `host` with a fixture of the same name built on testinfra's
(the parent `host`): it prepares the host once for the module and cleans up after."""

import pytest


@pytest.fixture(scope="module")
def host(host):
    scratch = host.check_output("mktemp -d")
    host.scratch = scratch
    yield host
    host.run("rm -rf -- %s", scratch)


def test_scratch_directory(host):
    scratch = host.file(host.scratch)
    assert scratch.is_directory
    assert scratch.user == host.user().name


def test_wrapped_host_runs_commands(host):
    assert host.check_output("echo %s", "wrapped") == "wrapped"
