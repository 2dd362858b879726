"""sysctl: canonical keys (procps's dotted form), values of several lines, the command.

Real captures: tests/fixtures/facts/sysctl (kernel.core_modes, three lines; a slash
key; an interface named veth0.100). The dev.cdrom.info text below is constructed
(no CD-ROM drive on the capture machine): its lines follow the kernel's
cdrom_sysctl_info() in drivers/cdrom/cdrom.c, printed by procps one `key = line` each.
"""

from __future__ import annotations

import pytest

from fleetcheck.facts import sysctl
from fleetcheck.facts.base import ParseError


@pytest.mark.parametrize("key, dotted", [
    ("net.ipv4.tcp_syncookies", "net.ipv4.tcp_syncookies"),
    ("net/ipv4/tcp_syncookies", "net.ipv4.tcp_syncookies"),
    ("net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter"),
    ("net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0/100.rp_filter"),
    ("kernel", "kernel"),
    ("", ""),
])
def test_canonical_key(key, dotted):
    assert sysctl.canonical_key(key) == dotted
    assert sysctl.canonical_key(dotted) == dotted  # idempotent


def test_slash_and_dot_forms_are_one_key():
    parsed = sysctl.parse("net.ipv4.tcp_syncookies = 1\n")
    assert parsed.values[sysctl.canonical_key("net/ipv4/tcp_syncookies")] == "1"
    assert sysctl.parse("net/ipv4/tcp_syncookies = 1\n").values == {
        "net.ipv4.tcp_syncookies": "1"}


CDROM = ("dev.cdrom.autoclose = 1\n"
         "dev.cdrom.info = CD-ROM information, Id: cdrom.c 3.20 2003/12/17\n"
         "dev.cdrom.info = \n"
         "dev.cdrom.info = drive name:\t\tsr0\n"
         "dev.cdrom.info = drive speed:\t\t1\n"
         "dev.cdrom.info = drive # of slots:\t1\n"
         "dev.cdrom.info = Can close tray:\t\t1\n"
         "dev.cdrom.info = \n"
         "dev.cdrom.info = \n"
         "dev.cdrom.lock = 1\n")


def test_a_value_of_several_lines_keeps_every_line():
    values = sysctl.parse(CDROM).values
    assert values["dev.cdrom.info"] == ("CD-ROM information, Id: cdrom.c 3.20 2003/12/17\n"
                                        "\n"
                                        "drive name:\t\tsr0\n"
                                        "drive speed:\t\t1\n"
                                        "drive # of slots:\t1\n"
                                        "Can close tray:\t\t1\n"
                                        "\n")
    assert list(values) == ["dev.cdrom.autoclose", "dev.cdrom.info", "dev.cdrom.lock"]


def test_an_empty_line_of_a_value_without_its_blank():
    assert sysctl.parse("kernel.x = a\nkernel.x =\nkernel.x = b\n").values == {
        "kernel.x": "a\n\nb"}


def test_a_key_printed_again_later_is_the_later_value():
    assert sysctl.parse("a.b = 1\nc.d = 2\na.b = 3\n").values == {"a.b": "3", "c.d": "2"}


def test_not_a_key_value_line():
    with pytest.raises(ParseError, match="line 2"):
        sysctl.parse("a.b = 1\nsysctl: cannot stat /proc/sys/x: No such file or directory\n")
    with pytest.raises(ParseError, match="line 1"):
        sysctl.parse("a.b =x\n")


def test_command_asks_for_one_key_once():
    cmd = sysctl.command({}, ("net/ipv4/tcp_syncookies", "net.ipv4.tcp_syncookies",
                              "kernel.ostype"))
    assert cmd.render() == "sysctl -e -- net/ipv4/tcp_syncookies kernel.ostype"
