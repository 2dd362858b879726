"""report.html in a real headless browser (Debian's chromium + chromedriver).

- hostile values from a host (command output, a file's content, an item id) are shown
  as text: nothing they carry runs, no element they describe exists;
- the fleet section works: grid, totals, filters, details;
- the first screen (1400 x 1000) has the verdict, the grid and the worst findings.

How the page's times grow with 10,000 records is a benchmark: bench/html_report.py.

The lab variant (a lab host's hostname, motd and a command's output) is in
tests/integration/test_report_escaping_lab.py.
"""

import json
import re

import pytest
from report_browser import assert_nothing_ran, expand_everything, open_report, pdf_of
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


LAB_AREAS = ["boot", "capacity", "dns", "files", "fs", "kernel", "lvm", "mail", "net",
             "nfs", "samba", "service", "sshd", "sysctl", "time", "updates", "vm", "web"]
LAB_BROKEN = [("web1", "sshd"), ("web1", "files"), ("files1", "lvm"), ("app1", "vm"),
              ("ns1", "dns"), ("web1", "web"), ("app1", "updates"), ("files1", "fs")]


def lab_like_fleet(pytester):
    """The lab's shape: 6 hosts x 18 areas, 8 findings on 4 hosts, 3 severities."""
    lines = ["import pytest", f"BROKEN = {LAB_BROKEN!r}"]
    for i, area in enumerate(LAB_AREAS):
        lines.append(f'''
@pytest.mark.check("{area}.state", severity="{('high', 'medium', 'low')[i % 3]}")
def test_{area}(host, evidence):
    evidence["state"] = "broken" if (host.name, "{area}") in BROKEN else "ok"
    assert (host.name, "{area}") not in BROKEN, "{area} is broken on " + host.name
''')
    pytester.makepyfile(test_lab_like="\n".join(lines))
    pytester.makefile(".yml", inv="all:\n  hosts:\n" + "".join(
        f"    {h}: {{ansible_connection: local}}\n"
        for h in ("ns1", "ns2", "files1", "web1", "web2", "app1")))
    assert pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly").ret == 1
    return pytester.path / "reports" / "last" / "report.html"


def test_the_first_screen_is_verdict_grid_and_worst_findings(pytester, browser,
                                                            keep_screenshot):
    """At 1400 x 1000 a lab-sized run shows, without scrolling, the verdict, the whole
    host x area grid (each host's row) and the worst findings; the trend and the
    records come after. The host view hides the grid and the back link restores it."""
    report = lab_like_fleet(pytester)
    browser.set_window_size(1400, 1000)
    open_report(browser, report)
    keep_screenshot("report-first-screen")
    tops = browser.execute_script("""
        var out = {screen: innerHeight};
        function top(sel) { var e = document.querySelector(sel);
                            return e ? e.getBoundingClientRect().bottom : null; }
        out.verdict = top('#fc-verdict');
        out.grid = top('#fc-grid');
        out.worst = top('#fc-findings details');
        out.records = top('#fc-records');
        return out;""")
    assert tops["grid"] <= tops["screen"] and tops["worst"] <= tops["screen"], tops
    assert tops["verdict"] < tops["grid"] < tops["worst"] < tops["records"], tops
    first = browser.find_element(By.CSS_SELECTOR, "#fc-findings details")
    assert first.get_attribute("data-severity") == "high"
    rows = browser.find_elements(By.CSS_SELECTOR, "#fc-grid tr")
    assert len(rows) == 7                                   # a header and 6 hosts
    # no letter-by-letter host names: each host's name on one line
    heights = {r.find_element(By.TAG_NAME, "th").text: r.size["height"] for r in rows[1:]}
    assert max(heights.values()) < 2 * min(heights.values()), heights
    browser.find_element(By.CSS_SELECTOR, '#fc-grid th[data-host="web1"] a').click()
    assert not browser.find_element(By.ID, "fc-grid").is_displayed()
    browser.find_element(By.ID, "fc-back").click()
    assert browser.find_element(By.ID, "fc-grid").is_displayed()
    # a group opened: each record with its evidence table
    first.find_element(By.TAG_NAME, "summary").click()
    table = first.find_element(By.CSS_SELECTOR, "table.fc-evidence")
    assert "broken" in table.text


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
    pytest_details = browser.execute_script(
        "return document.querySelector('#fc-pytest').getBoundingClientRect().top")
    assert first < pytest_details
    # pytest-html's filters and table are in the pytest details section, collapsed
    assert browser.execute_script(
        "return !!document.querySelector('#fc-pytest #results-table tbody.results-table-row')"
        " && !!document.querySelector('#fc-pytest .filters')"
        " && !document.getElementById('fc-pytest').open")
    browser.find_element(By.CSS_SELECTOR, "#fc-pytest > summary").click()
    wide = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide            # opened, it does not widen the page either
    browser.set_window_size(1400, 1000)


