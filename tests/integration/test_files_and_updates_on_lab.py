"""samba.shares, nfs.exports, updates.applied, vpn.openvpn, mail.open_relay,
dhcp.config_valid and proxy.squid on the lab: a healthy lab passes; each of the faults
share-removed, smbd-stopped, nfs-insecure-export, security-update, openvpn-stopped,
open-relay, dhcpd-stopped and proxy-open makes exactly its check fail on exactly that host;
--dry-run changes nothing (that each fails exactly its check on exactly that host, is
fixed by --remediate and the next run is clean: test_every_lab_fault.py); rollback
stops the VPN the fix started."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fleet import REPO, audit, run_id

pytestmark = pytest.mark.integration

# The checks of this file, and service.running (which must stay green: smbd is judged
# by samba.shares alone); every other check is left to its own tests (-k keeps runs
# short).
CHECKS = "samba or nfs or updates or service or vpn or mail or dhcp or proxy"
FAULTS = {
    "share-removed": ("files1", "samba.shares", set()),
    "smbd-stopped": ("files1", "samba.shares", set()),
    "nfs-insecure-export": ("files1", "nfs.exports", set()),
    "security-update": ("app1", "updates.applied", set()),
    "openvpn-stopped": ("files1", "vpn.openvpn", set()),
    "open-relay": ("app1", "mail.open_relay", set()),
    "dhcpd-stopped": ("app1", "dhcp.config_valid", set()),
    "proxy-open": ("app1", "proxy.squid", set()),
}
# Every regular file under /etc, /var and /srv with its checksum, except smbd's
# profiling counters: smbd itself updates them whenever a client connects, and the
# check's `smbclient -L` from the controller is a client (a read, like any user's).
# Squid's and Postfix's own files are left out too: the checks' requests through the
# proxy and their SMTP conversation are clients of those daemons (Squid logs and caches
# them; Postfix's tlsmgr and smtpd keep state), and no fix writes there.
CHECKSUMS = ("find /etc /var /srv -xdev -type f ! -path /var/cache/samba/smbprofile.tdb "
             "! -path '/var/log/squid/*' ! -path '/var/spool/squid/*' "
             "! -path '/var/spool/postfix/*' ! -path '/var/lib/postfix/*' "
             "-print0 2>/dev/null | sort -z | xargs -0 sha256sum")


def failing(records) -> set[tuple[str, str]]:
    return {(r["host"], r["check_id"]) for r in records
            if r["outcome"] not in ("passed", "not-applicable")}


def test_healthy_lab_passes(healthy, tmp_path):
    rc, records, out = audit(tmp_path, "-k", CHECKS)
    assert failing(records) == set(), out
    passed = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "passed"}
    assert {("files1", "samba.shares"), ("files1", "nfs.exports")} <= passed
    assert {h for h, c in passed if c == "updates.applied"} == set(healthy.hosts)
    # samba/nfs apply where the inventory declares shares/exports, and only there
    na = {(r["host"], r["check_id"]) for r in records if r["outcome"] == "not-applicable"
          and r["check_id"] in ("samba.shares", "nfs.exports")}
    assert na == {(h, c) for h in healthy.hosts if h != "files1"
                  for c in ("samba.shares", "nfs.exports")}
    assert rc == 0, out


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_dry_run_changes_nothing(healthy, tmp_path, fault):
    """The --dry-run of the fault's host: its check is a would-fix with a plan, and no
    file under /etc, /var or /srv changes (backups would be files under /var: the
    checksums cover them), no lock is left. That the fault fails exactly its check,
    is fixed by --remediate and the next run is clean: test_every_lab_fault.py."""
    host, check, _ = FAULTS[fault]
    healthy.fault(host, fault)
    before = healthy.sh(host, CHECKSUMS).stdout
    rc, records, out = audit(tmp_path / "dry", "--limit", host, "--remediate", "--dry-run",
                             "-k", CHECKS)
    would = {r["check_id"]: r for r in records if r["outcome"] == "would-fix"}
    assert set(would) == {check}, out
    assert would[check]["plan"]["actions"], would[check]
    assert failing(records) == {(host, check)}, out
    after = healthy.sh(host, CHECKSUMS).stdout
    changed = set(after.splitlines()) ^ set(before.splitlines())
    assert not changed, f"--dry-run changed files: {sorted(changed)}"
    assert healthy.sh(host, "test -e /run/fleetcheck.lock", check=False).returncode != 0
    assert rc == 1, out


def test_stale_lists_are_a_finding_unless_refreshed(healthy, tmp_path):
    from fleet import variant

    # apt-get update last ran 30 days ago, as far as the lists' mtimes tell
    healthy.sh("web1", "touch -d '30 days ago' /var/lib/apt/lists /var/lib/apt/lists/partial")
    inv = variant(tmp_path, healthy, updates={"refresh_lists": False})
    rc, records, out = audit(tmp_path / "stale", "--limit", "web1", "-k", "updates",
                             inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "failed" and rec["severity"] == "low", out   # stale lists: low
    assert rec["evidence"]["lists_age_days"] >= 30 and "days old" in rec["message"]
    # lab.yml allows refreshing first: `apt-get update` against the lab's local repo
    rc, records, out = audit(tmp_path / "fresh", "--limit", "web1", "-k", "updates")
    (rec,) = records
    assert rec["outcome"] == "passed" and rec["evidence"]["refreshed"] is True, out
    assert rec["evidence"]["lists_age_days"] < 1


def test_the_started_vpn_is_stopped_again_by_rollback(healthy, tmp_path):
    """vpn.openvpn's fix changes no file: what rollback restores is the runtime state
    (its on_rollback stop), and the instance is down again as before the fix."""
    runs = "pgrep -x openvpn >/dev/null && echo runs || echo stopped"
    healthy.fault("files1", "openvpn-stopped")
    rc, records, out = audit(tmp_path, "--limit", "files1", "--remediate", "-k", "vpn")
    assert [r["outcome"] for r in records] == ["fixed"], out
    assert healthy.sh("files1", runs).stdout.strip() == "runs"
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback", run_id(tmp_path),
                           "--reports-dir", str(tmp_path / "reports")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert healthy.sh("files1", runs).stdout.strip() == "stopped"
    healthy.heal("files1", "openvpn-stopped")
