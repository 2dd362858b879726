"""report.html in a real headless browser (Debian's chromium + chromedriver).

- hostile values from a host (command output, a file's content, an item id) are shown
  as text: nothing they carry runs, no element they describe exists;
- the fleet section works: grid, totals, filters, details;
- 200 hosts x 50 checks (10,000 records) stay usable: times are printed and bounded.

The lab variant (a lab host's hostname, motd and a command's output) is in
tests/integration/test_report_escaping_lab.py.
"""

import json
import re
import time

import pytest
from report_browser import assert_nothing_ran, expand_everything, open_report
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.chromium

# Each payload, if it ever ran, would set window.__pwned (and some would alert).
PAYLOADS = [
    "<script>window.__pwned='script'</script>",
    '"><img src=x onerror="window.__pwned=\'img\'">',
    "'><svg onload=window.__pwned='svg'>",
    "</script><script>window.__pwned='close'</script>",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "<a href=javascript:window.__pwned='href'>x</a>",
    "<!-- --><script>alert(1)</script> &amp; &lt;b&gt;",
    "\u2028<style>body{display:none}</style>",
]
HOSTILE = "\n".join(PAYLOADS)

CHECKS = '''
import pytest
from fleetcheck.facts.base import Command

@pytest.mark.check("web.motd", severity="high", title="motd is harmless")
def test_motd(host, evidence):
    text = host.run(Command("cat %s", host.vars["motd_file"])).stdout
    evidence["motd"] = text
    assert "<" not in text, "motd says: " + text

@pytest.mark.check("web.output", severity="medium", title="command output")
@pytest.mark.parametrize("item", [{items!r}])
def test_output(host, evidence, item):
    out = host.run(Command("printf %s", item)).stdout
    evidence["output"] = out
    assert out == "", out
'''


def hostile_fleet(pytester):
    motd = pytester.path / "motd.txt"
    motd.write_text(HOSTILE)
    pytester.makefile(".yml", inv=f"""
all:
  vars:
    motd_file: {motd}
  hosts:
    a: {{ansible_connection: local}}
""")
    pytester.makepyfile(test_hostile=CHECKS.replace("{items!r}", ", ".join(
        repr(p) for p in PAYLOADS[:3])))
    res = pytester.runpytest("--inventory", "inv.yml")
    assert res.ret == 1
    return pytester.path / "reports" / "last" / "report.html"


def test_hostile_values_are_text(pytester, browser, keep_screenshot):
    report = hostile_fleet(pytester)
    html = report.read_text()
    # the raw payload never appears as markup in the file
    for payload in PAYLOADS[:6]:
        assert payload not in html, payload
    open_report(browser, report)
    assert_nothing_ran(browser)
    expand_everything(browser)
    assert_nothing_ran(browser)
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>window.__pwned='script'</script>" in page_text  # shown, as text
    assert "onerror=" in page_text
    browser.execute_script("document.getElementById('fc-records').scrollIntoView()")
    keep_screenshot("report-hostile-local")
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "x" not in e["message"].split("/")[-1:]]
    assert not [e for e in severe if "Uncaught" in e["message"]], severe


def test_grid_filters_and_details(pytester, browser, keep_screenshot):
    report = hostile_fleet(pytester)
    open_report(browser, report)
    cell = browser.find_element(By.CSS_SELECTOR, '#fc-grid td[data-host="a"][data-area="web"]')
    assert cell.get_attribute("data-worst") == "failed"
    assert "4 failed" in cell.text
    browser.find_element(By.ID, "fc-filter-outcome").send_keys("passed")
    assert browser.find_element(By.ID, "fc-status").text.startswith("0 of 4")
    browser.find_element(By.ID, "fc-reset").click()
    assert browser.find_element(By.ID, "fc-status").text.startswith("4 of 4")
    totals = browser.find_element(By.CSS_SELECTOR, '#fc-totals tr[data-severity="all"] td[data-outcome="failed"]')
    assert totals.text == "4"
    keep_screenshot("report-grid")
    cell.click()   # the host's view, its records of that area
    assert browser.find_element(By.ID, "fc-filter-host").get_attribute("value") == "a"
    assert browser.find_element(By.ID, "fc-filter-area").get_attribute("value") == "web"
    assert browser.find_element(By.ID, "fc-hostview").is_displayed()
    assert browser.execute_script("return location.hash") == "#host=a&area=web"


