"""Read the lab's inventory (inventories/lab.yml) into the host list the lab starts,
and write the generated inventory (lab/state/inventory.yml) that includes extra
plain hosts for benchmarks.

Only the subset of Ansible's YAML inventory the lab itself needs is read here
(all/children/hosts/vars, merged all < group < host); the audit has its own loader.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LAB_DIR = Path(__file__).resolve().parent
REPO_DIR = LAB_DIR.parent
DEFAULT_INVENTORY = REPO_DIR / "inventories" / "lab.yml"
# fleetcheck's embedded inventory: its `all` vars are under every inventory's
EMBEDDED_INVENTORY = REPO_DIR / "fleetcheck" / "data" / "local.yml"

# role groups the lab knows how to build
ROLE_GROUPS = ("dns_master", "dns_slave", "fileservers", "web", "app", "hypervisors", "plain")

# started on every lab host, as a Debian host's boot starts them, listed in no `services`
BOOT_DAEMONS = ("dbus", "chrony")

# first address of the extra plain hosts (plain01 = .101 ...): the first PLAIN_IN_SUBNET
# of them share the role hosts' subnet (lab_subnet); the rest are numbered on in the
# plain subnet (lab_plain_subnet, by default 10.213.48.0/22: a bench fleet of a thousand
# hosts), whose first address is the controller's there
PLAIN_BASE = 101
PLAIN_IN_SUBNET = 120
DEFAULT_PLAIN_SUBNET = "10.213.48.0/22"


@dataclass
class LabHost:
    name: str
    address: str
    groups: list[str]
    vars: dict = field(default_factory=dict)
    index: int = 0  # stable small number, used for link names

    @property
    def roles(self) -> set[str]:
        return set(self.groups) & set(ROLE_GROUPS)

    @property
    def services(self) -> list[str]:
        return list(self.vars.get("services") or ["ssh"])

    @property
    def daemons(self) -> list[str]:
        """What the lab runs on the host: its declared services, smbd where Samba
        shares are declared (samba.shares judges smbd: the inventory does not list it
        in `services` too, so that a stopped smbd fails one check, not two), the
        message bus and the time daemon a Debian host starts at boot (judged by
        service.failed and time.synced, not service.running), and ISC dhcpd where
        `dhcp.config_valid` declares it running (judged there: lab/faults/dhcp.py), and
        OpenVPN where `vpn.openvpn.instances` declares one running (lab/faults/vpn.py),
        libvirtd on a hypervisor (lab/faults/vm.py: judged by vm.*)."""
        out = self.services
        if (self.vars.get("samba") or {}).get("shares") and "smbd" not in out:
            out.append("smbd")
        dhcp = (self.vars.get("dhcp") or {}).get("config_valid") or {}
        if (dhcp.get("running") is True and dhcp.get("server") in ("isc", None)
                and "isc-dhcp-server" not in out):
            out.append("isc-dhcp-server")
        vpn = ((self.vars.get("vpn") or {}).get("openvpn") or {}).get("instances") or {}
        if any((i or {}).get("running", True) is True for i in vpn.values()) \
                and "openvpn" not in out:
            out.append("openvpn")
        if self.has("hypervisors") and "libvirtd" not in out:
            out.append("libvirtd")
        for daemon in () if self.has("plain") else BOOT_DAEMONS:   # bench hosts: sshd only
            if daemon not in out:
                out.append(daemon)
        return out

    def has(self, role: str) -> bool:
        return role in self.groups

    @property
    def hardening(self) -> dict[str, str]:
        """The net.* keys of sysctl.baseline (the embedded defaults under the host's
        own `sysctl_baseline`, null: off) that the host does not declare in `sysctl`:
        what a hardened host sets at boot. Only net.* keys belong to a network
        namespace; the kernel.*/fs.* keys are the controller's kernel."""
        merged = dict(_embedded_vars().get("sysctl_baseline") or {})
        merged.update(self.vars.get("sysctl_baseline") or {})
        declared = self.vars.get("sysctl") or {}
        return {k: str(int(v) if isinstance(v, bool) else v) for k, v in merged.items()
                if k.startswith("net.") and v is not None and k not in declared}

    @property
    def hardening_args(self) -> str:
        """`sysctl -w`'s arguments that set `hardening` (the boot's and a heal's)."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.hardening.items()))


def _embedded_vars() -> dict:
    data = yaml.safe_load(EMBEDDED_INVENTORY.read_text(encoding="utf-8")) or {}
    return (data.get("all") or {}).get("vars") or {}


def _merge(a: dict, b: dict) -> dict:
    """Ansible's default hash_behaviour is replace: a group var replaces, not merges."""
    out = dict(a)
    out.update(b or {})
    return out


