"""Fixtures of the naive suite: testinfra's own `host` (paramiko, one per --hosts
name), the fleetcheck inventory entry of that name for the expectations, and facts
without a cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from support import Facts, hosts

# The judgement helpers the checks factor out are imported from checks/, so that both
# suites judge alike.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


@pytest.fixture(scope="module")
def entry(host):
    """The inventory host testinfra's `host` is (by name)."""
    return hosts()[host.backend.hostname]


@pytest.fixture
def facts(host, entry) -> Facts:
    return Facts(host, entry.vars)


@pytest.fixture
def fleet() -> dict:
    return hosts()
