"""The listening and timesync facts beyond their fixtures: address forms the captures
here do not show, the chronyc parser on its own, and the timesync command on a host
with neither timedatectl nor chronyc (this one)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from fleetcheck.facts import listening, timesync
from fleetcheck.facts.base import FactError, ParseError, default_from_result

# Written for the suite after ss's format (iproute2 6.1 puts the interface after the
# brackets; the form inside them is read too).
ZONES = (
    'udp UNCONN 0 0 [fe80::1]%eth0:123 [::]:* users:(("chronyd",pid=612,fd=7))\n'
    'udp UNCONN 0 0 [fe80::1%eth0]:123 [::]:*\n'
    'udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=401,fd=13))\n'
)


def test_commands():
    assert listening.command({}).render() == "ss -H -tulpn"
    assert timesync.command({}).render().startswith("sh -c ")


def test_interface_names_both_forms():
    sockets = listening.parse(ZONES).sockets
    assert [(s.address, s.interface, s.port) for s in sockets] == [
        ("fe80::1", "eth0", 123), ("fe80::1", "eth0", 123), ("127.0.0.53", "lo", 53)]
    assert [p.name for p in sockets[2].processes] == ["systemd-resolve"]
    assert sockets[1].processes == []


@pytest.mark.parametrize("line, message", [
    ("tcp LISTEN 0 128 [::1:22 [::]:*", "expected [IPV6]:PORT"),
    ("tcp LISTEN 0 128 0.0.0.0:70000 0.0.0.0:*", "above 65535"),
    ("tcp LISTEN 0 128 ::1:22 [::]:*", "not an IPv4 address"),
    ("tcp LISTEN 0 128 [0.0.0.0]:22 [::]:*", "not an IPv6 address"),
    ("tcp LISTEN 0 128 [fe80::1%a]%b:22 [::]:*", "two interface names"),
    ('tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3),)', "between"),
    ("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:()", "without a process"),
    ("raw UNCONN 0 0 0.0.0.0:1 0.0.0.0:*", "expected tcp or udp"),
])
def test_listening_errors_name_the_line(line, message):
    with pytest.raises(ParseError, match="line 2: .*" + re.escape(message)):
        listening.parse("\n" + line + "\n")


def test_chronyc_tracking_alone():
    # written for the suite after chronyc(1)'s -c format (chronyc is not installed here)
    t = timesync.parse_chronyc_tracking(
        "C0A80101,ntp1.example.net,2,1733220942.1,+0.000500000,0.0,0.0,-1.5,0.0,0.0,"
        "0.02,0.001,64.0,Insert second\n")
    assert (t.stratum, t.offset, t.leap_status, t.synchronized) == (
        2, 0.0005, "Insert second", True)
    with pytest.raises(ParseError, match="line 1: expected 14 comma-separated fields"):
        timesync.parse_chronyc_tracking("C0A80101,x,2\n")
    with pytest.raises(ParseError, match="line 1: unknown leap status"):
        timesync.parse_chronyc_tracking("C0A80101,x,2" + ",0" * 10 + ",Unsynchronized\n")


def test_timedatectl_errors():
    with pytest.raises(ParseError, match="line 2: NTP= expected yes or no"):
        timesync.parse("NTPSynchronized=yes\nNTP=maybe\n")
    with pytest.raises(ParseError, match="line 1: no NTPSynchronized="):
        timesync.parse("")
    with pytest.raises(ParseError, match="line 2: NTP= again"):
        timesync.parse("NTP=yes\nNTP=no\nNTPSynchronized=yes\n")


@pytest.mark.skipif(shutil.which("chronyc") is not None, reason="chronyc is installed")
def test_timesync_command_without_timedatectl_or_chronyc_is_a_fact_error():
    """On a host where timedatectl does not answer (no systemd as init) and chronyc is
    missing, like the one these facts were written on."""
    if subprocess.run(["sh", "-c", "timedatectl show >/dev/null 2>&1"]).returncode == 0:
        pytest.skip("timedatectl show answers here")
    cmd = timesync.command({})
    proc = subprocess.run(cmd.render(), shell=True, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 127 and proc.stdout == ""
    with pytest.raises(FactError, match="neither timedatectl show nor chronyc"):
        default_from_result(timesync.parse, cmd, proc.returncode, proc.stdout, proc.stderr)
