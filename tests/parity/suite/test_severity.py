"""Severity marks for fleetcheck's records of these tests: the module's pytestmark, a
class's, a test's own (to plain pytest-testinfra, marks that change nothing)."""

import pytest

pytestmark = pytest.mark.severity("high")


def test_module_mark(host):
    assert host.file("/etc/passwd").exists


@pytest.mark.severity("critical")
def test_own_mark(host):
    assert host.user("root").uid == 0


@pytest.mark.severity("low")
class TestClassMark:
    def test_method(self, host):
        assert host.group("root").exists

    @pytest.mark.severity("info")
    def test_method_mark(self, host):
        assert not host.group("fleetcheck-parity-absent").exists
