"""Users' own tests beside the checks: testinfra tests, unchanged, in the same run.

A test that takes testinfra's ``host`` (directly or through a fixture) and is not a
fleetcheck check (no ``@pytest.mark.check``) is a *user test*:

- Without ``--inventory`` it is testinfra's, untouched: pytest-testinfra parametrizes
  it from ``--hosts``, the module's ``testinfra_hosts`` or the local host, with its
  own options (``--connection``, ``--sudo``, ``--ssh-config``, ...), and ``host`` is
  testinfra's Host. fleetcheck only records its outcome.
- With ``--inventory`` it runs over the selected inventory hosts (``--limit``,
  ``--where`` and offline hosts apply, ids are the host names), on the same
  connection per host as the checks, and ``host`` is the FleetHost: testinfra's whole
  host API plus ``host.vars``. A module that says which hosts it wants
  (``testinfra_hosts``) or that defines its own ``host`` fixture keeps them.

Either way each host x test is a record in every report: area = the module
(``test_nginx.py`` -> ``nginx``), check id ``<area>.<function>`` (a method:
``<area>.<class>_<method>``, ``test_`` prefixes dropped), severity ``medium`` unless a
``@pytest.mark.severity("high")`` on the test, its class or the module (``pytestmark``)
or the module's ``fleetcheck_severity = "high"`` says otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleetcheck.checkmeta import CheckMeta
from fleetcheck.connect.hosts import FleetHost
from fleetcheck.report.records import SEVERITIES

DEFAULT_SEVERITY = "medium"
MODULE_SEVERITY = "fleetcheck_severity"
# testinfra's options for its --hosts: what each one is for an inventory host
TESTINFRA_OPTIONS = {
    "connection": ("--connection", "ansible_connection"),
    "ssh_config": ("--ssh-config", "fleetcheck_ssh_config"),
    "ssh_identity_file": ("--ssh-identity-file", "ansible_ssh_private_key_file"),
    "sudo": ("--sudo", "ansible_become"),
    "sudo_user": ("--sudo-user", "ansible_become_user"),
    "ansible_inventory": ("--ansible-inventory", None),
    "force_ansible": ("--force-ansible", None),
}


def _word(text: str) -> str:
    word = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return word if word[:1].isalpha() else f"t_{word}" if word else "t"


def derived_id(item: pytest.Item) -> str:
    """``<area>.<name>`` of a user test, stable across runs and hosts."""
    module = Path(str(getattr(item, "path", "") or item.nodeid.split("::", 1)[0])).stem
    area = _word(module.removeprefix("test_").removesuffix("_test"))
    name = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    cls = getattr(item, "cls", None)
    words = ([cls.__name__.removeprefix("Test")] if cls is not None else []) + [
        name.removeprefix("test_")]
    return f"{area}.{_word('_'.join(w for w in words if w))}"


SEVERITY_MARKER = "severity"
MARKER_HELP = (f"{SEVERITY_MARKER}(level): the severity of a user's testinfra test's records "
               "(" + "|".join(SEVERITIES) + f"; default {DEFAULT_SEVERITY}); on a test, a "
               "class or a module (pytestmark)")


def severity_of(item: pytest.Item) -> str:
    """The closest ``@pytest.mark.severity("high")`` (test, class, module's pytestmark),
    else the module's ``fleetcheck_severity``, else the default; a bad value fails the
    run with one line (exit 4)."""
    marker = item.get_closest_marker(SEVERITY_MARKER)
    if marker is not None:
        severity, where = (marker.args[0] if marker.args else marker.kwargs.get("level"),
                           f"@pytest.mark.{SEVERITY_MARKER}")
    else:
        severity = getattr(getattr(item, "module", None), MODULE_SEVERITY, DEFAULT_SEVERITY)
        where = MODULE_SEVERITY
    if severity not in SEVERITIES:  # at collection's end: one line, exit 4
        raise pytest.UsageError(f"{item.nodeid}: {where} {severity!r} is not one of "
                                + ", ".join(SEVERITIES))
    return severity


def meta_for(item: pytest.Item, taken: set[str]) -> CheckMeta:
    """The CheckMeta a user test's records carry. A derived id that is a fleetcheck
    check's (a user's test_sshd.py::test_config is not sshd.config) gets ``user_``
    before its area."""
    check_id = derived_id(item)
    if check_id in taken:
        check_id = "user_" + check_id
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    title = doc.splitlines()[0].strip() if doc else (getattr(item, "originalname", "")
                                                   or item.name)
    return CheckMeta(check_id, severity_of(item), title)


def wants_own_hosts(module) -> bool:
    """The module names its hosts itself (testinfra's ``testinfra_hosts``)."""
    return module is not None and hasattr(module, "testinfra_hosts")


def inventory_conflicts(option) -> list[str]:
    """testinfra options given with --inventory, which fleetcheck cannot honour for
    inventory hosts (their vars say how each is reached): one line each."""
    lines = []
    for dest, (flag, var) in TESTINFRA_OPTIONS.items():
        if getattr(option, dest, None) in (None, False):
            continue
        where = (f"set the var {var} in the inventory" if var
                 else "fleetcheck reads the inventory itself: --inventory=INV")
        lines.append(f"{flag} is testinfra's option for its --hosts and does not apply "
                     f"to inventory hosts: {where}")
    return lines


def hosts_fixture_is_testinfras(metafunc: pytest.Metafunc) -> bool:
    """`host` is pytest-testinfra's fixture, not one the user's conftest or module
    defines (theirs decides what their tests get)."""
    defs = getattr(metafunc, "_arg2fixturedefs", {}).get("host")
    return bool(defs) and getattr(defs[-1].func, "__module__", "") == "testinfra.plugin"


def host_of(item: pytest.Item) -> str | None:
    """The host an item runs on: a FleetHost's name, or testinfra's id of its host."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    host = params.get("host")
    if isinstance(host, FleetHost):
        return host.name
    testinfra_host = params.get("_testinfra_host")
    if testinfra_host is not None and hasattr(testinfra_host, "backend"):
        return testinfra_host.backend.get_pytest_id()
    return None


def refuse_what_cannot_apply(option, selection, nodeids: list[str]) -> None:
    """Options and --hosts that fleetcheck cannot honour for the hosts its checks (and,
    with an inventory, users' tests) run on: one line, exit 4, nothing touched."""
    lines = []
    if option.fleet_inventory:
        lines += inventory_conflicts(option)
    for spec in selection.foreign if selection else []:
        lines.append(f"--hosts '{spec}': fleetcheck's checks run over local, paramiko and "
                     "ssh connections only (testinfra's own tests run over it; leave the "
                     "checks out with a path, -k or --deselect, or use --inventory)")
    if lines:
        more = f" and {len(nodeids) - 1} more" if len(nodeids) > 1 else ""
        raise pytest.UsageError(f"{lines[0]} (needed by {nodeids[0]}{more})")
