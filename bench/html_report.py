"""How report.html behaves in a real browser as the number of records grows.

For each size (hosts x 50 checks) it runs one audit of local hosts (`ansible_connection:
local`, checks that only assert) in a temporary directory, opens its report.html in
Debian's headless chromium (tests/report/report_browser.py: file:// only, no network)
and prints, for each size:

  audit     wall seconds of the audit (pytest -n 4)
  ready     seconds from the page load to the fleet section's data-ready
  filter    milliseconds to choose one host in the fleet filter (its host view)
  click     milliseconds for a click on a grid cell, back on the fleet view
  size      MB of report.html

and the ratios of the largest size to the smallest (records x N against time x M):
a page whose cost per record is flat has time ratios near the record ratio or below.
These machines are noisy: compare the ratios of one run, never a number alone.

This is a benchmark, not a test: it prints numbers and asserts nothing (the report's
behaviour is tested in tests/report/test_html_browser.py on small fleets).

    .venv/bin/python bench/html_report.py [--sizes 20,200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "report"))

CHECKS = 50


def write_fleet(directory: Path, hosts: int) -> None:
    lines = ["import pytest"]
    for i in range(CHECKS):
        sev = ("critical", "high", "medium", "low", "info")[i % 5]
        lines.append(f'''
@pytest.mark.check("area{i % 10}.c{i}", severity="{sev}")
def test_c{i}(host, evidence):
    evidence["n"] = {i}
    assert hash(host.name + "{i}") % 7, "bad on " + host.name
''')
    (directory / "test_big.py").write_text("\n".join(lines))
    names = "\n".join(f"    h{n:03d}: {{ansible_connection: local}}" for n in range(hosts))
    (directory / "inv.yml").write_text(f"all:\n  hosts:\n{names}\n")


def audit(directory: Path) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "--inventory", "inv.yml", "-q",
                    "-p", "no:randomly", "-p", "no:cacheprovider", "--tb=no", "-n", "4",
                    "--rootdir", str(directory), "test_big.py"],
                   cwd=directory, capture_output=True, timeout=1800)
    return time.monotonic() - start


def measure(driver, report: Path) -> dict[str, float]:
    import report_browser
    from selenium.webdriver.common.by import By

    ready = report_browser.open_report(driver, report)
    start = time.monotonic()
    driver.execute_script("""
        var s = document.getElementById('fc-filter-host'); s.value = 'h001';
        s.dispatchEvent(new Event('change'));""")
    driver.find_element(By.ID, "fc-status")
    filtered = time.monotonic() - start
    driver.find_element(By.ID, "fc-back").click()
    start = time.monotonic()
    driver.find_element(By.CSS_SELECTOR,
                        '#fc-grid td[data-host="h000"][data-area="area3"]').click()
    clicked = time.monotonic() - start
    return {"ready_s": ready, "filter_ms": filtered * 1000, "click_ms": clicked * 1000,
            "size_mb": report.stat().st_size / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,200", help="hosts per run (x 50 checks)")
    args = ap.parse_args()
    import report_browser

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    driver, profile = report_browser.start()
    try:
        for hosts in sizes:
            with tempfile.TemporaryDirectory(prefix="fleetcheck-bench-html-") as tmp:
                directory = Path(tmp)
                write_fleet(directory, hosts)
                took = audit(directory)
                report = directory / "reports" / "last" / "report.html"
                row = {"hosts": hosts, "records": hosts * CHECKS, "audit_s": took,
                       **measure(driver, report)}
            rows.append(row)
            print(f"{row['records']:>7} records: audit {row['audit_s']:.1f}s, page ready "
                  f"{row['ready_s']:.2f}s, host filter {row['filter_ms']:.0f} ms, grid click "
                  f"{row['click_ms']:.0f} ms, report {row['size_mb']:.1f} MB", flush=True)
    finally:
        report_browser.stop(driver, profile)
    if len(rows) > 1:
        small, big = rows[0], rows[-1]
        print(f"ratios {big['records']} / {small['records']} records "
              f"(x{big['records'] / small['records']:g}): "
              + ", ".join(f"{k} x{big[k] / small[k]:.2f}" for k in
                          ("ready_s", "filter_ms", "click_ms", "size_mb") if small[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
