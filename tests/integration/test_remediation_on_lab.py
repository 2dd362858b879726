"""--remediate on real lab hosts: each registered fix against its injected fault,
dry-run proven to write nothing, re-check, second run clean, rollback, and the faults
the engine must survive (invalid config, hostile values, a cut connection)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fleet import REPO, audit, run_id, variant

from fleetcheck.remediation import load_all

pytestmark = pytest.mark.integration

HOST = "web1"
FAULTS = ["ip-forward", "permit-root-login", "service-stopped", "icmp-redirects", "weak-cipher",
          "shadow-readable", "world-writable-etc", "clock-stopped", "dbus-crashed",
          "module-blacklist-removed", "boot-disabled", "default-runlevel", "fstab-unmounted",
          "interface-down", "route-missing", "hostname-changed", "pam-wheel-removed",
          "allowoverride-all", "ftp-anonymous-upload"]
FIXED = {"sysctl.value", "sshd.config", "service.running", "sysctl.baseline", "sshd.baseline",
         "files.permissions", "files.world_writable", "time.synced", "service.failed",
         "kernel.modules", "boot.enabled", "boot.default_target", "fs.mounted",
         "net.interfaces", "net.routes", "net.hostname", "pam.su_wheel",
         "web.allow_override", "ftp.vsftpd"}
ELSEWHERE = {"samba.shares", "nfs.exports", "updates.applied", "mail.open_relay",
             "dhcp.config_valid", "proxy.squid", "vpn.openvpn",
             "dns.forward_reverse", "dns.axfr_restricted",
             # the lab's swap and LVM are captures (the shared kernel has no swap and no
             # device-mapper): these fixes refuse there, their plans are unit-tested
             "fs.swap", "lvm.lv_active",
             # the hypervisor is app1: test_lab_faults_vm.py dry-runs the guests' fixes
             "vm.guests", "vm.autostart", "vm.undeclared"}
# Every regular file under /etc, /var and /srv with its checksum, except the logs the
# daemons append to when the audit's probes talk to them (web.responds, web.tls and
# ftp.vsftpd are requests from the controller: Apache, nginx and vsftpd log them).
TRAFFIC_LOGS = ("/var/log/apache2", "/var/log/nginx", "/var/log/vsftpd.log")
CHECKSUMS = ("find /etc /var /srv -xdev -type f -print0 2>/dev/null | sort -z "
             "| xargs -0 sha256sum")


def checksums(lab) -> str:
    lines = lab.sh(HOST, CHECKSUMS).stdout.splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.split("  ", 1)[-1].startswith(TRAFFIC_LOGS)]
    assert len(kept) > 1000 and len(kept) < len(lines), "the filter keeps the rest"
    return "".join(kept)


def by_check(records):
    return {r["check_id"]: r for r in records if r["outcome"] != "passed"}


@pytest.fixture
def broken(healthy):
    for fault in FAULTS:
        healthy.fault(HOST, fault)
    return healthy


def test_dry_run_of_every_fix_writes_nothing(broken, tmp_path):
    before = checksums(broken)
    rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "--dry-run",
                             "-k", "not capacity")
    would = {r["check_id"]: r for r in records if r["outcome"] == "would-fix"}
    # every registered remediation ran, except those whose faults live on other hosts
    # (their dry runs: test_files_and_updates_on_lab.py, on files1 and app1 (vpn too);
    # test_dns_on_lab.py, on the DNS faults) and the two the lab cannot run
    assert set(would) == set(load_all()) - ELSEWHERE, out
    assert "-PermitRootLogin yes" in "".join(would["sshd.config"]["plan"]["diffs"].values())
    assert checksums(broken) == before
    assert broken.sh(HOST, "ls /run/fleetcheck.lock /var/backups/fleetcheck 2>&1 || true"
                     ).stdout.count("No such file") == 2
    assert rc == 1


def test_fix_recheck_second_run_clean_and_rollback(broken, tmp_path):
    sshd_before = broken.read_file(HOST, "/etc/ssh/sshd_config")
    rc, records, out = audit(tmp_path / "1", "--limit", HOST, "--remediate", "-k", "not capacity")
    fixed = {r["check_id"] for r in records if r["outcome"] == "fixed"}
    assert fixed == FIXED, out
    assert rc == 0, out
    assert broken.sh(HOST, "sysctl -n net.ipv4.ip_forward").stdout.strip() == "0"
    assert "PermitRootLogin prohibit-password" in broken.read_file(HOST, "/etc/ssh/sshd_config")
    sshd_record = next(r for r in records if r["check_id"] == "sshd.config"
                       and r["outcome"] == "fixed")
    assert sshd_record["item"] == "PermitRootLogin"
    backups = sshd_record["plan"]["backups"]
    assert backups[0]["host_backup"].startswith("/var/backups/fleetcheck/")
    # A second run plans nothing and changes nothing.
    rc, records, out = audit(tmp_path / "2", "--limit", HOST, "--remediate", "-k", "not capacity")
    assert rc == 0 and {r["outcome"] for r in records} <= {"passed", "not-applicable"}, out
    assert not [r for r in records if r["plan"]], "the second run planned something"
    # Rollback puts every changed file back (the running state stays as fixed).
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback",
                           run_id(tmp_path / "1"), "--reports-dir",
                           str(tmp_path / "1" / "reports")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert broken.read_file(HOST, "/etc/ssh/sshd_config") == sshd_before
    assert broken.read_file(HOST, "/etc/sysctl.d/99-fleetcheck.conf") is None


def test_invalid_sshd_value_is_validated_and_restored(healthy, tmp_path):
    sshd_before = healthy.read_file(HOST, "/etc/ssh/sshd_config")
    inv = variant(tmp_path, healthy, sshd={"PermitRootLogin": "$(touch /tmp/pwned)"})
    rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "-k",
                             "sshd and not baseline and not permissions", inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "failed" and rec["plan"]["status"] == "failed", rec
    assert "sshd -t" in rec["plan"]["summary"] and rec["plan"]["restored"]
    assert healthy.read_file(HOST, "/etc/ssh/sshd_config") == sshd_before
    assert healthy.sh(HOST, "test -e /tmp/pwned", check=False).returncode != 0
    # sshd still answers: the broken config never reached a reload.
    rc, records, out = audit(tmp_path / "again", "--limit", HOST, "-k", "raid")
    assert records[0]["outcome"] == "not-applicable", out


def test_newline_in_a_value_is_refused_before_any_host(healthy, tmp_path):
    # The value kinds refuse it at load (one line, the var path, exit 4); the plan's own
    # refusal of such a value is tested in tests/unit/test_plans_hostile.py.
    before = checksums(healthy)
    inv = variant(tmp_path, healthy, sshd={"PermitRootLogin": "no\nPermitEmptyPasswords yes"})
    rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "-k", "sshd",
                             inventory=inv)
    assert rc == 4 and records == [], out
    line = [ln for ln in out.splitlines() if "sshd.PermitRootLogin" in ln]
    assert len(line) == 1 and "line break" in line[0], out
    assert "Traceback" not in out
    assert checksums(healthy) == before


def test_hostile_sysctl_value_is_data(healthy, tmp_path):
    inv = variant(tmp_path, healthy,
                  sysctl={"net.ipv4.ip_forward": "1; touch /tmp/pwned2 $(touch /tmp/pwned3)"})
    rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "-k",
                             "sysctl and not baseline",
                             inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "failed" and rec["plan"]["status"] == "failed", rec
    assert healthy.sh(HOST, "ls /tmp/pwned2 /tmp/pwned3 2>&1 || true").stdout.count(
        "No such file") == 2
    assert healthy.read_file(HOST, "/etc/sysctl.d/99-fleetcheck.conf") is None  # restored


def test_key_the_host_cannot_change_is_reported(healthy, tmp_path):
    # kernel.* is machine-wide; lab hosts have /proc/sys read-only outside net.*.
    inv = variant(tmp_path, healthy, sysctl={"kernel.domainname": "fleet.example"})
    rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "-k",
                             "sysctl and not baseline",
                             inventory=inv)
    (rec,) = records
    assert rec["outcome"] == "failed" and rec["plan"]["status"] == "failed", rec
    assert "sysctl -w kernel.domainname" in rec["plan"]["summary"]
    assert rec["plan"]["stderr"].strip(), "the host's own error is shown"


def test_connection_cut_during_apply(healthy, tmp_path):
    """sshd is killed while a fix runs: each file is as before or as planned, the
    record says what happened, and rollback restores."""
    healthy.fault(HOST, "ip-forward")
    # A slow `sysctl -w` gives a window between the file write and the next action.
    healthy.put_file(HOST, "/usr/local/sbin/sysctl",
                     '#!/bin/sh\ncase "$*" in *-w*) sleep 8;; esac\nexec /sbin/sysctl "$@"\n',
                     mode=0o755)
    try:
        reports = tmp_path / "reports"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--inventory", "inventories/lab.yml", "-q",
             "-p", "no:cacheprovider", "--reports-dir", str(reports), "--limit", HOST,
             "--remediate", "-k", "sysctl and not baseline"],
            cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while healthy.read_file(HOST, "/etc/sysctl.d/99-fleetcheck.conf") is None:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        pids = healthy.sh(HOST, "pidof sshd").stdout.split()
        healthy.exec(HOST, ["kill", "-9", *pids])
        out, _ = proc.communicate(timeout=120)
        import json

        records = json.loads((reports / "last" / "results.json").read_text())["records"]
        (rec,) = records
        assert rec["outcome"] in ("failed", "unreachable"), out
        assert "connection lost" in (rec["plan"] or {}).get("error", rec["message"]), rec
        persisted = healthy.read_file(HOST, "/etc/sysctl.d/99-fleetcheck.conf")
        assert persisted.endswith("net.ipv4.ip_forward = 0\n")  # complete, not half-written
    finally:
        healthy.exec(HOST, ["rm", "-f", "/usr/local/sbin/sysctl"])
        healthy.exec(HOST, ["labsvc", "start", "ssh"])
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback",
                           (reports / "last").resolve().name, "--reports-dir", str(reports)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert healthy.read_file(HOST, "/etc/sysctl.d/99-fleetcheck.conf") is None


def test_disk_full_on_the_host(healthy, tmp_path):
    """A full filesystem under the file a fix writes: no truncated file, no temp file,
    the files beside it intact."""
    healthy.fault(HOST, "ip-forward")  # /etc/sysctl.d/90-lab-forward.conf: ip_forward = 1
    keep = healthy.read_file(HOST, "/etc/sysctl.d/90-lab-forward.conf")
    healthy.sh(HOST, "mount -t tmpfs -o size=16k tmpfs /etc/sysctl.d")
    try:
        healthy.put_file(HOST, "/etc/sysctl.d/90-lab-forward.conf", keep)
        healthy.sh(HOST, "dd if=/dev/zero of=/etc/sysctl.d/zz-filler bs=1k count=64 "
                         "2>/dev/null || true")
        rc, records, out = audit(tmp_path, "--limit", HOST, "--remediate", "-k",
                                 "sysctl and not baseline")
        (rec,) = records
        assert rec["outcome"] == "failed" and rec["plan"]["status"] == "failed", rec
        assert "No space left" in rec["plan"]["stderr"], rec["plan"]
        names = healthy.sh(HOST, "ls -a /etc/sysctl.d").stdout.split()
        assert "99-fleetcheck.conf" not in names
        assert not [n for n in names if n.startswith(".fleetcheck")], names
        assert healthy.read_file(HOST, "/etc/sysctl.d/90-lab-forward.conf") == keep
    finally:
        healthy.sh(HOST, "umount /etc/sysctl.d")
