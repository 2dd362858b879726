"""Every lab fault, as ``python -m lab faults --json`` lists it, against the whole audit:
on a healthy lab every check passes (or does not apply) on every host; with the fault
applied to one host of its group, exactly the fault's check fails, on exactly that
host; a fixable fault is fixed by --remediate (its record `fixed`, nothing else
changed), and the next run of its host is clean.

Faults run in rounds of up to three, each of another area (rounds(): 27 rounds for 71
faults). A fixable fault is judged by the --remediate run itself (it checks before it
fixes: a check that failed and was fixed is `fixed`, one that failed and was not is
`failed`), which saves a plain audit per fault; an unfixable one by a plain audit. One
lab, the rounds in sequence; capacity checks are left out (they judge this machine's
load, which the test run itself makes). The healthy run goes through xdist (-n 2); the
fault runs do not: on a 2-core machine a serial audit of the 5 lab hosts is ~4 s
faster than one that starts two workers.

The per-area lab tests (test_dns_on_lab.py, test_files_and_updates_on_lab.py,
test_remediation_on_lab.py) prove the rest: --dry-run writes nothing, backups, the
plans' contents, rollback.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
import sys

import pytest
from fleet import REPO, audit

from lab.faults import EVERY_CHECK

pytestmark = pytest.mark.integration

CHECKS = "not capacity"
JUDGED = ("passed", "not-applicable")


def listed() -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "lab", "faults", "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


FAULTS = listed()


def failing(records) -> set[tuple[str, str]]:
    return {(r["host"], r["check_id"]) for r in records if r["outcome"] not in JUDGED}


def host_for(inv, group: str, check: str = "") -> str:
    """The host a fault is applied to: the first of its group ('all': web1; for a fault
    that makes the host unreachable, app1: no other host's check depends on it, while
    app1's Squid fetches its test URL from web1)."""
    if group == "all":
        return "app1" if check == EVERY_CHECK else "web1"
    return next(h.name for h in inv.hosts if h.has(group))


PER_ROUND = 3      # faults applied at once
PER_HOST = 2       # of them on one host


def area(fault: dict) -> str:
    return fault["check"].split(".")[0]


def rounds(faults: list[dict]) -> list[list[dict]]:
    """The faults in rounds of up to PER_ROUND, at most PER_HOST of them on one host,
    each of another area (so of another check), all fixable or all not; a fault that
    makes its host unreachable is alone. Several faults at once, with the audit
    failing exactly their checks on exactly their hosts and nothing else, prove what
    single audits would (a fault that reached into another area or host would show as
    one more failing record, a fix that disturbed another one as a record not
    `fixed`), at a third of the audits; each fault's own probe test
    (test_lab_faults*.py) shows it applied alone. Greedy, in the listing's order, so
    the rounds are the same on every run."""
    from lab.inventory import load

    inv = load()
    placed = [dict(f, on=host_for(inv, f["host"], f["check"])) for f in faults]
    out = [[f] for f in placed if f["check"] == EVERY_CHECK]
    for fixable in (True, False):
        pending = [f for f in placed if f["fixable"] is fixable and f["check"] != EVERY_CHECK]
        while pending:
            this: list[dict] = []
            for f in list(pending):
                if len(this) < PER_ROUND and area(f) not in {area(g) for g in this} \
                        and sum(g["on"] == f["on"] for g in this) < PER_HOST:
                    this.append(f)
                    pending.remove(f)
            out.append(this)
    return out


ROUNDS = rounds(FAULTS)


def test_the_listing_names_every_fault_with_a_known_check():
    from fleetcheck import catalogue
    from lab import FAULTS as DEFINED

    assert [f["name"] for f in FAULTS] == list(DEFINED)
    known = {info.check_id for info in catalogue.collect()}
    for fault in FAULTS:
        assert set(fault) == {"name", "host", "check", "fixable"}, fault
        assert fault["check"] == EVERY_CHECK or fault["check"] in known, fault
        assert isinstance(fault["fixable"], bool)


def test_a_healthy_lab_is_clean(healthy, tmp_path):
    rc, records, out = audit(tmp_path, "-k", CHECKS, "-n", "2")
    assert {r["host"] for r in records} == set(healthy.hosts), out
    assert failing(records) == set(), out
    assert rc == 0, out


def test_the_rounds_hold_every_fault_once():
    names = [f["name"] for r in ROUNDS for f in r]
    assert sorted(names) == sorted(f["name"] for f in FAULTS)
    for r in ROUNDS:
        assert len(r) <= PER_ROUND and len({area(f) for f in r}) == len(r), r
        assert max(Counter(f["on"] for f in r).values()) <= PER_HOST, r
        assert len({f["fixable"] for f in r}) == 1, r
        assert len(r) == 1 or EVERY_CHECK not in {f["check"] for f in r}, r


@pytest.mark.parametrize("faults", ROUNDS, ids=["+".join(f["name"] for f in r) for r in ROUNDS])
def test_fault_fails_exactly_its_check_is_fixed_and_the_next_run_is_clean(
        healthy, tmp_path, faults):
    for fault in faults:
        healthy.fault(fault["on"], fault["name"])
    expected = {(f["on"], f["check"]) for f in faults}
    if faults[0]["fixable"]:
        # the --remediate run judges first: its records say the faults' checks failed
        # (and only they: any other failing check would be `failed`, or `fixed` too)
        rc, records, out = audit(tmp_path / "fix", "-k", CHECKS, "-n", "0", "--remediate")
        fixed = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "fixed"}
        assert fixed == expected, out
        assert failing(records) - fixed == set(), out
        assert rc == 0, out
        # the next run of the fixed hosts (the --remediate run judged every other host
        # before it fixed these, and the fixes changed these only)
        hosts = sorted({f["on"] for f in faults})
        rc, records, out = audit(tmp_path / "again", "-k", CHECKS, "-n", "0",
                                 "--limit", ":".join(hosts))
        assert {r["host"] for r in records} == set(hosts) and failing(records) == set(), out
        assert rc == 0, out
        return
    rc, records, out = audit(tmp_path / "audit", "-k", CHECKS, "-n", "0")
    if faults[0]["check"] == EVERY_CHECK:
        host = faults[0]["on"]
        # every check that needs the host is unreachable (one that asks others, such
        # as the nameservers about its name, may still pass)
        mine = [r for r in records if r["host"] == host and r["outcome"] not in JUDGED]
        assert mine and {r["outcome"] for r in mine} == {"unreachable"}, out
        assert failing([r for r in records if r["host"] != host]) == set(), out
    else:
        assert failing(records) == expected, out
    assert rc == 1, out