LONG = "/srv/" + "very-long-path-segment-" * 20 + "end"   # no space to break at


def print_fleet(pytester):
    """3 hosts x 24 areas (a grid wider than the paper), a failing message without a
    space in 480 characters, hostile text, and a passing check."""
    lines = ["import pytest"]
    for i in range(24):
        lines.append(f'''
@pytest.mark.check("area{i:02d}.check", severity="{('high', 'medium', 'low')[i % 3]}")
def test_c{i}(host, evidence):
    assert host.name != "h{i % 3}", "area{i:02d} broken on " + host.name
''')
    lines.append(f'''
@pytest.mark.check("paths.long", severity="critical")
def test_long(host, evidence):
    assert host.name != "h1", "{LONG} <script>window.__pwned=1</script>"
''')
    pytester.makepyfile(test_print="\n".join(lines))
    pytester.makefile(".yml", inv="all:\n  hosts:\n" + "".join(
        f"    h{n}: {{ansible_connection: local}}\n" for n in range(3)))
    pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly")
    return pytester.path / "reports" / "last" / "report.html"


def assert_on_paper(text, pages, grid=True):
    flat = re.sub(r"\s+", "", text)
    assert "FAIL:" in text and ("Hostsxareas" in flat) == grid  # the verdict, the grid
    for i in range(24):        # every failing record's text, from the opened details
        assert f"area{i:02d} broken on h{i % 3}" in text, i
    assert re.sub(r"\s+", "", LONG) in flat                     # wrapped, not clipped
    assert "<script>window.__pwned=1</script>" in flat
    assert "show more" not in text and "Show all details" not in text   # nothing to click
    assert pages and all(abs(width - 595.3) < 1 for width, _ in pages), \
        [w for w, _ in pages]                                     # every page is A4 wide
    widest = max(x for _, xs in pages for x in xs)
    assert widest <= min(width for width, _ in pages), widest     # no word beyond the paper


@pytest.mark.chromium(pdf=True)
def test_printed_on_paper(pytester, browser, tmp_path):
    """Printed (chromium's printToPDF, A4), the page has the verdict, the grid and
    every failing record's text, nothing cut at the paper's edge, no filter or button;
    with JavaScript off too (the findings' <details> are printed open by fleet.css, the
    grid is the summary's plain one)."""
    report = print_fleet(pytester)
    open_report(browser, report)
    text, pages = pdf_of(browser, tmp_path, "report")
    assert_on_paper(text, pages)
    # the hostile message stayed text (test_hostile_values_are_text checks alerts too)
    assert browser.execute_script("return window.__pwned === undefined")
    # the page as it was after printing: the findings closed again (afterprint)
    assert browser.execute_script(
        "return [...document.querySelectorAll('#fc-findings details')].every(d => !d.open)")
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.get(report.as_uri())
    text, pages = pdf_of(browser, tmp_path, "report-no-js")
    assert "The fleet section needs JavaScript" in text
    assert_on_paper(text, pages)     # the grid in plain HTML (summary._plain_grid)
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
