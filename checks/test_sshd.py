"""sshd's effective configuration (`sshd -T`) has the directives the inventory sets
(var `sshd: {Directive: value}`, sshd.config), the declared value in sshd's words
(fleetcheck.facts.sshd.word: `UseDNS: no` is `no`, `PubkeyAuthentication: true` is
`yes`, a list is joined as `sshd -T` prints it); and it follows the hardening
baseline every host inherits from the embedded inventory (var `sshd_baseline`,
sshd.baseline)."""

import pytest

from fleetcheck.facts.sshd import BASELINE, RULES, declared_directive, judge, setting, word
from fleetcheck.facts.sshd_hostkeys import key_problem, private_host_keys

# `sshd -T` prints some values under their older names.
ALIASES = {"prohibit-password": "without-password"}


def same(actual: str | None, expected: str) -> bool:
    if actual is None:
        return False
    a, e = actual.lower(), expected.lower()
    return a == e or ALIASES.get(e) == a or ALIASES.get(a) == e


@pytest.mark.check("sshd.config", severity="high", items="sshd", facts=["sshd"],
                   title="sshd directive has its declared value",
                   compare={"value": ("expected", "actual")})
def test_sshd_config(host, facts, item, evidence):
    """Each directive of the var `sshd` (`{PermitRootLogin: prohibit-password}`) is in
    effect as `sshd -T` prints it (YAML booleans are yes/no)."""
    if not facts.sshd.installed:
        pytest.fail("sshd is not installed (no sshd command on this host)", pytrace=False)
    expected = str(word(host.vars["sshd"][item], item))
    # a keyword `sshd -T` prints once per value (AllowUsers, ListenAddress): all of them
    repeated = facts.sshd.repeated.get(item.lower())
    actual = " ".join(repeated) if repeated else facts.sshd.get(item)
    evidence.add(directive=item, expected=expected, actual=actual)
    assert same(actual, expected), f"{item} is {actual}, expected {expected}"


def _baseline_reads(host, item):
    """What test_sshd_baseline reads: `sshd -T`, and for host_key_mode the owner and
    mode of the private HostKey files it names."""
    yield "sshd"
    rule = RULES.get(item)
    if rule is not None and rule.how == "mode" and host.facts.sshd.installed:
        yield "sshd_hostkeys", {"paths": private_host_keys(host.facts.sshd)}


@pytest.mark.check("sshd.baseline", severity="high", items=BASELINE,
                   facts=[_baseline_reads], title="sshd follows the hardening baseline",
                   compare={"value": ("expected", "actual")})
def test_sshd_baseline(host, facts, item, evidence):
    """Each rule of the var `sshd_baseline`, on `sshd -T` where sshd is installed
    (not applicable where the shell finds no sshd). The embedded inventory turns on
    what dev-sec's ssh-baseline and the CIS benchmarks' SSH server sections (Debian
    12, RHEL 9) agree on: root logs in with a key at most (prohibit-password, dev-sec's sshd-06),
    no password, keyboard-interactive (PAM's password prompt) or empty password login
    (high); no weak algorithm in the effective Ciphers, MACs, KexAlgorithms (medium:
    CBC, RC4, 3DES, MD5, SHA-1, umac-64, SHA-1 key exchanges: what dev-sec and
    Mozilla's guidelines leave out; a list of weak ones, so a newer OpenSSH's new
    algorithms pass); MaxAuthTries at most 4 (low: CIS's limit; dev-sec's 2 locks out
    a user whose agent offers three keys, and it is per connection anyway); no X11
    forwarding (low: a server runs no X display); private host keys owned by root,
    mode 0600 at most, 0640 with group ssh_keys (RHEL's layout; medium: a local user
    who reads one can impersonate the host). null turns a rule off. A directive the
    host declares in `sshd` is judged by sshd.config alone (the shop's own choice, one
    fault fails one check and the two fixes never undo each other)."""
    value = host.vars[BASELINE][item]
    if value is None:
        pytest.skip(f"{BASELINE}.{item} is null: turned off")
    rule = RULES[item]   # the var's schema has no other key
    if not facts.sshd.installed:
        pytest.skip("sshd is not installed (no sshd command on this host)")
    declared = declared_directive(host.vars, rule.directive)
    if declared:
        pytest.skip(f"the inventory declares {declared} (var sshd): sshd.config judges it")
    evidence.severity = rule.severity
    if rule.how == "mode":
        widest = setting(item, value)
        keys = facts.get("sshd_hostkeys", paths=private_host_keys(facts.sshd)).keys
        problems = [p for p in (key_problem(k, widest) for k in keys) if p]
        evidence.add(rule=item, expected=f"owner root, mode at most {widest:04o}",
                     actual={k.path: (f"{k.mode:04o} {k.owner}:{k.group}" if k.exists
                                      else "missing") for k in keys})
        assert not problems, "; ".join(problems)
        return
    verdict = judge(item, value, facts.sshd)
    evidence.add(rule=item, directive=rule.directive, expected=verdict.expected,
                 actual=verdict.actual)
    assert verdict.ok, verdict.problem
