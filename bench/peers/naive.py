"""Run the naive testinfra suite (naive_testinfra/) on an inventory's hosts.

    from bench.peers.naive import run_naive
    run_naive(Path("lab/state/inventory.yml"))   # {"seconds", "rc", "passed", ...}

testinfra's paramiko backend reaches each inventory host by its name through an
ssh_config written here from the inventory (address, port, user, key), so the run
talks to those addresses only. The expected values come from the same inventory
(env BENCH_INVENTORY), read by the suite's conftest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from fleetcheck import inventory
from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.inventory import HostEntry

SUITE = Path(__file__).resolve().parent / "naive_testinfra"
OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|errors?)\b")


def ssh_config(entries: Iterable[HostEntry]) -> str:
    """A Host block per inventory host: what testinfra's paramiko backend reads of it."""
    blocks = []
    for entry in entries:
        lines = [f"Host {entry.name}", f"    HostName {entry.address}", f"    Port {entry.port}"]
        if entry.user:
            lines.append(f"    User {entry.user}")
        key = FleetHost(entry, ConnectOptions()).key_file
        if key:
            lines.append(f"    IdentityFile {key}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def run_naive(inventory_path: Path, workers: str | int = "auto",
              extra_env: dict[str, str] | None = None) -> dict:
    """Run the suite in a subprocess: pytest-xdist's default distribution over
    `workers`, testinfra's defaults otherwise. Returns wall seconds, pytest's exit code,
    the outcome counts and the end of pytest's output."""
    inventory_path = Path(inventory_path).resolve()
    entries = inventory.load([inventory_path]).select(None)
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        config = Path(tmp) / "ssh_config"
        config.write_text(ssh_config(entries))
        command = [sys.executable, "-m", "pytest", "-c", str(SUITE / "pytest.ini"),
                   "--rootdir", str(SUITE), "-p", "no:fleetcheck", "-p", "no:cacheprovider",
                   "-n", str(workers), "--connection=paramiko",
                   "--hosts=" + ",".join(e.name for e in entries), f"--ssh-config={config}",
                   "-q", "-rf", str(SUITE)]
        env = {**os.environ, "BENCH_INVENTORY": str(inventory_path), **(extra_env or {})}
        start = time.monotonic()
        done = subprocess.run(command, env=env, cwd=SUITE, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace")
        seconds = time.monotonic() - start
    last = done.stdout.strip().splitlines()[-1:] or [""]
    counts = {word.rstrip("s") if word.startswith("error") else word: int(n)
              for n, word in OUTCOME.findall(last[0])}
    return {"seconds": round(seconds, 2), "rc": done.returncode,
            "passed": counts.get("passed", 0), "failed": counts.get("failed", 0),
            "skipped": counts.get("skipped", 0), "errors": counts.get("error", 0),
            "tests": sum(counts.values()),
            "stdout_tail": (done.stdout + done.stderr)[-3000:]}
