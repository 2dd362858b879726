"""The state of one fleetcheck run, kept in config.stash (controller and workers)."""

from __future__ import annotations

import getpass
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.connect.hosts import HostPool
from fleetcheck.report.records import Record

STATE_KEY = pytest.StashKey["FleetRun"]()


def new_run_id() -> str:
    """Sortable and unique: 20261121T134800Z-1a2b."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass
class FleetRun:
    run_id: str
    hosts: dict[str, Any]            # selected HostEntry objects by name, inventory order
    inventory_paths: list[str]
    limit: str | None
    pool: HostPool
    reports_dir: Path | None = None  # set on the controller of an audit run
    started: float = field(default_factory=time.time)
    records: dict[str, Record] = field(default_factory=dict)
    remediate_mode: str = "off"
    # Inventory sources and node filters (fleetcheck.selection): --where filters, what
    # the run must say loudly about its inventory (answered from the cache), the
    # selected hosts marked offline, and how each host is reached (never secrets).
    where: list[str] = field(default_factory=list)
    inventory_notes: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    include_offline: bool = False
    connections: dict[str, dict] = field(default_factory=dict)
    # What fleetcheck overrides in the hosts' ssh_config files (a weakened host key
    # policy is ignored): one line each, said at the start and the end of the run.
    connection_warnings: list[str] = field(default_factory=list)
    selection: Any = None            # fleetcheck.selection.Selection (xdist ships it)
    checks_collected: list[str] = field(default_factory=list)  # check functions (nodeids)
    # For report.html (fleetcheck.report.details), sent once per process on a test
    # report: check id -> its description and compare= rows; host -> its summary
    # (kernel, distribution, uptime), for the hosts the gathering reached.
    checks: dict[str, dict] = field(default_factory=dict)
    host_facts: dict[str, dict] = field(default_factory=dict)
    # Filled at the end of the run (gate, waivers, history: fleetcheck.report.wiring)
    # and written with the metadata into results.json.
    summary: dict[str, Any] = field(default_factory=dict)
    # Report files that could not be written (a full disk): one line each, said at the
    # end of the run; they turn a passing run's exit code into 3.
    report_problems: list[str] = field(default_factory=list)
    # Whether the run is complete and what it selected (report.completeness.RunStatus),
    # decided at the end of the run on the controller; its fields go into `summary`.
    run_status: Any = None
    # The gate's verdict on the run's records (report.gate.Verdict), decided once at
    # the end of the run on the controller (report.wiring.RunReports); report.html's
    # summary shows this one, it does not judge the records again.
    verdict: Any = None

    def report_failed(self, what: str, exc: OSError) -> None:
        self.report_problems.append(f"{what} not written: {exc.strerror or exc}")

    def metadata(self) -> dict[str, Any]:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in some containers
            user = str(os.getuid())
        from fleetcheck import __version__

        return {
            "run_id": self.run_id,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "user": user,
            "inventory": self.inventory_paths,
            "limit": self.limit,
            "remediate": self.remediate_mode,
            "hosts": list(self.hosts),
            "where": list(self.where),
            "inventory_notes": list(self.inventory_notes),
            "offline": list(self.offline),
            "include_offline": self.include_offline,
            "connections": self.connections,
            "connection_warnings": list(self.connection_warnings),
            "fleetcheck_version": __version__,
            **self.summary,
        }