def big_fleet(pytester, hosts=200, checks=50):
    lines = ["import pytest"]
    for i in range(checks):
        area = f"area{i % 10}"
        lines.append(f'''
@pytest.mark.check("{area}.c{i}", severity="{('critical', 'high', 'medium', 'low', 'info')[i % 5]}")
def test_c{i}(host, evidence):
    evidence["n"] = {i}
    assert hash(host.name + "{i}") % 7, "bad on " + host.name
''')
    pytester.makepyfile(test_big="\n".join(lines))
    names = "\n".join(f"    h{n:03d}: {{ansible_connection: local}}" for n in range(hosts))
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n{names}\n")
    start = time.monotonic()
    pytester.runpytest_subprocess("--inventory", "inv.yml", "-q", "-p", "no:randomly",
                                  "--tb=no", "-n", "4", timeout=900)
    print(f"10,000-record audit took {time.monotonic() - start:.1f}s")
    return pytester.path / "reports" / "last" / "report.html"


def test_ten_thousand_records_stay_usable(pytester, browser, keep_screenshot):
    report = big_fleet(pytester)
    data = re.search(r'id="fleetcheck-data">(.*?)</script>', report.read_text(), re.S).group(1)
    assert len(json.loads(data)["records"]) == 10_000
    loaded = open_report(browser, report)
    # time to a filter result: choose one host in the fleet filter
    start = time.monotonic()
    browser.execute_script("""
        var s = document.getElementById('fc-filter-host'); s.value = 'h150';
        s.dispatchEvent(new Event('change'));""")
    status = browser.find_element(By.ID, "fc-status").text
    filtered = time.monotonic() - start
    browser.find_element(By.ID, "fc-back").click()   # the host's view hides the grid
    start = time.monotonic()
    browser.find_element(By.CSS_SELECTOR, '#fc-grid td[data-host="h010"][data-area="area3"]').click()
    clicked = time.monotonic() - start
    print(f"10,000 records: page ready {loaded:.2f}s, host filter {filtered * 1000:.0f} ms, "
          f"grid click {clicked * 1000:.0f} ms, report {report.stat().st_size / 1e6:.1f} MB")
    assert status.startswith("50 of 10000"), status
    browser.execute_script("document.getElementById('fleetcheck').scrollIntoView()")
    keep_screenshot("report-10000")
    assert loaded < 10 and filtered < 2 and clicked < 2


CONTRAST = """
function lum(c) {
  var m = c.match(/[0-9.]+/g).map(Number);
  var v = m.slice(0, 3).map(function (x) {
    x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function bg(el) {
  for (; el; el = el.parentElement) {
    var c = getComputedStyle(el).backgroundColor;
    if (c && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(c)) return c;
  }
  return "rgb(255, 255, 255)";
}
var worst = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  var el = walker.currentNode.parentElement;
  if (!walker.currentNode.textContent.trim() || !el.getClientRects().length) continue;
  var a = lum(getComputedStyle(el).color), b = lum(bg(el));
  var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) worst.push([ratio.toFixed(2), el.tagName, el.id, el.className,
                              walker.currentNode.textContent.trim().slice(0, 40)]);
}
return worst;
"""


def test_text_contrast_and_a_narrow_screen(pytester, browser, keep_screenshot):
    """Every visible text of the page (fleetcheck's and pytest-html's) has a contrast
    of at least 4.5:1 with its background (WCAG AA), and at 400 px the page itself does
    not scroll sideways; the verdict comes first."""
    report = hostile_fleet(pytester)
    open_report(browser, report)
    low = browser.execute_script(CONTRAST)
    assert not low, low[:10]
    browser.set_window_size(400, 900)
    open_report(browser, report)
    wide = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide
    keep_screenshot("report-400px")
    first = browser.execute_script(
        "return document.querySelector('#fc-verdict').getBoundingClientRect().top")
    table = browser.execute_script(
        "return document.querySelector('#results-table').getBoundingClientRect().top")
    assert first < table
    browser.set_window_size(1400, 1000)
