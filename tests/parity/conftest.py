"""The parity suite: testinfra tests give the same outcomes with fleetcheck installed.

- ``suite/``: a testinfra suite as users write them: testinfra's host modules (file,
  package, service, user, group, process, socket, interface, addr, sysctl,
  mount_point, block_device, iptables where installed, system_info, environment,
  run / check_output / run_expect / run_test / exists / find_command, sudo),
  parametrize (stacked, on a class, with marks), classes, ``testinfra_hosts`` as a
  list and as a string, a conftest with fixtures built on ``host`` (module-scoped
  too), a module that defines ``host`` itself and one that wraps testinfra's, severity
  marks, and tests that fail, error, skip and xfail on purpose. Its files keep their
  real names (``test_*.py``, ``conftest.py``, ``pytest.ini``) and the project's own
  run never collects them: ``collect_ignore`` below. The runner copies the directory
  to a tmp path for each run (the rootdir, ./reports and the JUnit file go there); by
  hand: ``cp -r tests/parity/suite DIR && cd DIR && pytest --hosts=local://``.
- ``test_parity.py``: the runner. A mode runs the whole suite with plain
  pytest-testinfra (a venv without fleetcheck, built offline from ``make test-deps``'
  wheelhouse) and with fleetcheck, and compares the outcome of every test on every
  host from the JUnit XML; the fleetcheck runs that write reports are checked record
  by record (reports/last/results.json, the JUnit properties, report.html).

Hosts: this machine (``--hosts=local://``, no ``--hosts``, ``--sudo --sudo-user``, a
local inventory ``h1``/``h2``, each with and without ``-n 2``), two SSH servers on
loopback (tests/unit/sshserver.py on 127.0.0.2 and 127.0.0.3: ``--hosts=paramiko://``
with ``--ssh-identity-file``, an ``--ssh-config``, an inventory of them), a refused
address, and two lab hosts (``integration``: root and the lab, no ``-n``). Runs
start a few at once; their seconds are the ``parity:`` lines at the end.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# the suite is data for the runner, not tests of this project
collect_ignore = ["suite"]

# The one lab of this machine: tests/integration/conftest.py and bench/run.py take the
# same lock from lab-up to lab-down.
LAB_LOCK = "/tmp/fleetcheck-lab.lock"

TIMES: list[tuple[str, float]] = []


@pytest.fixture(scope="session")
def parity_times() -> list[tuple[str, float]]:
    """(what, seconds) of every venv build and suite run, printed at the end."""
    return TIMES


def pytest_terminal_summary(terminalreporter):
    if not TIMES:
        return
    terminalreporter.section("parity: seconds")
    for what, seconds in TIMES:
        terminalreporter.write_line(f"parity: {seconds:6.1f}s  {what}")


def _session_lab(request: pytest.FixtureRequest):
    """The Lab that tests/integration's session fixture holds in this run, if it does
    (it keeps the machine lock until the session ends: taking it here would wait for ever)."""
    manager = getattr(request.session, "_fixturemanager", None)
    for fixturedef in getattr(manager, "_arg2fixturedefs", {}).get("lab", ()):
        cached = getattr(fixturedef, "cached_result", None)
        if (fixturedef.baseid.replace(os.sep, "/").endswith("tests/integration")
                and cached is not None and cached[2] is None):
            return cached[0]
    return None


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest):
    """The lab (lab/README.md): the integration tests' when it is up in this session,
    else brought up here under the machine lock and taken down after this module."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts, links)")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("the lab is one fleet per machine: run tests/parity's lab test without -n",
                    pytrace=False)
    shared = _session_lab(request)
    if shared is not None:
        yield shared
        return
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from lab import Lab  # noqa: PLC0415

    with open(LAB_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lab = Lab()
        lab.up(plain_hosts=0)
        try:
            yield lab
        finally:
            left = {k: v for k, v in lab.down()["left"].items() if v}
        assert not left, f"lab-down left {left}"
