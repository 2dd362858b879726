"""A host's package system in one round trip: which manager (apt, dnf, yum), how old
its package lists are, and whether a reboot is needed.

- lists: the newest mtime of /var/lib/apt/lists, its partial/ directory (apt-get
  update rewrites both even when every index is unchanged) and Ubuntu's
  update-success-stamp; on dnf/yum hosts the newest repomd.xml in the metadata cache.
  The age is taken against the host's own clock (`now`), so clock skew between the
  controller and the host does not matter.
- reboot: /var/run/reboot-required (Debian, Ubuntu: written by packages that need
  one, with the packages in reboot-required.pkgs), and the running kernel (`uname -r`)
  against the newest kernel installed in /boot (any distribution).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts import kernel
from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "pkgstate"
SCRIPT = r"""echo "now=$(date +%s)"
if command -v apt-get >/dev/null 2>&1; then echo manager=apt
elif command -v dnf >/dev/null 2>&1; then echo manager=dnf
elif command -v yum >/dev/null 2>&1; then echo manager=yum
else echo manager=none; fi
for f in /var/lib/apt/lists /var/lib/apt/lists/partial \
         /var/lib/apt/periodic/update-success-stamp \
         /var/cache/dnf/*/repodata/repomd.xml /var/cache/yum/*/*/*/repodata/repomd.xml \
         /var/cache/yum/*/*/*/repomd.xml; do
  [ -e "$f" ] && echo "lists_mtime=$(stat -c %Y -- "$f")"
done
[ -e /var/run/reboot-required ] && echo reboot_required=yes || echo reboot_required=no
[ -r /var/run/reboot-required.pkgs ] && sed 's/^/reboot_pkg=/' /var/run/reboot-required.pkgs
echo "running_kernel=$(uname -r)"
for k in /boot/vmlinuz-*; do [ -e "$k" ] && echo "installed_kernel=${k#/boot/vmlinuz-}"; done
true
"""
KEYS = {"now", "manager", "lists_mtime", "reboot_required", "reboot_pkg", "running_kernel",
        "installed_kernel"}


def command(hostvars: Mapping[str, Any], after_refresh: bool = False) -> Command:
    """`after_refresh` reads the state again once the lists were refreshed (a separate
    cache entry: the argument only names the moment)."""
    if after_refresh:
        return Command("sh -c %s fleetcheck after-refresh", SCRIPT)
    return Command("sh -c %s", SCRIPT)


def version_key(version: str) -> list[tuple[int, int, str]]:
    """Natural order: digit runs as numbers (6.1.0-26 > 6.1.0-9), compared by length
    then digits without leading zeros, so that no int() of host text (limited to 4300
    digits) is needed."""
    key = []
    for part in re.findall(r"[0-9]+|[A-Za-z]+", version):
        if part.isdigit():
            digits = part.lstrip("0")
            key.append((0, len(digits), digits))
        else:
            key.append((1, 0, part))
    return key


@dataclass
class PkgState:
    now: int
    manager: str                       # apt | dnf | yum | none
    lists_mtime: int | None = None     # newest of the package list files (epoch)
    reboot_required: bool = False      # /var/run/reboot-required exists
    reboot_packages: list[str] = field(default_factory=list)
    running_kernel: str = ""
    installed_kernels: list[str] = field(default_factory=list)

    @property
    def lists_age_days(self) -> float | None:
        if self.lists_mtime is None:
            return None
        return round(max(0, self.now - self.lists_mtime) / 86400, 2)

    @property
    def newest_kernel(self) -> str | None:
        return kernel.newest(self.installed_kernels)

    @property
    def kernel_outdated(self) -> bool:
        """Kernel releases compare as kernel.running compares them (4.18.0-553.1.1 is
        newer than 4.18.0-553: RHEL's z-stream, which a package version sort misorders)."""
        newest = self.newest_kernel
        return bool(newest and kernel.compare(newest, self.running_kernel) > 0)


def parse(text: str) -> PkgState:
    values: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        if not sep or key not in KEYS:
            raise ParseError(f"line {n}: expected one of {', '.join(sorted(KEYS))}=..., "
                             f"got {shown(line)}")
        values.setdefault(key, []).append(value)
    last = len(text.splitlines())
    for key in ("now", "manager", "reboot_required", "running_kernel"):
        if key not in values:
            raise ParseError(f"line {last}: missing {key}= (truncated output?)")
    where = f"line {last}: now= and lists_mtime= must be epoch seconds"
    now = to_int(values["now"][0], where)
    mtimes = [to_int(v, where) for v in values.get("lists_mtime", [])]
    kernels = [k for k in values.get("installed_kernel", []) if "rescue" not in k]
    return PkgState(now, values["manager"][0], max(mtimes) if mtimes else None,
                    values["reboot_required"][0] == "yes", values.get("reboot_pkg", []),
                    values["running_kernel"][0], kernels)


DEFAULTS = {"max_pending": 0, "max_list_age_days": 7, "refresh_lists": False,
            "check_deleted_libs": True}
# The vars whose values reach a command (checked at load: fleetcheck.values): the
# services the updates.applied fix may restart (`systemctl restart` / `service`).
VALUE_KINDS = {"updates.restart_services[]": values.unit}
# The schema of the vars (fleetcheck.varschema).
VARS = {
    "updates": {
        "type": "object", "description": "the patch policy (updates.applied): set it "
        "({} for the defaults) for a host to be judged",
        "x-expected": "a mapping ({} for the defaults)",
        "properties": {
            "max_pending": {"type": "integer", "minimum": 0, "default": 0,
                            "description": "non-security updates tolerated"},
            "max_list_age_days": {"type": "number", "minimum": 0, "default": 7,
                                  "description": "older package lists are a finding"},
            "refresh_lists": {"type": "boolean", "default": False,
                              "description": "`apt-get update` / `dnf makecache` first "
                              "(talks to the host's repositories)"},
            "auto_apply": {"type": "boolean", "default": False,
                           "description": "--remediate may upgrade this host"},
            "check_deleted_libs": {"type": "boolean", "default": True,
                                   "description": "processes still running deleted "
                                   "(upgraded) libraries or executables are a finding "
                                   "(needrestart -b, else a scan of /proc/*/maps)"},
            "restart_services": {"type": "array", "default": [],
                                 "items": {"type": "string", "description": "a systemd "
                                           "unit or SysV service name"},
                                 "x-expected": "a list of service names (like [cron])",
                                 "description": "services --remediate may restart when "
                                 "they run deleted libraries (no other is restarted)"},
            "security_suites": {"type": "array", "default": [],
                                "items": {"type": "string", "description": "an apt suite"},
                                "x-expected": "a list of apt suites",
                                "description": "apt suites whose updates count as "
                                "security ones"},
        },
        "additionalProperties": False,
    },
    "apt": {
        "type": "object", "description": "apt settings",
        "properties": {
            "security_suite": {"type": "string", "description": "the suite of security "
                               "updates (bookworm-security)"},
            "sources": {"type": "array", "items": {"type": "string", "description": "a "
                        "sources.list line"}, "description": "the apt sources the host "
                        "uses (the lab's; no check reads it)"},
        },
        "additionalProperties": False,
    },
}


def update_settings(hostvars: Mapping[str, Any]) -> dict[str, Any]:
    """The var `updates` with its defaults; apt.security_suite joins security_suites;
    restart_services a list (a value of another type is kept, for the fix to refuse)."""
    conf = dict(DEFAULTS)
    conf.update(hostvars.get("updates") or {})
    services = conf.get("restart_services")
    conf["restart_services"] = [] if services is None else (
        list(services) if isinstance(services, (list, tuple)) else services)
    suites = list(conf.get("security_suites") or [])
    apt_suite = (hostvars.get("apt") or {}).get("security_suite")
    if apt_suite:
        suites.append(str(apt_suite))
    conf["security_suites"] = suites
    return conf
