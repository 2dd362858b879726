"""Run one of fleetcheck's checks on given facts, as a unit test does: no host, no
pytest item, the check function called with a stand-in host and facts."""

from __future__ import annotations

import importlib
import types

import pytest

from fleetcheck.fixtures import Evidence


class Facts(types.SimpleNamespace):
    """Facts by attribute (`facts.mounts`) and by `facts.get(name, **params)`; a fact
    given as a callable is called with the params (a parametrized fact, like dig)."""

    def get(self, fact, /, **params):
        value = getattr(self, fact)
        return value(**params) if callable(value) else value


def run_check(area: str, name: str, hostvars: dict, host_name: str = "web1", **facts):
    """(outcome, message, evidence) of check function `name` of checks/test_<area>.py."""
    checks = importlib.import_module(f"fleetcheck.checks.test_{area}")
    evidence = Evidence()
    host = types.SimpleNamespace(vars=hostvars, name=host_name)
    try:
        getattr(checks, name)(host, Facts(**facts), evidence)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc.msg), evidence
    except (pytest.fail.Exception, AssertionError) as exc:
        return "failed", str(getattr(exc, "msg", exc)), evidence
    return "passed", "", evidence
