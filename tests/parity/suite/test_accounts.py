"""The user and group modules, in classes as many suites group them."""

import pytest


class TestRoot:
    def test_uid_and_home(self, host):
        root = host.user("root")
        assert root.exists
        assert root.uid == 0
        assert root.gid == 0
        assert root.home == "/root"

    def test_shell_is_installed(self, host):
        shell = host.user("root").shell
        assert host.file(shell).exists

    def test_in_its_group(self, host):
        assert "root" in host.user("root").groups
        assert host.group("root").gid == 0


@pytest.mark.parametrize("name", ["nobody", "daemon"])
class TestSystemUsers:
    def test_exists(self, host, name):
        assert host.user(name).exists

    def test_has_no_login_shell(self, host, name):
        assert host.user(name).shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")

    def test_matches_passwd(self, host, passwd, name):
        assert int(passwd[name][2]) == host.user(name).uid


class TestGroups:
    @pytest.mark.parametrize("name", ["root", "nogroup", "adm"])
    def test_exists(self, host, name):
        assert host.group(name).exists

    def test_an_unknown_group(self, host):
        assert not host.group("fleetcheck-parity-absent").exists

    def test_uid_of_an_unknown_user(self, host):
        """Fails on purpose: `id -u` of an unknown user exits 1."""
        assert host.user("fleetcheck-parity-absent").uid is None
