"""The vpn area's lab faults (vpn.openvpn). OpenVPN runs on the file server (files1:
the office's way in to its shares) as Debian starts it without systemd:
`/etc/init.d/openvpn start lab` (start-stop-daemon, --cd /etc/openvpn --config
/etc/openvpn/lab.conf, pid file /run/openvpn/lab.pid), a real tun device in files1's
network namespace (the launcher makes /dev/net/tun). Its file is what an admin
writes for OpenVPN 2.6: UDP 1194, a certificate of the lab CA (lab/faults/web.py) for
files1.lab.test, `dh none` (ECDHE), tls-crypt with a key made once in
lab/state/vpn/, AEAD ciphers only, TLS 1.2 at least, privileges dropped to nobody. The
VPN's own subnet (10.213.90.0/24) lives inside files1's namespace only: no client is
ever started, nothing is routed out of the lab.

The faults are an admin's edits of the real file and a stop: a typo in an option name,
then a restart (the daemon exits: openvpn refuses the file); tls-crypt dropped while
"debugging" a client, then a restart; the instance stopped (`/etc/init.d/openvpn stop
lab`), which --remediate starts again."""

from __future__ import annotations

import os
from pathlib import Path

from .. import render
from .base import Fault
from .web import issue

GROUP = "fileservers"
NAME = "lab"
CONF = f"/etc/openvpn/{NAME}.conf"
KEYS = "/etc/openvpn/lab"
INIT = "/etc/init.d/openvpn"
SUBNET, SERVER = "10.213.90.0/24", "10.213.90.0 255.255.255.0"  # inside files1 only
TYPO = "data-cipher AES-256-GCM\n"      # an admin's typo of data-ciphers
TLS_CRYPT = "tls-crypt lab/tc.key\n"
HEALTHY_CONF = f"""# fleetcheck lab (lab/faults/vpn.py): the office's VPN into files1
port 1194
proto udp
dev tun
ca lab/ca.crt
cert lab/server.crt
key lab/server.key
dh none
{TLS_CRYPT}topology subnet
server {SERVER}
keepalive 10 60
data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305
tls-version-min 1.2
user nobody
group nogroup
persist-key
persist-tun
verb 1
"""

FAULTS = {
    "openvpn-config-error": Fault(GROUP, "a typo in /etc/openvpn/lab.conf (data-cipher for "
                                  "data-ciphers), the instance restarted: openvpn refuses "
                                  "the file and does not run", "vpn.openvpn", False),
    "openvpn-no-tls-crypt": Fault(GROUP, "the tls-crypt line removed from "
                                  "/etc/openvpn/lab.conf, the instance restarted: anyone "
                                  "who reaches udp/1194 gets a TLS handshake",
                                  "vpn.openvpn", False),
    "openvpn-stopped": Fault(GROUP, f"`{INIT} stop {NAME}`: the declared instance does not "
                             "run", "vpn.openvpn", True),
}

SERVICES = {
    "openvpn": render.LabService(process="openvpn", pidfile=f"/run/openvpn/{NAME}.pid",
                                 start=f"{INIT} start {NAME} >/dev/null 2>&1"),
}


def tls_crypt_key(lab) -> str:
    """The lab's tls-crypt key (OpenVPN's static key format: 2048 random bits in hex),
    made once in lab/state/vpn/."""
    path = Path(lab.state_dir) / "vpn" / "tc.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = os.urandom(256).hex()
        body = "".join(raw[i:i + 32] + "\n" for i in range(0, len(raw), 32))
        path.write_text("#\n# 2048 bit OpenVPN static key (fleetcheck lab)\n#\n"
                        "-----BEGIN OpenVPN Static key V1-----\n" + body
                        + "-----END OpenVPN Static key V1-----\n")
        path.chmod(0o600)
    return path.read_text()


def host_files(lab, h) -> dict[str, str]:
    """The VPN server's file, certificate, key and tls-crypt key on files1."""
    if not h.has(GROUP):
        return {}
    cert, key = issue(lab, (f"{h.name}.lab.test",), days=365)
    ca = (Path(lab.state_dir) / "web" / "ca.pem").read_text()
    return {CONF: HEALTHY_CONF, f"{KEYS}/ca.crt": ca, f"{KEYS}/server.crt": cert,
            f"{KEYS}/server.key": key, f"{KEYS}/tc.key": tls_crypt_key(lab)}


def _restart(lab, h) -> None:
    lab.sh(h.name, f"{INIT} stop {NAME} >/dev/null 2>&1; {INIT} start {NAME} >/dev/null 2>&1; "
                   "true")


def _openvpn_config_error(lab, h, heal):
    lab.put_file(h.name, CONF, HEALTHY_CONF if heal else HEALTHY_CONF + TYPO)
    _restart(lab, h)


def _openvpn_no_tls_crypt(lab, h, heal):
    lab.put_file(h.name, CONF, HEALTHY_CONF if heal else HEALTHY_CONF.replace(TLS_CRYPT, ""))
    _restart(lab, h)


def _openvpn_stopped(lab, h, heal):
    lab.sh(h.name, f"{INIT} {'start' if heal else 'stop'} {NAME} >/dev/null 2>&1; true")