def _walk(group_name: str, group: dict, parents: list[tuple[str, dict]], out: dict):
    group = group or {}
    chain = parents + [(group_name, group.get("vars") or {})]
    for hname, hvars in (group.get("hosts") or {}).items():
        entry = out.setdefault(hname, {"chains": [], "hostvars": {}})
        entry["chains"].append(chain)
        entry["hostvars"] = _merge(entry["hostvars"], hvars or {})
    for cname, child in (group.get("children") or {}).items():
        _walk(cname, child, chain, out)


@dataclass
class LabInventory:
    path: Path
    raw: dict
    hosts: list[LabHost]
    all_vars: dict

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.ip_network(self.all_vars.get("lab_subnet", "10.213.47.0/24"))

    @property
    def plain_subnet(self) -> ipaddress.IPv4Network:
        """Where the plain hosts past PLAIN_IN_SUBNET live: on the same bridge, each side
        reaching the other through an on-link route (lab.core), never through a router."""
        net = ipaddress.ip_network(self.all_vars.get("lab_plain_subnet", DEFAULT_PLAIN_SUBNET))
        if net.overlaps(self.subnet):
            raise ValueError(f"lab_plain_subnet {net} overlaps lab_subnet {self.subnet}")
        return net

    @property
    def plain_controller_address(self) -> str:
        return str(next(self.plain_subnet.hosts()))

    @property
    def beyond(self) -> list[LabHost]:
        """The hosts in the plain subnet (none unless more than PLAIN_IN_SUBNET plain hosts)."""
        return [h for h in self.hosts
                if ipaddress.ip_address(h.address) not in self.subnet]

    def network_of(self, h: LabHost) -> ipaddress.IPv4Network:
        return self.subnet if ipaddress.ip_address(h.address) in self.subnet \
            else self.plain_subnet

    @property
    def max_plain(self) -> int:
        """PLAIN_IN_SUBNET, and the plain subnet's addresses but the controller's."""
        return PLAIN_IN_SUBNET + self.plain_subnet.num_addresses - 3

    @property
    def dns_zones(self) -> list[str]:
        """The zones the lab's nameservers serve: the inventory's forward and reverse
        zones, and the plain subnet's reverse zone once hosts live there."""
        dns = self.dns
        zones = [dns["zone"], dns["reverse_zone"]]
        return zones + [self.plain_reverse_zone] if self.beyond else zones

    @property
    def plain_reverse_zone(self) -> str:
        """The in-addr.arpa zone of the whole octets the plain subnet spans (a /22:
        213.10.in-addr.arpa); the role hosts' own reverse zone, a child of it, answers
        for theirs."""
        net = self.plain_subnet
        octets = net.network_address.exploded.split(".")[: net.prefixlen // 8]
        return ".".join(reversed(octets)) + ".in-addr.arpa"

    @property
    def controller_address(self) -> str:
        return str(self.all_vars.get("lab_controller_address") or next(self.subnet.hosts()))

    @property
    def controller_extra_addresses(self) -> list[str]:
        """More controller addresses on the bridge (`lab_controller_extra_addresses`, in
        the lab subnet, no host's): a client the lab's services must tell apart from the
        controller's own address (proxy.squid's outside client). They go with the bridge
        at down."""
        out = []
        taken = {h.address for h in self.hosts} | {self.controller_address}
        for a in self.all_vars.get("lab_controller_extra_addresses") or []:
            ip = ipaddress.ip_address(str(a))
            if ip not in self.subnet or str(ip) in taken:
                raise ValueError(f"lab_controller_extra_addresses: {ip} is outside "
                                 f"{self.subnet} or already taken")
            out.append(str(ip))
        return out

    @property
    def dns(self) -> dict:
        return self.all_vars.get("dns") or {}

    def by_name(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no lab host {name!r} (hosts: {', '.join(h.name for h in self.hosts)})")

    def with_role(self, role: str) -> list[LabHost]:
        return [h for h in self.hosts if h.has(role)]


def load(path: Path | str = DEFAULT_INVENTORY, plain_hosts: int = 0) -> LabInventory:
    path = Path(path)
    raw = yaml.safe_load(path.read_text()) or {}
    top = raw.get("all") or {}
    found: dict = {}
    _walk("all", top, [], found)
    all_vars = top.get("vars") or {}
    hosts = []
    for i, (name, entry) in enumerate(found.items()):
        merged: dict = {}
        groups: list[str] = []
        # groups in order of depth, each once (a host in two groups: the second
        # chain's `all` must not undo the first group's vars); later (deeper) win
        seen: set[str] = set()
        for chain in sorted(entry["chains"], key=len):
            for gname, gvars in chain:
                if gname in seen:
                    continue
                seen.add(gname)
                merged = _merge(merged, gvars)
                if gname != "all":
                    groups.append(gname)
        merged = _merge(merged, entry["hostvars"])
        addr = merged.get("ansible_host")
        if not addr:
            raise ValueError(f"{path}: host {name} has no ansible_host")
        hosts.append(LabHost(name=name, address=str(addr), groups=groups, vars=merged, index=i + 1))
    inv = LabInventory(path=path, raw=raw, hosts=hosts, all_vars=all_vars)
    if plain_hosts:
        if plain_hosts > inv.max_plain:
            raise ValueError(f"at most {inv.max_plain} plain hosts (lab_plain_subnet: "
                             f"{inv.plain_subnet})")
        used = {h.address for h in hosts}
        for n in range(1, plain_hosts + 1):
            addr = str(inv.subnet.network_address + PLAIN_BASE + n - 1
                       if n <= PLAIN_IN_SUBNET else
                       inv.plain_subnet.network_address + 2 + n - 1 - PLAIN_IN_SUBNET)
            if addr in used:
                raise ValueError(f"plain host address {addr} collides with the inventory")
            v = _merge(all_vars, {"ansible_host": addr, "services": ["ssh"]})
            hosts.append(LabHost(name=f"plain{n:02d}", address=addr, groups=["plain"], vars=v,
                                 index=len(hosts) + 1))
    for h in inv.hosts:
        if ipaddress.ip_address(h.address) not in inv.subnet and h.groups != ["plain"]:
            raise ValueError(f"{path}: {h.name} address {h.address} is outside {inv.subnet}")
    return inv


def write_generated(inv: LabInventory, out: Path, state_rel: str):
    """Write the inventory of every running host (roles hosts + plain hosts).

    `state_rel` is the state dir relative to `out`'s directory (normally ".")."""
    data = copy.deepcopy(inv.raw)
    top = data.setdefault("all", {})
    v = top.setdefault("vars", {})
    v["ansible_ssh_private_key_file"] = f"{state_rel}/id_ed25519"
    v["fleetcheck_known_hosts"] = f"{state_rel}/known_hosts"
    v["fleetcheck_ssh_config"] = f"{state_rel}/ssh_config"
    plain = [h for h in inv.hosts if h.groups == ["plain"]]
    if plain:
        children = top.setdefault("children", {})
        children["plain"] = {
            "hosts": {h.name: {"ansible_host": h.address} for h in plain},
            "vars": {"services": ["ssh"]},
        }
    out.write_text("# generated by `python -m lab up`; do not edit (see inventories/lab.yml)\n"
                   + yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
