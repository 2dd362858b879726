"""The lab for the integration tests: brought up once per session, taken down at
the end (and proven clean). Needs root; without it every integration test skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(Path(__file__).resolve().parent)):  # `lab`, `lab_probes`
    if _p not in sys.path:
        sys.path.insert(0, _p)


# The session `lab` fixture is in tests/conftest.py: tests/parity uses it too.


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

    def toggles(self, host: str, fault: str, probe: str, good: str, bad: str) -> None:
        """The probe (a shell command run over ssh, its output stripped) reads `good` on
        the healthy host, `bad` once `fault` is applied, and `good` again once healed."""
        assert self.out(host, probe).strip() == good, f"{host} before {fault}: {probe}"
        self.lab.fault(host, fault)
        assert self.out(host, probe).strip() == bad, f"{host} with {fault}: {probe}"
        self.lab.heal(host, fault)
        assert self.out(host, probe).strip() == good, f"{host} healed of {fault}: {probe}"


@pytest.fixture
def ssh(lab):
    return SSH(lab)
