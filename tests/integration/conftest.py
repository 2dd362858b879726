"""The lab for the integration tests: brought up once per session, taken down at
the end (and proven clean). Needs root; without it every integration test skips."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(Path(__file__).resolve().parent)):  # `lab`, `lab_probes`
    if _p not in sys.path:
        sys.path.insert(0, _p)


MACHINE_LOCK = "/tmp/fleetcheck-lab.lock"


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts, links)")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("the lab is one fleet per machine: run tests/integration without -n "
                    "(pytest-xdist workers would each start and stop it)", pytrace=False)
    from lab import Lab

    # One lab per machine (its bridge and namespace names are global): a test session
    # holds this lock from up to down, so two checkouts never run their labs at once.
    lock = open(MACHINE_LOCK, "a")  # noqa: SIM115 - held for the whole session
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        lab = Lab()
        lab.up(plain_hosts=0)
        yield lab
        res = lab.down()
        left = {k: v for k, v in res["left"].items() if v}
        assert not left, f"lab-down left {left}"
    finally:
        lock.close()


@pytest.fixture
def healthy(lab):
    """Every test starts from and returns to a fault-free, running fleet."""
    if lab.status()["running"] != len(lab.hosts):
        lab.up()
    lab.heal_all()
    yield lab
    lab.heal_all()


class SSH:
    """ssh through the lab's generated ssh_config (strict host key checking)."""

    def __init__(self, lab):
        self.lab = lab

    def run(self, host: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-F", str(self.lab.ssh_config), host, command],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def out(self, host: str, command: str) -> str:
        res = self.run(host, command)
        assert res.returncode == 0, f"{host}: {command}: {res.returncode} {res.stderr}"
        return res.stdout


@pytest.fixture
def ssh(lab):
    return SSH(lab)
