"""The mail area's lab faults (mail.*). Postfix runs on the app hosts (app1) with the
lab's main.cf (host_files): named app1.lab.test, listening on every interface,
mynetworks loopback only, and no mail ever leaving the lab: whatever is not for the
host itself goes to [10.213.47.250], a lab address where nothing listens (it waits in
the deferred queue). Debian's master.cf runs the daemons chrooted in
/var/spool/postfix: the start copies the files Debian's init script copies there first.
The other hosts have the package installed but do not run it."""

from __future__ import annotations

from .. import render
from .base import Fault

MAIN_CF = "/etc/postfix/main.cf"
DEAD_RELAY = "10.213.47.250"       # a lab address where nothing listens
MYNETWORKS = "127.0.0.0/8"
RELAY_RESTRICTIONS = "permit_mynetworks permit_sasl_authenticated defer_unauth_destination"
STUCK = 10                         # messages the stuck queue holds
HEALTHY_MAIN_CF = f"""# fleetcheck lab (lab/faults/mail.py): Postfix on app1; nothing leaves the lab
compatibility_level = 3.6
myhostname = app1.lab.test
mydomain = lab.test
myorigin = $myhostname
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = all
inet_protocols = ipv4
mynetworks = {MYNETWORKS}
smtpd_relay_restrictions = {RELAY_RESTRICTIONS}
smtpd_helo_required = yes
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
recipient_delimiter = +
mailbox_size_limit = 0
# every message for elsewhere waits for a relay that never answers
relayhost = [{DEAD_RELAY}]
"""
CHROOT_FILES = "localtime hosts services resolv.conf nsswitch.conf host.conf"
SERVICES = {
    "postfix": render.LabService(
        process="master", pidfile="/var/spool/postfix/pid/master.pid",
        start="mkdir -p /var/spool/postfix/etc && "
              f"for f in {CHROOT_FILES}; do [ -e /etc/$f ] && "
              "cp -fL /etc/$f /var/spool/postfix/etc/$f; done; "
              "newaliases; postfix start >/dev/null 2>&1",
        reload="postfix reload >/dev/null 2>&1"),
}

FAULTS = {
    "open-relay": Fault("app", "mynetworks = 0.0.0.0/0 (postconf -e, postfix reload): "
                        "Postfix relays for every client", "mail.open_relay", True),
    "mail-queue-stuck": Fault("app", f"{STUCK} messages for outside.invalid wait in the "
                              f"queue: the relay host [{DEAD_RELAY}] does not answer",
                              "mail.queue", False),
    "postfix-config-error": Fault("app", "a misspelt main.cf parameter "
                                  "(smtpd_helo_requierd = yes), postfix reload: postconf "
                                  "warns 'unused parameter', HELO is no longer required",
                                  "mail.postfix", False),
}


def host_files(lab, h) -> dict[str, str]:
    """The lab's main.cf on the hosts that run Postfix (group app)."""
    return {MAIN_CF: HEALTHY_MAIN_CF} if h.has("app") else {}


def _restore(lab, h) -> None:
    lab.put_file(h.name, MAIN_CF, HEALTHY_MAIN_CF)
    lab.sh(h.name, "postfix reload >/dev/null 2>&1")


def _open_relay(lab, h, heal):
    if heal:
        _restore(lab, h)
    else:
        lab.sh(h.name, "postconf -e 'mynetworks = 0.0.0.0/0' && postfix reload >/dev/null 2>&1")


def _mail_queue_stuck(lab, h, heal):
    lab.sh(h.name, "postsuper -d ALL >/dev/null 2>&1 || true")
    if not heal:
        lab.sh(h.name, f"for i in $(seq {STUCK}); do printf 'Subject: lab %s\\n\\nstuck\\n' $i "
                       f"| sendmail -f root@{h.name}.lab.test stuck$i@outside.invalid; done; "
                       "sleep 1")


def _postfix_config_error(lab, h, heal):
    if heal:
        _restore(lab, h)
    else:
        lab.sh(h.name, "sed -i 's/^smtpd_helo_required = yes$/smtpd_helo_requierd = yes/' "
                       f"{MAIN_CF} && postfix reload >/dev/null 2>&1")
