"""Hostile values from a real lab host stay text in report.html.

web1's hostname, /etc/motd and a file a command prints are set to markup that would
run script if it were ever parsed as HTML; an audit over SSH with checks that show
those values (in evidence, in failure messages and in an item id) writes the report;
headless chromium opens it and proves that nothing ran. The screenshot is kept with
the test's tmp dir and in reports/test-artifacts/. Everything changed is restored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "report"))
import report_browser  # noqa: E402

HOST = "web1"
HOSTNAME = "<img src=x onerror=window.__pwned=1>"     # 37 bytes: fits a hostname
MOTD = ("<script>window.__pwned='motd'</script>\n"
        '"><svg onload=window.__pwned=\'svg\'>\n</script><script>alert(1)</script>\n')
OUTPUT_FILE = "/etc/fleetcheck-hostile.txt"
OUTPUT = "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe> &lt;b&gt;"

CHECKS = f'''
import pytest
from fleetcheck.facts.base import Command

@pytest.mark.check("escape.hostname", severity="high", title="hostname is plain")
def test_hostname(host, evidence):
    name = host.run(Command("hostname")).stdout.strip()
    evidence["hostname"] = name
    assert "<" not in name, "hostname is " + name

@pytest.mark.check("escape.motd", severity="medium", title="motd is plain")
def test_motd(host, evidence):
    motd = host.run(Command("cat %s", "/etc/motd")).stdout
    evidence["motd"] = motd
    assert "<" not in motd, motd

@pytest.mark.check("escape.output", severity="low", title="command output is plain")
@pytest.mark.parametrize("path", [{OUTPUT_FILE!r}])
def test_output(host, evidence, path):
    out = host.run(Command("cat %s", path)).stdout
    evidence["output"] = out
    assert "<" not in out, out
'''


@pytest.fixture
def hostile_web1(healthy):
    lab = healthy
    old_hostname = lab.sh(HOST, "hostname").stdout.strip()
    old_motd = lab.read_file(HOST, "/etc/motd")
    # Debian's hostname(1) refuses markup; the kernel (sethostname(2)) takes any bytes,
    # as a misbehaving provisioning tool would set them.
    set_name = "import socket, sys; socket.sethostname(sys.argv[1])"
    lab.exec(HOST, ["python3", "-c", set_name, HOSTNAME], check=True)
    lab.put_file(HOST, "/etc/motd", MOTD)
    lab.put_file(HOST, OUTPUT_FILE, OUTPUT)
    try:
        yield lab
    finally:
        lab.exec(HOST, ["python3", "-c", set_name, old_hostname], check=True)
        if old_motd is None:
            lab.exec(HOST, ["rm", "-f", "/etc/motd"], check=True)
        else:
            lab.put_file(HOST, "/etc/motd", old_motd)
        lab.exec(HOST, ["rm", "-f", OUTPUT_FILE], check=True)
    assert lab.sh(HOST, "hostname").stdout.strip() == old_hostname


def test_hostile_host_values_stay_text(hostile_web1, tmp_path):
    lab = hostile_web1
    data = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
    v = data["all"]["vars"]
    v["ansible_ssh_private_key_file"] = str(lab.state_dir / "id_ed25519")
    v["fleetcheck_known_hosts"] = str(lab.state_dir / "known_hosts")
    v["fleetcheck_ssh_config"] = str(lab.state_dir / "ssh_config")
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump(data))
    checks = tmp_path / "test_escape.py"
    checks.write_text(CHECKS)
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(checks), "--inventory", str(inventory),
         "--limit", HOST, "-q", "-p", "no:cacheprovider", "--reports-dir", str(reports),
         "--rootdir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    records = json.loads((reports / "last" / "results.json").read_text())["records"]
    by_check = {r["check_id"]: r for r in records}
    assert by_check["escape.hostname"]["evidence"]["hostname"] == HOSTNAME, out
    assert by_check["escape.motd"]["evidence"]["motd"] == MOTD
    assert by_check["escape.output"]["evidence"]["output"] == OUTPUT

    report = reports / "last" / "report.html"
    html = report.read_text()
    for raw in (HOSTNAME, "<script>window.__pwned='motd'</script>", OUTPUT):
        assert raw not in html, raw
    driver, profile = report_browser.start()
    try:
        report_browser.open_report(driver, report)
        report_browser.assert_nothing_ran(driver)
        report_browser.expand_everything(driver)
        report_browser.assert_nothing_ran(driver)
        body = driver.execute_script("return document.body.innerText")
        assert HOSTNAME in body and "window.__pwned='motd'" in body
        driver.execute_script("document.getElementById('fc-records').scrollIntoView()")
        report_browser.screenshot(driver, tmp_path, "report-hostile-lab")
    finally:
        report_browser.stop(driver, profile)
