"""A service's state: running and enabled, through systemd or SysV `service`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "service"
# The vars whose values reach this fact's command (checked at load: fleetcheck.values).
VALUE_KINDS = {"services[]": values.unit, "service_processes{}": values.unit}
# The schema of the vars (fleetcheck.varschema).
VARS = {
    "services": {
        "type": "array", "x-expected": "a list of service names (like [ssh, cron])",
        "description": "services that must be running (service.running), systemd units "
                       "or SysV services",
        "items": {"type": "string", "description": "a service name"},
    },
    "service_processes": {
        "type": "object", "x-expected": "a mapping of service: process name",
        "description": "on hosts without systemd, the process to look for when a "
                       "service has no init script: {nfs-ganesha: ganesha.nfsd}",
        "additionalProperties": {"type": "string", "description": "the process name "
                                 "(pidof)"},
    },
}

# One command for both service managers, so the fact is gathered in one round trip.
SCRIPT = r"""if [ -d /run/systemd/system ]; then
  echo init=systemd
  systemctl is-active --quiet -- "$1" && echo running=yes || echo running=no
  systemctl is-enabled --quiet -- "$1" 2>/dev/null && echo enabled=yes || echo enabled=no
else
  echo init=sysv
  if [ -x "/etc/init.d/$1" ]; then
    echo known=yes
    service "$1" status >/dev/null 2>&1 && echo running=yes || echo running=no
  else
    # No init script (a package that ships only a systemd unit): ask for the process.
    echo known=no
    [ -n "$2" ] && pidof -- "$2" >/dev/null && echo running=yes || echo running=no
  fi
  set -- /etc/rc[2345].d/S[0-9][0-9]"$1"
  [ -e "$1" ] && echo enabled=yes || echo enabled=no
fi
"""


def command(hostvars: Mapping[str, Any], name: str = "") -> Command:
    """`process` (from the var service_processes: {nfs-ganesha: ganesha.nfsd}) is
    looked for when the service has no init script on a host without systemd."""
    try:
        values.unit(name, "the service name")
        process = str((hostvars.get("service_processes") or {}).get(name, ""))
        if process:
            values.word(process, "the process name")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    return Command("sh -c %s fleetcheck %s %s", SCRIPT, name, process)


@dataclass
class ServiceState:
    init: str
    running: bool
    enabled: bool
    known: bool = True


def parse(text: str) -> ServiceState:
    fields = {}
    for n, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        if not sep:
            raise ParseError(f"line {n}: expected key=value, got {shown(line)}")
        fields[key] = value
    try:
        return ServiceState(fields["init"], fields["running"] == "yes",
                            fields["enabled"] == "yes", fields.get("known", "yes") == "yes")
    except KeyError as exc:
        last = len(text.splitlines())
        raise ParseError(f"line {last}: missing {exc.args[0]}= after the last line") from None
