"""Per-command latency over one paramiko connection, with and without TCP_NODELAY.

    make lab-up && .venv/bin/python bench/command_latency.py [HOST] [N]

Prints milliseconds per command for both and their ratio, measured in the same run
(the machines are noisy: compare the ratio, not the absolute numbers).
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fleetcheck import inventory  # noqa: E402
from fleetcheck.facts.base import Command  # noqa: E402
from fleetcheck.connect.hosts import ConnectOptions, FleetHost  # noqa: E402


def per_command_ms(host: FleetHost, nodelay: bool, n: int) -> float:
    host.connect()
    sock = host.testinfra.backend.client.get_transport().sock
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        host.run(Command("true"))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "web1"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    entry = inventory.load([REPO / "inventories" / "lab.yml"]).select(name)[0]
    host = FleetHost(entry, ConnectOptions())
    try:
        with_nodelay = per_command_ms(host, True, n)
        without = per_command_ms(host, False, n)
    finally:
        host.close()
    print(f"{name}: {n} commands, median per command: TCP_NODELAY on {with_nodelay:.2f} ms, "
          f"off {without:.2f} ms, ratio off/on {without / with_nodelay:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
