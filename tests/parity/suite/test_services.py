"""The service module: systemd, SysV or whatever the host runs."""

import pytest

INIT_SCRIPTS = ["ssh", "cron", "procps", "dbus"]


@pytest.mark.parametrize("name", INIT_SCRIPTS)
def test_service_state_matches_its_init_script(host, name):
    if not host.file(f"/etc/init.d/{name}").exists:
        pytest.skip(f"{name} is not installed")
    service = host.service(name)
    assert service.is_valid
    assert isinstance(service.is_running, bool)


def test_an_unknown_service_is_not_running(host):
    service = host.service("fleetcheck-parity-absent")
    assert not service.is_running
    assert not service.is_enabled


def test_an_unknown_service_is_valid(host):
    """Fails on purpose: there is no such unit or init script."""
    assert host.service("fleetcheck-parity-absent").is_valid
