"""Every lab fault, as ``python -m lab faults --json`` lists it, against the whole audit:
on a healthy lab every check passes (or does not apply) on every host; with the fault
applied to one host of its group, exactly the fault's check fails, on exactly that
host; a fixable fault is fixed by --remediate (its record `fixed`, nothing else
changed), and the next run is clean. A fixable fault is judged by the --remediate run
itself (it checks before it fixes: a check that failed and was fixed is `fixed`, one
that failed and was not is `failed`), which saves a plain audit per fault; an
unfixable one by a plain audit. One lab, the faults in sequence; capacity checks
are left out (they judge this machine's load, which the test run itself makes). The
healthy run goes through xdist (-n 2); the fault runs do not: on a 2-core machine a
serial audit of the 5 lab hosts is ~4 s faster than one that starts two workers, and
~100 of them run here.

The per-area lab tests (test_dns_on_lab.py, test_files_and_updates_on_lab.py,
test_remediation_on_lab.py) prove the rest: --dry-run writes nothing, backups, the
plans' contents, rollback.
"""

from __future__ import annotations

import json
import subprocess
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


def host_for(lab, group: str, check: str = "") -> str:
    """The host a fault is applied to: the first of its group ('all': web1; for a fault
    that makes the host unreachable, app1: no other host's check depends on it, while
    app1's Squid fetches its test URL from web1)."""
    if group == "all":
        return "app1" if check == EVERY_CHECK else "web1"
    return next(name for name in lab.hosts if lab.inv.by_name(name).has(group))


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


@pytest.mark.parametrize("fault", FAULTS, ids=[f["name"] for f in FAULTS])
def test_fault_fails_exactly_its_check_is_fixed_and_the_next_run_is_clean(
        healthy, tmp_path, fault):
    host = host_for(healthy, fault["host"], fault["check"])
    healthy.fault(host, fault["name"])
    if fault["fixable"]:
        # the --remediate run judges first: its records say the fault's check failed
        # (and only it: any other failing check would be `failed`, or `fixed` too)
        rc, records, out = audit(tmp_path / "fix", "-k", CHECKS, "-n", "0", "--remediate")
        fixed = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "fixed"}
        assert fixed == {(host, fault["check"])}, out
        assert failing(records) - fixed == set(), out
        assert rc == 0, out
        # the next run of the fixed host (the --remediate run judged every other host
        # before it fixed this one, and the fix changed this one only)
        rc, records, out = audit(tmp_path / "again", "-k", CHECKS, "-n", "0", "--limit", host)
        assert {r["host"] for r in records} == {host} and failing(records) == set(), out
        assert rc == 0, out
        return
    rc, records, out = audit(tmp_path / "audit", "-k", CHECKS, "-n", "0")
    if fault["check"] == EVERY_CHECK:
        # every check that needs the host is unreachable (one that asks others, such
        # as the nameservers about its name, may still pass)
        mine = [r for r in records if r["host"] == host and r["outcome"] not in JUDGED]
        assert mine and {r["outcome"] for r in mine} == {"unreachable"}, out
        assert failing([r for r in records if r["host"] != host]) == set(), out
    else:
        assert failing(records) == {(host, fault["check"])}, out
    assert rc == 1, out
