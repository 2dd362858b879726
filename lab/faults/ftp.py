"""The ftp area's lab faults (ftp.vsftpd). vsftpd runs on the web host (web1: FTP
uploads for the websites) with the lab's vsftpd.conf (host_files): Debian's settings,
standalone on IPv4 only (listen=YES, listen_ipv6=NO), local users who may write and
are chrooted to their home, no anonymous login. It is started as Debian starts it
(/etc/init.d/vsftpd: start-stop-daemon makes its pid file), so `service vsftpd
restart`, the fix's restart, and labsvc agree. The other hosts have the package and
Debian's file (listen=NO) and do not run it.

The faults are an admin's edits of the real file, then `service vsftpd restart`:
anonymous uploads opened for a partner (anonymous_enable, anon_upload_enable), and the
chroot of local users turned off."""

from __future__ import annotations

from .. import render
from .base import Fault

GROUP = "web"
CONF = "/etc/vsftpd.conf"
RESTART = "service vsftpd restart >/dev/null 2>&1"
HEALTHY_CONF = """# fleetcheck lab (lab/faults/ftp.py): vsftpd on web1, FTP uploads for the websites
listen=YES
listen_ipv6=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
dirmessage_enable=YES
use_localtime=YES
xferlog_enable=YES
connect_from_port_20=YES
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
rsa_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
rsa_private_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
ssl_enable=NO
# each audit's login test is one failed login: no delay after it in the lab (vsftpd's
# own 1 s here, pam_unix's 2 s in PAM_CONF)
delay_failed_login=0
"""
PAM = "/etc/pam.d/vsftpd"
# Debian's /etc/pam.d/vsftpd with common-auth's lines in place of its @include, and
# pam_unix's `nodelay`: the same stack, without the 2 s after a failed login
PAM_CONF = """# fleetcheck lab (lab/faults/ftp.py): Debian's vsftpd stack, pam_unix nodelay
auth	required	pam_listfile.so item=user sense=deny file=/etc/ftpusers onerr=succeed
@include common-account
@include common-session
auth	[success=1 default=ignore]	pam_unix.so nullok nodelay
auth	requisite			pam_deny.so
auth	required			pam_permit.so
auth	required	pam_shells.so
"""

FAULTS = {
    "ftp-anonymous-upload": Fault(GROUP, "anonymous_enable=YES, anon_upload_enable=YES "
                                  "(write_enable=YES) in vsftpd.conf, vsftpd restarted: "
                                  "anyone logs in and uploads", "ftp.vsftpd", True),
    "ftp-chroot-off": Fault(GROUP, "chroot_local_user=NO in vsftpd.conf (declared YES), "
                            "vsftpd restarted: local users see the whole filesystem",
                            "ftp.vsftpd", True),
}

SERVICES = {
    "vsftpd": render.LabService(
        process="vsftpd", pidfile="/run/vsftpd/vsftpd.pid",
        start="/etc/init.d/vsftpd start >/dev/null 2>&1"),
}


def host_files(lab, h) -> dict[str, str]:
    """The lab's vsftpd.conf and vsftpd PAM stack on the hosts that run vsftpd (group
    web)."""
    return {CONF: HEALTHY_CONF, PAM: PAM_CONF} if h.has(GROUP) else {}


def _restart(lab, h, edit: str = "") -> None:
    """An edit of the file (if any), `service vsftpd restart`, and a wait until vsftpd
    listens again: the init script returns before the new daemon's listen()."""
    lab.sh(h.name, f"{edit} && {RESTART}" if edit else RESTART)
    lab.wait_port(h.address, 21, timeout=30)


def _restore(lab, h) -> None:
    lab.put_file(h.name, CONF, HEALTHY_CONF)
    _restart(lab, h)


def _ftp_anonymous_upload(lab, h, heal):
    if heal:
        _restore(lab, h)
    else:
        _restart(lab, h, "sed -i -e 's/^anonymous_enable=NO$/anonymous_enable=YES/' "
                         "-e 's/^write_enable=.*/write_enable=YES/' "
                         f"-e '$a anon_upload_enable=YES' {CONF}")


def _ftp_chroot_off(lab, h, heal):
    if heal:
        _restore(lab, h)
    else:
        _restart(lab, h, f"sed -i 's/^chroot_local_user=YES$/chroot_local_user=NO/' {CONF}")
