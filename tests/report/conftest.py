"""A real headless browser for the HTML report tests: Debian's chromium driven by its
chromedriver through selenium (tests/requirements-apt.txt, tests/requirements.txt).

Only file:// pages are opened; the browser runs with a fresh profile and without any
background networking.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


@pytest.fixture
def browser():
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
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def keep_screenshot(browser, tmp_path, request):
    """Save a screenshot in the test's tmp dir and reports/test-artifacts/; returns the path."""
    def save(name: str) -> Path:
        shot = tmp_path / f"{name}.png"
        browser.save_screenshot(str(shot))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ARTIFACTS / shot.name)
        print(f"screenshot: {shot} (copy: {ARTIFACTS / shot.name})")
        return shot
    return save
