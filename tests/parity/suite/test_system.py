"""system_info, sysctl, mount_point, block_device and iptables."""

import pytest


def test_system_info(host, os_release):
    info = host.system_info
    assert info.type == "linux"
    assert info.distribution == os_release["ID"]
    assert info.codename == os_release.get("VERSION_CODENAME")
    assert info.arch


@pytest.mark.parametrize("key,expected", [
    ("kernel.ostype", "Linux"),
    ("net.ipv4.ip_forward", 0),
])
def test_sysctl(host, key, expected):
    assert host.sysctl(key) == expected


def test_an_unknown_sysctl(host):
    """Fails on purpose: `sysctl -n` of an unknown key exits non-zero."""
    assert host.sysctl("kernel.fleetcheck_parity_absent") is None


@pytest.mark.parametrize("path,filesystems", [
    ("/", ("ext4", "xfs", "btrfs", "overlay", "tmpfs", "9p")),
    ("/proc", ("proc",)),
])
def test_mount_point(host, path, filesystems):
    mount = host.mount_point(path)
    assert mount.exists
    assert mount.filesystem in filesystems
    assert mount.options


def test_mount_points_include_the_root(host):
    assert "/" in [m.path for m in host.mount_point.get_mountpoints()]


def test_an_absent_mount_point(host):
    assert not host.mount_point("/fleetcheck-parity-absent").exists


def first_block_device(host):
    for name in host.run("ls /sys/block").stdout.split():
        if not name.startswith(("loop", "ram", "zram")):
            return f"/dev/{name}"
    return None


def test_block_device(host):
    device = first_block_device(host)
    # blockdev --report prints its header and exits 0 even when it cannot open the device
    if device is None or len(host.run("blockdev --report %s", device).stdout.splitlines()) < 2:
        pytest.skip("no block device that blockdev can read")
    disk = host.block_device(device)
    assert disk.size > 0
    assert not disk.is_partition


def test_an_absent_block_device(host):
    with pytest.raises(RuntimeError, match="No data from"):
        host.block_device("/dev/fleetcheck-parity-absent").size


def test_iptables_input_policy(host):
    if not host.exists("iptables"):
        pytest.skip("iptables is not installed")
    with host.sudo():
        rules = host.iptables.rules("filter", "INPUT")
    assert rules[0].startswith("-P INPUT ")
