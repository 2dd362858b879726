"""fleetcheck's embedded audit and Lynis on the same host, side by side.

    python tools/lynis_compare.py [--lynis PATH] [--keep DIR]

Runs `make audit`'s command (the embedded inventory, this machine) and `lynis audit
system --quick` (Debian's package: `apt-get install lynis`), then prints how many
things each judged, the findings of each, and which Lynis warnings and suggestions
fleetcheck also finds (by the check that covers the Lynis test, MAP below). Root, as
both need it. Lynis runs with a profile that skips its tests that query the network
(the nameservers of resolv.conf, upstream mirrors): nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Lynis test id -> the fleetcheck check that judges the same thing (Lynis 3.0 ids).
MAP = {
    "PKGS-7392": "updates.applied",     # vulnerable (security) packages
    "PKGS-7390": "updates.applied",     # apt lists / pending upgrades
    "KRNL-5830": "updates.applied",     # a reboot is needed (newer kernel)
    "KRNL-6000": "sysctl.baseline",     # sysctl values against a hardening profile
    "SSH-7408": "sshd.baseline",        # sshd options
    "AUTH-9204": "users.accounts",      # accounts with UID 0
    "AUTH-9208": "users.accounts",      # accounts without a password
    "AUTH-9282": "users.accounts",
    "FILE-7524": "files.permissions",   # permissions of important files
    "FILE-6310": "fs.read_only",        # /tmp, /home, /var on separate filesystems
    "FILE-6374": "fs.read_only",        # mount options
    "SCHD-7704": "files.permissions",   # cron files
    "TIME-3104": "time.synced",         # an NTP daemon runs
    "TIME-3185": "time.synced",
    "NETW-3015": "net.listening",       # promiscuous interfaces / listening services
    "NETW-3200": "net.listening",
    "LOGG-2190": "updates.applied",     # deleted files still in use
    "DEB-0831": "updates.applied",      # needrestart (services on upgraded libraries)
    "BOOT-5122": "service.failed",
    "BOOT-5180": "service.failed",
}

# Lynis tests that send traffic off this machine: skipped.
NETWORK_TESTS = ["NETW-2704", "NETW-2705", "PKGS-7320", "PKGS-7381", "DNS-1600",
                 "HTTP-6624", "NAME-4402", "NAME-4404", "NAME-4406", "NAME-4408"]


def run_fleetcheck(reports: Path) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "pytest", "--inventory", "inventories/local.yml", "-q",
           "--fail-on", "medium", "-p", "no:cacheprovider", "--reports-dir", str(reports)]
    started = time.monotonic()
    subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=1800, check=False)
    spent = time.monotonic() - started
    results = sorted(reports.glob("*/results.json"))
    if not results:
        sys.exit("fleetcheck wrote no results.json")
    return json.loads(results[-1].read_text()), spent


def run_lynis(lynis: str, work: Path) -> tuple[dict[str, list[str]], float]:
    profile = work / "fleetcheck.prf"
    profile.write_text("".join(f"skip-test={t}\n" for t in NETWORK_TESTS))
    report = work / "lynis-report.dat"
    cmd = [lynis, "audit", "system", "--quick", "--no-colors", "--profile", str(profile),
           "--report-file", str(report), "--logfile", str(work / "lynis.log")]
    started = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800,
                   check=False)
    spent = time.monotonic() - started
    data: dict[str, list[str]] = {}
    for line in report.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            data.setdefault(key.removesuffix("[]"), []).append(value)
    return data, spent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lynis", default=shutil.which("lynis") or "/usr/sbin/lynis")
    ap.add_argument("--keep", type=Path, help="keep the reports in this directory")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: both audits read what only root may")
    if not Path(args.lynis).exists():
        sys.exit(f"no lynis at {args.lynis}: apt-get install lynis")
    work = args.keep or Path(tempfile.mkdtemp(prefix="lynis-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    results, fc_time = run_fleetcheck(work / "fleetcheck")
    lynis, ly_time = run_lynis(args.lynis, work)

    records = results["records"]
    judged = [r for r in records if r["outcome"] in ("passed", "failed", "would-fix", "fixed")]
    findings = [r for r in records if r["outcome"] in ("failed", "would-fix", "error")]
    failing_checks = {r["check_id"] for r in findings}
    tests = (lynis.get("tests_executed") or [""])[0].split("|")
    warnings = [w.split("|") for w in lynis.get("warning", [])]
    suggestions = [s.split("|") for s in lynis.get("suggestion", [])]

    print(f"{'':28}{'fleetcheck':>12}{'Lynis':>10}")
    print(f"{'judged (records / tests)':28}{len(judged):>12}{len([t for t in tests if t]):>10}")
    print(f"{'findings (failed / warnings)':28}{len(findings):>12}{len(warnings):>10}")
    print(f"{'suggestions':28}{'':>12}{len(suggestions):>10}")
    print(f"{'seconds':28}{fc_time:>12.0f}{ly_time:>10.0f}")
    print("\nfleetcheck findings:")
    for r in sorted(findings, key=lambda r: (r["severity"], r["check_id"])):
        print(f"  [{r['severity']}] {r['check_id']} {r.get('item') or ''}: "
              f"{(r.get('message') or '')[:100]}")
    print("\nLynis warnings and suggestions, and whether fleetcheck finds them too:")
    for kind, rows in (("warning", warnings), ("suggestion", suggestions)):
        for row in rows:
            test, text = row[0], row[1] if len(row) > 1 else ""
            check = MAP.get(test)
            found = ("also found: " + check) if check in failing_checks else (
                f"covered by {check}, passed there" if check else "not covered")
            print(f"  {kind:10} {test:10} {text[:70]:70}  {found}")
    print(f"\nreports in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
