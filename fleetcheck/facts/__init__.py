"""Facts: one module per subsystem, a command plus a pure parser (see base.py)."""

from __future__ import annotations

import importlib
from types import ModuleType

from fleetcheck.facts.base import Command, FactError, ParseError
from fleetcheck.values import shown

# format name -> module path; `python -m fleetcheck parse NAME` and the per-host
# fact cache both look facts up here.
REGISTRY = {
    "vmstat": "fleetcheck.facts.vmstat",
    "mdstat": "fleetcheck.facts.mdstat",
    "file": "fleetcheck.facts.file",
    "init": "fleetcheck.facts.init",
    "sysctl": "fleetcheck.facts.sysctl",
    "service": "fleetcheck.facts.service",
    "sshd": "fleetcheck.facts.sshd",
    "sshd_hostkeys": "fleetcheck.facts.sshd_hostkeys",
    "nproc": "fleetcheck.facts.nproc",
    "meminfo": "fleetcheck.facts.meminfo",
    "loadavg": "fleetcheck.facts.loadavg",
    "df": "fleetcheck.facts.df",
    "smbconf": "fleetcheck.facts.smbconf",
    "smbclient": "fleetcheck.facts.smbclient",
    "exports": "fleetcheck.facts.exports",
    "exportfs": "fleetcheck.facts.exportfs",
    "ganesha": "fleetcheck.facts.ganesha",
    "showmount": "fleetcheck.facts.showmount",
    "paths": "fleetcheck.facts.paths",
    "apt": "fleetcheck.facts.apt",
    "dnf": "fleetcheck.facts.dnf",
    "pkgstate": "fleetcheck.facts.pkgstate",
    "refresh": "fleetcheck.facts.refresh",
    "named_conf": "fleetcheck.facts.named_conf",
    "named_checkzone": "fleetcheck.facts.named_checkzone",
    "listening": "fleetcheck.facts.listening",
    "timesync": "fleetcheck.facts.timesync",
    "files": "fleetcheck.facts.files",
    "users": "fleetcheck.facts.users",
    "mounts": "fleetcheck.facts.mounts",
    "fstab_verify": "fleetcheck.facts.fstab_verify",
    "swaps": "fleetcheck.facts.swaps",
    "automount": "fleetcheck.facts.automount",
    "smart": "fleetcheck.facts.smart",
    "failed_units": "fleetcheck.facts.failed_units",
    "restart": "fleetcheck.facts.restart",
    "kernel": "fleetcheck.facts.kernel",
    "kernel_modules": "fleetcheck.facts.kernel_modules",
    "kernel_modprobe": "fleetcheck.facts.kernel_modprobe",
    "kernel_tainted": "fleetcheck.facts.kernel_tainted",
    "kernel_cmdline": "fleetcheck.facts.kernel_cmdline",
    "lvm_vgs": "fleetcheck.facts.lvm_vgs",
    "lvm_lvs": "fleetcheck.facts.lvm_lvs",
    "lvm_pvs": "fleetcheck.facts.lvm_pvs",
    "iostat": "fleetcheck.facts.iostat",
    "ip_addr": "fleetcheck.facts.ip_addr",
    "ip_route": "fleetcheck.facts.ip_route",
    "resolv_conf": "fleetcheck.facts.resolv_conf",
    "dig": "fleetcheck.facts.dig",
    "hostname": "fleetcheck.facts.hostname",
    "boot": "fleetcheck.facts.boot",
    "boot_enabled": "fleetcheck.facts.boot_enabled",
    "pam": "fleetcheck.facts.pam",
    "postfix_config": "fleetcheck.facts.postfix_config",
    "postfix_queue": "fleetcheck.facts.postfix_queue",
    "web": "fleetcheck.facts.web",
    "apache_config": "fleetcheck.facts.apache_config",
    "dhcp": "fleetcheck.facts.dhcp",
    "squid_config": "fleetcheck.facts.squid_config",
    "slaptest": "fleetcheck.facts.slaptest",
    "vsftpd": "fleetcheck.facts.vsftpd",
    "openvpn": "fleetcheck.facts.openvpn",
    "vm_guests": "fleetcheck.facts.vm",
    "system": "fleetcheck.facts.system",
}


def get(name: str) -> ModuleType:
    try:
        return importlib.import_module(REGISTRY[name])
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown fact format {shown(name)} (known: {known})") from None


__all__ = ["Command", "FactError", "ParseError", "REGISTRY", "get"]
