"""The network area's lab faults (net.*). Every lab host has its own network and UTS
namespace, so all four are real: a second interface (fc0, one end of a veth pair whose
peer fc0p stays in the host: this kernel has no dummy links) made at boot with its
address and MTU, a declared null route (blackhole 10.213.99.0/24: a route through eth0
would vanish with the link-down fault's `ip link set eth0 down` and not come back with
its heal), the resolvers of /etc/resolv.conf and the host's name."""

from __future__ import annotations

from .base import ANY, Fault

BOOT = "/etc/fleetcheck-lab/boot.d/net.sh"
IFACE, PEER = "fc0", "fc0p"
IFACE_ADDRESS, IFACE_MTU = "10.213.98.1/24", 1400
ROUTE = "10.213.99.0/24"
DEAD_RESOLVER = "10.213.47.250"     # a lab address where nothing listens
BOOT_SCRIPT = f"""# fleetcheck lab (lab/faults/net.py): the declared second interface and route
ip link show dev {IFACE} >/dev/null 2>&1 || ip link add {IFACE} type veth peer name {PEER}
for i in {IFACE} {PEER}; do echo 1 > /proc/sys/net/ipv6/conf/$i/disable_ipv6 2>/dev/null; done
ip link set dev {IFACE} mtu {IFACE_MTU}
ip addr replace {IFACE_ADDRESS} dev {IFACE}
ip link set dev {PEER} up
ip link set dev {IFACE} up
ip route replace blackhole {ROUTE}
exit 0
"""

FAULTS = {
    "interface-down": Fault(ANY, f"the declared second interface {IFACE} is set down "
                            f"(ip link set dev {IFACE} down)", "net.interfaces", True),
    "route-missing": Fault(ANY, f"the declared route (blackhole {ROUTE}) is deleted",
                           "net.routes", True),
    "resolver-dead": Fault(ANY, f"resolv.conf's first nameserver is replaced by "
                           f"{DEAD_RESOLVER}, where nothing listens", "net.resolvers", False),
    "hostname-changed": Fault(ANY, "the host is renamed <host>-old (hostname and "
                              "/etc/hostname)", "net.hostname", True),
}


def host_files(lab, h) -> dict[str, str]:
    """The boot step that makes fc0 and the declared route."""
    return {BOOT: BOOT_SCRIPT}


def _interface_down(lab, h, heal):
    lab.exec(h.name, ["ip", "link", "set", "dev", IFACE, "up" if heal else "down"],
             check=True)


def _route_missing(lab, h, heal):
    if heal:
        lab.exec(h.name, ["ip", "route", "replace", "blackhole", ROUTE], check=True)
    else:
        lab.sh(h.name, f"ip route del blackhole {ROUTE} 2>/dev/null || true")


def _resolver_dead(lab, h, heal):
    from .. import render

    good = render.hostname_files(h, lab.inv)["/etc/resolv.conf"]
    if heal:
        lab.put_file(h.name, "/etc/resolv.conf", good)
        return
    first = good.split("nameserver ", 1)[1].split("\n", 1)[0]
    lab.put_file(h.name, "/etc/resolv.conf",
                 good.replace(f"nameserver {first}\n", f"nameserver {DEAD_RESOLVER}\n", 1))


def _hostname_changed(lab, h, heal):
    name = h.name if heal else f"{h.name}-old"
    lab.exec(h.name, ["hostname", "--", name], check=True)
    lab.put_file(h.name, "/etc/hostname", name + "\n")
