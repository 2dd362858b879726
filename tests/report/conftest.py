"""Fixtures for the HTML report tests (the helpers are in report_browser.py)."""

import pytest

import report_browser


@pytest.fixture
def browser():
    driver, profile = report_browser.start()
    yield driver
    report_browser.stop(driver, profile)


@pytest.fixture
def keep_screenshot(browser, tmp_path):
    """Save a screenshot in the test's tmp dir and reports/test-artifacts/."""
    return lambda name: report_browser.screenshot(browser, tmp_path, name)
