"""The ftp area's lab faults (lab/faults/ftp.py) on web1's real vsftpd, each seen by a
probe and gone once healed; the anonymous login test itself (fleetcheck.probes.ftp)
against the daemon from the controller, to web1's lab address only."""

from __future__ import annotations

import pytest

from fleetcheck.probes.ftp import login_test

pytestmark = pytest.mark.integration

WEB1 = "10.213.47.30"


def anonymous():
    return login_test(WEB1, 21, password="fleetcheck-probe@ftp-test.invalid", timeout=10,
                      allowed=WEB1)


def test_vsftpd_runs_and_refuses_anonymous(healthy, ssh):
    assert ssh.out("web1", "service vsftpd status >/dev/null 2>&1 && echo up").strip() == "up"
    test = anonymous()
    assert test.connected and "vsFTPd" in test.banner, test
    assert test.refused and not test.accepted, test
    assert test.steps[0].startswith("USER anonymous -> 331"), test
    assert test.steps[1].startswith("PASS <harmless address> -> 530"), test
    assert test.steps[-1].startswith("QUIT -> 221"), test


def test_ftp_anonymous_upload(healthy, ssh):
    ssh.toggles("web1", "ftp-anonymous-upload",
                "grep -c '^anon_upload_enable=YES' /etc/vsftpd.conf || true", "0", "1")
    healthy.fault("web1", "ftp-anonymous-upload")
    try:
        test = anonymous()
        assert test.accepted, test
    finally:
        healthy.heal("web1", "ftp-anonymous-upload")
    assert anonymous().refused


def test_ftp_chroot_off(healthy, ssh):
    ssh.toggles("web1", "ftp-chroot-off", "grep '^chroot_local_user=' /etc/vsftpd.conf",
                "chroot_local_user=YES", "chroot_local_user=NO")
    assert anonymous().refused
