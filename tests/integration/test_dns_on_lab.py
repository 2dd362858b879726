"""The dns checks and fixes on the lab's real BIND servers (ns1 master, ns2 slave over
TSIG): a healthy lab passes; each DNS fault fails exactly its check on exactly its
host; --remediate --dry-run changes nothing; --remediate fixes it (the re-check passes
once the slave has followed); a second run is clean."""

from __future__ import annotations

import pytest
from fleet import audit

pytestmark = pytest.mark.integration

DNS_SERVERS = ("ns1", "ns2")
# Every file of BIND's configuration and zones, on both servers.
CHECKSUMS = "find /etc/bind /var/cache/bind -type f -print0 | sort -z | xargs -0 sha256sum"

FAULTS = [  # (host, fault, the one (host, check) that must fail)
    ("web1", "missing-ptr", ("web1", "dns.forward_reverse")),
    ("app1", "ptr-mismatch", ("app1", "dns.forward_reverse")),
    ("ns2", "slave-behind", ("ns2", "dns.serial_in_sync")),
    ("ns1", "axfr-open", ("ns1", "dns.axfr_restricted")),
]
FIXABLE = [f for f in FAULTS if f[1] != "slave-behind"]


def failing(records) -> set[tuple[str, str]]:
    return {(r["host"], r["check_id"]) for r in records
            if r["outcome"] not in ("passed", "not-applicable", "fixed")}


def checksums(lab) -> dict[str, str]:
    return {h: lab.sh(h, CHECKSUMS).stdout for h in DNS_SERVERS}


def test_healthy_lab_passes_every_dns_check(healthy, tmp_path):
    rc, records, out = audit(tmp_path, "-k", "dns")
    assert rc == 0 and not failing(records), out
    applied = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "passed"}
    assert applied == {
        *((h, "dns.forward_reverse") for h in ("ns1", "ns2", "files1", "web1", "app1")),
        ("ns1", "dns.zone_valid"), ("ns2", "dns.zone_valid"), ("ns2", "dns.serial_in_sync"),
        ("ns1", "dns.axfr_restricted"), ("ns2", "dns.axfr_restricted")}, out
    na = next(r for r in records if r["host"] == "web1" and r["check_id"] == "dns.zone_valid")
    assert na["outcome"] == "not-applicable" and "not a DNS server" in na["message"]


def test_a_slave_behind_says_why(healthy, tmp_path):
    """(That each fault fails exactly its check on its host: test_every_lab_fault.py.)"""
    host, fault, pair = next(f for f in FAULTS if f[1] == "slave-behind")
    healthy.fault(host, fault)
    rc, records, out = audit(tmp_path, "-k", "dns")
    assert failing(records) == {pair}, out
    rec = next(r for r in records if (r["host"], r["check_id"]) == pair)
    assert rec["evidence"]["advice"].startswith("the slave does not follow")


@pytest.mark.parametrize(("host", "fault", "pair"), FIXABLE, ids=[f[1] for f in FIXABLE])
def test_dry_run_then_fix(healthy, tmp_path, host, fault, pair):
    healthy.fault(host, fault)
    before = checksums(healthy)
    traces = "ls -d /run/fleetcheck.lock /var/backups/fleetcheck/* 2>/dev/null || true"
    traces_before = healthy.sh("ns1", traces).stdout
    rc, records, out = audit(tmp_path / "dry", "-k", "dns", "--remediate", "--dry-run")
    would = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "would-fix"}
    assert would == {pair} and failing(records) == {pair}, out
    assert checksums(healthy) == before, "--dry-run changed a file"
    assert healthy.sh("ns1", traces).stdout == traces_before, "--dry-run locked or backed up"

    rc, records, out = audit(tmp_path / "fix", "-k", "dns", "--remediate")
    assert failing(records) == set(), out
    (rec,) = [r for r in records if r["outcome"] == "fixed"]
    assert (rec["host"], rec["check_id"]) == pair, out
    plan = rec["plan"]
    summaries = [a["summary"] for a in plan["actions"]]
    if fault == "axfr-open":
        assert summaries[-2:] == ["validate with named-checkconf", "rndc reconfig"]
        assert '+\tallow-transfer { key "lab-xfer"; };' in \
            plan["diffs"]["/etc/bind/named.conf.options"]
    else:
        assert plan["target"] == "ns1"   # the record is fixed on the master
        rzone = "47.213.10.in-addr.arpa"
        assert summaries[-2:] == [f"validate {rzone} with named-checkzone",
                                  f"rndc reload {rzone}"]
        assert f"+{'30' if host == 'web1' else '31'}\tIN\tPTR\t{host}.lab.test." in \
            plan["diffs"][f"/etc/bind/db.{rzone}"]
    assert plan["backups"][0]["host_backup"].startswith("/var/backups/fleetcheck/")
    assert rc == 0, out
    # (the next run is clean: test_every_lab_fault.py)


def test_a_zone_that_does_not_validate_is_never_reloaded(healthy, tmp_path):
    """ns1 serves a wrong A for web1, and its zone file also holds an admin's unfinished
    edit that dnspython reads but BIND refuses (an NS without an address): the fix's
    named-checkzone fails, the engine restores the file, rndc reload never runs."""
    zone_file = "/etc/bind/db.lab.test"
    good = healthy.read_file("ns1", zone_file)
    wrong = good.replace("10.213.47.30", "10.213.47.99")   # same serial: ns2 keeps its copy
    unfinished = wrong + "@\tIN\tNS\tns3.lab.test.\n"
    served = "dig +short +norec @127.0.0.1 web1.lab.test A; dig +short +norec @127.0.0.1 lab.test SOA"
    try:
        healthy.put_file("ns1", zone_file, wrong, group="bind")
        healthy.sh("ns1", "rndc reload lab.test")
        healthy.put_file("ns1", zone_file, unfinished, group="bind")
        before = healthy.sh("ns1", served).stdout
        assert before.startswith("10.213.47.99\n"), before
        rc, records, out = audit(tmp_path, "-k", "forward_reverse", "--limit", "web1",
                                 "--remediate")
        (rec,) = records
        plan = rec["plan"]
        assert rec["outcome"] == "failed" and plan["status"] == "failed", out
        assert "named-checkzone" in plan["error"] and plan["restored"] == [zone_file], plan
        assert [a["summary"] for a in plan["actions"]][-1] == "rndc reload lab.test"
        assert healthy.read_file("ns1", zone_file) == unfinished
        assert healthy.sh("ns1", served).stdout == before   # nothing was reloaded
    finally:
        healthy.put_file("ns1", zone_file, good, group="bind")
        healthy.sh("ns1", "rndc reload lab.test")
