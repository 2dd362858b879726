"""The proxy area's lab faults (proxy.*). Squid runs on the app hosts (app1) with the
lab's squid.conf (host_files): port 3128, the acl `lab_clients` holding the inside
client only (the controller's own address, 10.213.47.1: the networks come from the
host's `proxy_squid.acl` in the inventory), everything else denied. The controller is
also an outside client: the lab gives its bridge a second address in the lab subnet
(`lab_controller_extra_addresses`, 10.213.47.2; it goes with the bridge at down), and
the probe binds its request to one or the other.

The URL asked through the proxy is web1's www.lab.test vhost (http://www.lab.test:8080/).
The lab's DNS has no record for the vhost names (web.* reaches them by Host header):
Squid's own `hosts_file` names web1's address for them, and every other name Squid
resolves through the lab's nameservers (resolv.conf); the lab hosts have no route out.

Faults: a misspelt directive (`http_acess`, Squid's ERROR: unrecognized; not
reconfigured, the running Squid keeps its old configuration), the acl widened to the
lab subnet (the outside client is served), and the acl's address mistyped (the inside
client is refused); the last two are reconfigured (`squid -k reconfigure`)."""

from __future__ import annotations

from .. import render
from .base import Fault

GROUP = "app"
CONF = "/etc/squid/squid.conf"
HOSTS = "/etc/squid/lab-hosts"
ACL = "lab_clients"
DEFAULT_NETWORKS = ("10.213.47.1/32",)
WIDE = "10.213.47.0/24"              # proxy-open: the whole lab subnet
MISTYPED = "10.213.74.1/32"          # proxy-denies-inside: two digits swapped
TYPO = ("http_access deny all", "http_acess deny all")

SERVICES = {
    "squid": render.LabService(
        process="squid", pidfile="/run/squid.pid",
        start="/usr/sbin/squid -f /etc/squid/squid.conf",
        reload="/usr/sbin/squid -k reconfigure -f /etc/squid/squid.conf"),
}

FAULTS = {
    "squid-config-error": Fault(GROUP, "a misspelt directive in squid.conf (http_acess "
                                "deny all), not reconfigured: squid -k parse reports an "
                                "ERROR, the running Squid keeps its old configuration",
                                "proxy.squid", False),
    "proxy-open": Fault(GROUP, f"acl {ACL} widened to {WIDE}, squid -k reconfigure: the "
                        "outside client is served", "proxy.squid", True),
    "proxy-denies-inside": Fault(GROUP, f"acl {ACL} mistyped as {MISTYPED}, squid -k "
                                 "reconfigure: the inside client is refused",
                                 "proxy.squid", True),
}


def networks(h) -> list[str]:
    """The inside networks: the host's declared proxy_squid.acl.lab_clients."""
    squid = h.vars.get("proxy_squid") or {}
    return [str(n) for n in ((squid.get("acl") or {}).get(ACL) or DEFAULT_NETWORKS)]


def squid_conf(h, nets: list[str] | None = None, typo: bool = False) -> str:
    rules = "http_access deny all\n"
    if typo:
        rules = rules.replace(*TYPO)
    return f"""# fleetcheck lab (lab/faults/proxy.py): Squid on {h.name}; only {ACL} may use it
acl {ACL} src {' '.join(nets or networks(h))}
acl SSL_ports port 443
acl Safe_ports port 80
acl Safe_ports port 443
acl Safe_ports port 1025-65535
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow localhost manager
http_access deny manager
http_access allow localhost
http_access allow {ACL}
{rules}http_port 3128
visible_hostname {h.name}.lab.test
hosts_file {HOSTS}
pid_filename /run/squid.pid
cache_log /var/log/squid/cache.log
access_log daemon:/var/log/squid/access.log squid
logfile_rotate 0
cache deny all
coredump_dir /var/spool/squid
shutdown_lifetime 1 seconds
pinger_enable off
# no pooled connections to web1: one that died with a link flap would answer
# the next request with ERR_READ_ERROR
server_persistent_connections off
"""


def _hosts(lab) -> str:
    web = lab.inv.with_role("web")
    lines = "".join(f"{w.address}\twww.lab.test app.lab.test\n" for w in web[:1])
    return "127.0.0.1\tlocalhost\n" + lines


def host_files(lab, h) -> dict[str, str]:
    """The lab's squid.conf and Squid's hosts file on the hosts that run Squid (app)."""
    return {CONF: squid_conf(h), HOSTS: _hosts(lab)} if h.has(GROUP) else {}


def _set(lab, h, content: str, reconfigure: bool = True) -> None:
    """squid.conf written; reconfigured as the fix does (waiting until Squid accepts
    again)."""
    from fleetcheck.remediate.proxy import DEFAULT_CACHE_LOG, RECONFIGURE

    lab.put_file(h.name, CONF, content)
    if reconfigure:
        lab.exec(h.name, ["sh", "-c", RECONFIGURE, "sh", CONF, DEFAULT_CACHE_LOG],
                 check=True)


def _squid_config_error(lab, h, heal):
    _set(lab, h, squid_conf(h, typo=not heal), reconfigure=heal)


def _proxy_open(lab, h, heal):
    _set(lab, h, squid_conf(h, None if heal else [WIDE]))


def _proxy_denies_inside(lab, h, heal):
    _set(lab, h, squid_conf(h, None if heal else [MISTYPED]))
