"""`python -m fleetcheck parse FORMAT [FILE]` on the real fixtures, file and stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleetcheck", "parse", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def expected(case: str) -> dict:
    return json.loads((FIXTURES / f"{case}.json").read_text())["fact"]


def test_parse_mdstat_file():
    proc = run("mdstat", str(FIXTURES / "mdstat/raid1_delayed_and_recovery.txt"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected("mdstat/raid1_delayed_and_recovery")


def test_parse_mdstat_stdin():
    text = (FIXTURES / "mdstat/raid10_resync_pending_debian12.txt").read_text()
    proc = run("mdstat", stdin=text)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected("mdstat/raid10_resync_pending_debian12")


def test_parse_mdstat_malformed_says_where():
    proc = run("mdstat", str(FIXTURES / "mdstat/malformed_status_without_device_line.txt"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "line 2: status line without a device line" in proc.stderr


def test_parse_vmstat_and_nproc():
    proc = run("vmstat", str(FIXTURES / "vmstat/debian12_timestamp.txt"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected("vmstat/debian12_timestamp")
    proc = run("nproc", stdin="8\n")
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"cpus": 8}


def test_parse_named_conf_and_named_checkzone():
    proc = run("named_conf", str(FIXTURES / "named_conf/debian12_bind918_secondary.txt"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected("named_conf/debian12_bind918_secondary")
    text = (FIXTURES / "named_checkzone/debian12_cname_and_other_data.txt").read_text()
    proc = run("named_checkzone", stdin=text)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected("named_checkzone/debian12_cname_and_other_data")
    proc = run("named_checkzone", str(FIXTURES / "named_checkzone/malformed_truncated_no_verdict.txt"))
    assert proc.returncode == 2 and "line 2: no 'zone NAME/CLASS:' line" in proc.stderr
