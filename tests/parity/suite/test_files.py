"""The file module: existence, type, ownership, mode, content, links."""

import pytest


@pytest.mark.parametrize("path,mode", [
    ("/etc/passwd", 0o644),
    ("/etc/group", 0o644),
    ("/etc/shadow", 0o640),
])
def test_account_file_mode(host, path, mode):
    f = host.file(path)
    assert f.exists
    assert f.is_file
    assert f.user == "root"
    assert f.mode == mode


def test_passwd_lists_root(host, passwd):
    assert host.file("/etc/passwd").contains("^root:x:0:0:")
    assert passwd["root"][5] == "/root"


def test_etc_is_a_directory(host):
    etc = host.file("/etc")
    assert etc.is_directory
    assert not etc.is_file
    assert "passwd" in etc.listdir()


def test_bin_sh_is_a_link_to_a_shell(host):
    sh = host.file("/bin/sh")
    assert sh.is_symlink
    assert sh.linked_to in ("/usr/bin/dash", "/bin/dash", "/usr/bin/bash", "/bin/bash")


def test_checksums_agree_with_the_tools(host):
    f = host.file("/etc/hostname")
    assert f.sha256sum == host.check_output("sha256sum /etc/hostname").split()[0]
    assert f.md5sum == host.check_output("md5sum /etc/hostname").split()[0]
    assert f.size == len(f.content)


def test_a_missing_file(host):
    f = host.file("/nonexistent/parity")
    assert not f.exists
    assert not f.is_file


def test_shadow_is_world_readable(host):
    """Fails on purpose: /etc/shadow is 0640 (root:shadow) on Debian."""
    assert host.file("/etc/shadow").mode & 0o004
