"""sshd's effective configuration (`sshd -T`) has the directives the inventory sets
(var `sshd: {Directive: value}`), the declared value in sshd's words
(fleetcheck.facts.sshd.word: `UseDNS: no` is `no`, `PubkeyAuthentication: true` is
`yes`, a list is joined as `sshd -T` prints it)."""

import pytest

from fleetcheck.facts.sshd import word

# `sshd -T` prints some values under their older names.
ALIASES = {"prohibit-password": "without-password"}


def same(actual: str | None, expected: str) -> bool:
    if actual is None:
        return False
    a, e = actual.lower(), expected.lower()
    return a == e or ALIASES.get(e) == a or ALIASES.get(a) == e


@pytest.mark.check("sshd.config", severity="high", items="sshd", facts=["sshd"],
                   title="sshd directive has its declared value")
def test_sshd_config(host, facts, item, evidence):
    """Each directive of the var `sshd` (`{PermitRootLogin: prohibit-password}`) is in
    effect as `sshd -T` prints it (YAML booleans are yes/no)."""
    expected = str(word(host.vars["sshd"][item], item))
    # a keyword `sshd -T` prints once per value (AllowUsers, ListenAddress): all of them
    repeated = facts.sshd.repeated.get(item.lower())
    actual = " ".join(repeated) if repeated else facts.sshd.get(item)
    evidence.add(directive=item, expected=expected, actual=actual)
    assert same(actual, expected), f"{item} is {actual}, expected {expected}"
