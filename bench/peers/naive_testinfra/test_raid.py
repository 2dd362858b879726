"""raid.md_healthy: every md array active, complete, not rebuilding; declared ones as declared."""

import pytest

from checks.test_raid import _against_declared


def test_md_healthy(entry, facts):
    declared = entry.vars.get("raid", {}).get("arrays") or []
    md = facts.mdstat
    if not md.arrays and not declared:
        pytest.skip("no md arrays")
    problems = []
    for array in md.arrays:
        if array.state != "active":
            problems.append(f"{array.name} is {array.state}")
        elif array.degraded:
            problems.append(f"{array.name} is degraded")
        elif array.sync_action:
            problems.append(f"{array.name} {array.sync_action}")
    missing, different = _against_declared(md, declared)
    problems += missing + different
    assert not problems, "; ".join(problems)
