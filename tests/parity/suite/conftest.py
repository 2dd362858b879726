"""Fixtures of a testinfra suite, built on testinfra's `host` fixture.

`host` is module-scoped in pytest-testinfra: fixtures built on it are module-scoped
where they read something that does not change during a module (the OS release, the
listening sockets), function-scoped where each test wants its own look.
"""

import pytest


@pytest.fixture(scope="module")
def os_release(host):
    """/etc/os-release as a dict (module-scoped: read once per module and host)."""
    release = {}
    for line in host.file("/etc/os-release").content_string.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            release[key] = value.strip().strip('"')
    return release


@pytest.fixture(scope="module")
def listening(host):
    """The TCP sockets listening on the host (module-scoped)."""
    return [spec for spec in host.socket.get_listening_sockets() if spec.startswith("tcp://")]


@pytest.fixture
def passwd(host):
    """/etc/passwd entries by user name."""
    entries = {}
    for line in host.file("/etc/passwd").content_string.splitlines():
        fields = line.split(":")
        entries[fields[0]] = fields
    return entries


@pytest.fixture
def ip_command(host):
    """The host's `ip`, or skip: the interface and addr modules need iproute2."""
    if not host.exists("ip"):
        pytest.skip("iproute2 is not installed")
    return host.find_command("ip")
