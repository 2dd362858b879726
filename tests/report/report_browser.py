"""A real headless browser for the HTML report tests: Debian's chromium driven by its
chromedriver through selenium (tests/requirements-apt.txt, tests/requirements.txt).

Only file:// pages are opened; the browser runs with a fresh profile and without any
background networking. Used by tests/report/conftest.py and the lab escaping test.
"""

import base64
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def start():
    """A started driver and its profile dir; skips the test when chromium is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromium-driver are not installed "
                    "(apt-get install -y $(cat tests/requirements-apt.txt))")
    profile = tempfile.mkdtemp(prefix="fleetcheck-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    return driver, profile


def stop(driver, profile) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, directory: Path, name: str) -> Path:
    """Save NAME.png in DIRECTORY (the test's tmp dir) and copy it to reports/test-artifacts/."""
    shot = Path(directory) / f"{name}.png"
    driver.save_screenshot(str(shot))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)
    print(f"screenshot: {shot} (copy: {ARTIFACTS / shot.name})")
    return shot


def open_report(driver, path: Path, fragment: str = "") -> float:
    """Load report.html (at `#fragment` when given: a fresh load, not a jump within
    the page already open); seconds until the fleet section says it is ready."""
    start_time = time.monotonic()
    if fragment:
        driver.get("about:blank")
    driver.get(Path(path).as_uri() + (f"#{fragment}" if fragment else ""))
    for _ in range(1200):
        if driver.execute_script(
                "var e=document.getElementById('fleetcheck');"
                "return e && e.getAttribute('data-ready') === '1'"):
            return time.monotonic() - start_time
        time.sleep(0.05)
    pytest.fail("the fleet section never became ready")


def assert_nothing_ran(driver) -> None:
    """No payload ran: no window.__pwned, no alert, no injected element.

    "No alert" is told by the exception's name: pytester restores sys.modules after
    each of its tests, so after an earlier in-process run in this worker the driver
    may raise selenium's NoAlertPresentException of another import than the one this
    function would import."""
    assert driver.execute_script("return window.__pwned === undefined"), \
        driver.execute_script("return window.__pwned")
    try:
        alert = driver.switch_to.alert
        text = alert.text
    except Exception as exc:  # noqa: BLE001 - anything else is raised again
        if type(exc).__name__ != "NoAlertPresentException":
            raise
    else:
        alert.dismiss()
        pytest.fail(f"an alert was opened: {text!r}")
    injected = driver.execute_script("""
        return Array.from(document.querySelectorAll(
            'img[src="x"], svg[onload], iframe, a[href^="javascript"]'))
          .map(e => e.outerHTML);""")
    assert injected == []
    assert driver.execute_script("return getComputedStyle(document.body).display") != "none"


def expand_everything(driver) -> None:
    """Open every record's details and every pytest-html row, so all values are in the DOM."""
    driver.execute_script("document.querySelectorAll('.fc-row').forEach(r => r.click());")
    driver.execute_script(
        "document.querySelectorAll('.collapsible td, .col-result').forEach(c => c.click());")
    time.sleep(0.3)


def pdf_of(browser, directory, name):
    """The page printed by chromium (WebDriver's print: DevTools' Page.printToPDF) on
    A4; the PDF's text (pdftotext) and each page's width and its words' right edges
    (pdftotext -bbox), in points. The PDF is kept in DIRECTORY and reports/test-artifacts/."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = directory / f"{name}.pdf"
    pdf.write_bytes(base64.b64decode(browser.print_page(options)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / pdf.name)
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = [(float(w), [float(x) for x in re.findall(r'xMax="([0-9.]+)"', body)])
             for w, body in re.findall(r'<page width="([0-9.]+)"[^>]*>(.*?)</page>', bbox, re.S)]
    return text, pages
