"""fleetcheck's own pytest hooks, for users' conftest.py files (added with
pytest_addhooks)."""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_fleetcheck_vars(config: pytest.Config) -> dict[str, dict] | None:
    """The schemas of the vars your own checks read, so the inventory's definitions of
    them are validated at load like fleetcheck's (one line: file:line, the var path,
    exit 4): ``{area: {top-level var: JSON Schema (Draft 2020-12)}}``, area being the
    check id prefix of your checks. Put it in the conftest.py beside your checks:

        def pytest_fleetcheck_vars(config):
            return {"myapp": {"myapp": {
                "type": "object", "description": "what myapp.* checks expect",
                "additionalProperties": False,
                "properties": {"port": {"type": "integer", "minimum": 1,
                                        "maximum": 65535, "description": "its port"}}}}}
    """
