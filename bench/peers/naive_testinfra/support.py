"""The fleetcheck inventory (env BENCH_INVENTORY) and facts gathered without a cache."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from types import SimpleNamespace
from typing import Any

from fleetcheck import facts as fact_modules
from fleetcheck.connect.common import DEFAULT_COMMAND_TIMEOUT
from fleetcheck.facts.base import default_from_result
from fleetcheck.inventory import HostEntry
from fleetcheck.selection import select


@cache
def hosts() -> dict[str, HostEntry]:
    """Every inventory host by name (testinfra's --hosts are these names), with its
    vars as fleetcheck sees them: the embedded default thresholds under them."""
    return select(SimpleNamespace(fleet_inventory=[os.environ["BENCH_INVENTORY"]],
                                  fleet_limit=None)).hosts


def declared(var: str) -> list[str]:
    """Every item any host lists under `var` (a list or a mapping): the parameters of a
    per-item test; a host skips the items it does not declare."""
    return sorted({str(item) for e in hosts().values() for item in e.vars.get(var) or ()})


class Facts:
    """One host's facts, each gathered afresh at every call, as a suite written from
    testinfra's documentation does: build the command, `host.run` it, parse it."""

    def __init__(self, host: Any, hostvars: dict[str, Any]):
        self.host = host
        self.vars = hostvars

    def get(self, name: str, /, **params: Any) -> Any:
        module = fact_modules.get(name)
        command = module.command(self.vars, **params)
        if getattr(module, "RUNS_ON", "host") == "controller":
            done = subprocess.run(["/bin/sh", "-c", command.render()], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, errors="replace",
                                  timeout=DEFAULT_COMMAND_TIMEOUT,
                                  env=dict(os.environ, LC_ALL="C", LANG="C"))
            rc, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            result = self.host.run(command.render())
            rc, stdout, stderr = result.rc, result.stdout, result.stderr
        convert = getattr(module, "from_result", None)
        if convert is not None:
            return convert(rc, stdout, stderr, **params)
        return default_from_result(module.parse, command, rc, stdout, stderr)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)
