"""The dhcp area's lab faults (dhcp.config_valid). ISC dhcpd runs on the hosts whose
inventory declares `dhcp.config_valid` with `running: true` (app1) with a dhcpd.conf
rendered from the declared subnets and ranges (host_files): it serves eth0 only, the
host's one link, which is on the lab's bridge (`dhcpd ... eth0`, and INTERFACESv4="eth0"
in /etc/default/isc-dhcp-server for Debian's init script, which a fix's `service
isc-dhcp-server start` runs), so it can never answer outside the lab; nothing in the lab
asks it for a lease. The range (10.213.47.240-249) is one no lab host uses (the plain
hosts end at .220, .250 is the lab's dead address). dhcpd is not listed in the host's
`services`: dhcp.config_valid judges it running, so a stopped dhcpd fails one check.
Every other host has isc-dhcp-server and kea-dhcp4-server installed (one rootfs) with
their stock configurations, and runs neither."""

from __future__ import annotations

import ipaddress

from .. import render
from .base import Fault

DHCPD_CONF = "/etc/dhcp/dhcpd.conf"
DEFAULTS = "/etc/default/isc-dhcp-server"
PIDFILE = "/run/dhcpd.pid"          # Debian's init script's (/var/run is /run)
SERVICE = "isc-dhcp-server"
INTERFACE = "eth0"                  # the host's link on the lab's bridge, and only it
TYPO = ("default-lease-time 600;", "default-lease-tme 600;")

SERVICES = {
    SERVICE: render.LabService(
        process="dhcpd", pidfile=PIDFILE,
        start="touch /var/lib/dhcp/dhcpd.leases && "
              f"/usr/sbin/dhcpd -4 -q -cf {DHCPD_CONF} -pf {PIDFILE} {INTERFACE}",
        # dhcpd has no reload: a restart reads the file again
        reload=f'"$0" restart {SERVICE}'),
}

FAULTS = {
    "dhcpd-config-error": Fault("app", "a typo in dhcpd.conf (default-lease-tme), dhcpd not "
                                "restarted: the running server keeps its old configuration, "
                                "dhcpd -t fails (the next restart would)",
                                "dhcp.config_valid", False),
    "dhcp-range-removed": Fault("app", "the declared range deleted from the lab subnet's "
                                "declaration, dhcpd restarted: it serves no dynamic address",
                                "dhcp.config_valid", False),
    "dhcpd-stopped": Fault("app", "dhcpd is stopped (the inventory declares "
                           "dhcp.config_valid.running: true)", "dhcp.config_valid", True),
}


def runs_dhcpd(h) -> bool:
    conf = (h.vars.get("dhcp") or {}).get("config_valid") or {}
    return conf.get("running") is True and conf.get("server") in ("isc", None)


def dhcpd_conf(h, without_ranges: bool = False) -> str:
    """The lab's dhcpd.conf: the declared subnets with their ranges (none with
    `without_ranges`: the dhcp-range-removed fault)."""
    conf = (h.vars.get("dhcp") or {}).get("config_valid") or {}
    out = [f"# fleetcheck lab (lab/faults/dhcp.py): ISC dhcpd on {h.name}, serving the lab's",
           f"# bridge only ({INTERFACE}); nothing in the lab asks it for a lease",
           TYPO[0], "max-lease-time 7200;", "ddns-update-style none;",
           'option domain-name "lab.test";']
    for entry in conf.get("subnets") or []:
        net = ipaddress.IPv4Network(str(entry["subnet"]))
        out += ["", f"subnet {net.network_address} netmask {net.netmask} {{"]
        if not without_ranges:
            out += [f"  range {r};" for r in entry.get("ranges") or []]
        out.append("}")
    return "\n".join(out) + "\n"


def host_files(lab, h) -> dict[str, str]:
    """dhcpd.conf and the init script's defaults on the hosts that run dhcpd."""
    if not runs_dhcpd(h):
        return {}
    return {DHCPD_CONF: dhcpd_conf(h),
            DEFAULTS: "# fleetcheck lab: the lab's bridge only\n"
                      f'INTERFACESv4="{INTERFACE}"\nINTERFACESv6=""\n'}


def _restart(lab, h) -> None:
    lab.exec(h.name, ["labsvc", "restart", SERVICE], check=True)


def _dhcpd_config_error(lab, h, heal):
    if heal:
        lab.put_file(h.name, DHCPD_CONF, dhcpd_conf(h))
        _restart(lab, h)     # a fix never ran: the daemon runs the healthy file again
    else:
        lab.put_file(h.name, DHCPD_CONF, dhcpd_conf(h).replace(*TYPO, 1))


def _dhcp_range_removed(lab, h, heal):
    lab.put_file(h.name, DHCPD_CONF, dhcpd_conf(h, without_ranges=not heal))
    _restart(lab, h)


def _dhcpd_stopped(lab, h, heal):
    lab.exec(h.name, ["labsvc", "start" if heal else "stop", SERVICE], check=True)
