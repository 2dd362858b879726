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

import pytest

# the suite is data for the runner, not tests of this project
collect_ignore = ["suite"]

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


# The lab: the session fixture `lab` of tests/conftest.py, shared with tests/integration
# (one lab per machine, under its lock, up once per session).
