"""sshd.config: every declared directive, one test (and one `sshd -T`) each."""

import pytest
from support import declared

from checks.test_sshd import same


@pytest.mark.parametrize("directive", declared("sshd"))
def test_sshd_config(entry, facts, directive):
    if directive not in (entry.vars.get("sshd") or {}):
        pytest.skip(f"{directive} is not declared for this host")
    expected = str(entry.vars["sshd"][directive])
    actual = facts.sshd.get(directive)
    assert same(actual, expected), f"{directive} is {actual}, expected {expected}"
