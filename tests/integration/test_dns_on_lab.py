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


@pytest.mark.parametrize(("host", "fault", "pair"), FAULTS, ids=[f[1] for f in FAULTS])
def test_fault_fails_exactly_its_check_on_its_host(healthy, tmp_path, host, fault, pair):
    healthy.fault(host, fault)
    rc, records, out = audit(tmp_path, "-k", "dns")
    assert failing(records) == {pair}, out
    assert rc == 1
    if fault == "slave-behind":
        rec = next(r for r in records if (r["host"], r["check_id"]) == pair)
        assert rec["evidence"]["advice"].startswith("the slave does not follow")


@pytest.mark.parametrize(("host", "fault", "pair"), FIXABLE, ids=[f[1] for f in FIXABLE])
def test_dry_run_fix_and_clean_second_run(healthy, tmp_path, host, fault, pair):
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

    rc, records, out = audit(tmp_path / "again", "-k", "dns", "--remediate")
    assert rc == 0 and not failing(records), out
    assert not [r for r in records if r["plan"]], "the second run planned something"


def test_a_zone_that_does_not_validate_is_never_reloaded(healthy, tmp_path):
    """The fix's named-checkzone fails (a broken record elsewhere in the zone file,
    loaded by nobody yet): the engine restores the file and rndc reload never runs."""
    rzone_file = "/etc/bind/db.47.213.10.in-addr.arpa"
    healthy.fault("web1", "missing-ptr")
    good = healthy.read_file("ns1", rzone_file)
    # An admin's unfinished edit, not yet reloaded: dnspython reads it, BIND refuses
    # it (a CNAME beside other data at 31).
    healthy.put_file("ns1", rzone_file, good + "31\tIN\tCNAME\tapp1.lab.test.\n",
                     group="bind")
    broken = healthy.read_file("ns1", rzone_file)
    rc, records, out = audit(tmp_path, "-k", "forward_reverse", "--limit", "web1",
                             "--remediate")
    (rec,) = records
    assert rec["outcome"] == "failed", out
    plan = rec["plan"]
    assert plan["status"] in ("failed", "refused"), plan
    assert healthy.read_file("ns1", rzone_file) == broken
    if plan["status"] == "failed":
        assert "named-checkzone" in plan["error"] and plan["restored"] == [rzone_file]
    healthy.put_file("ns1", rzone_file, good, group="bind")
