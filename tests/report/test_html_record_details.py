"""report.html's record details and host view in a real headless browser (chromium).

- a failing record expanded shows its check's description, its advice, an expected /
  actual / verdict table with the record's values, its plan as actions and its diff
  with + and - lines (the raw JSON one click away);
- a host's view, opened by its grid header and by loading #host=NAME, shows only that
  host's records, its connection and its facts summary (kernel, distribution, uptime:
  this machine's, the hosts being local://), and an unreachable host's says why it
  has none; the filter is kept in the fragment; "back to the fleet" returns;
- hostile values (a host var with <script> and quotes, in the evidence, the message,
  the diff) are text.
"""

import json
from pathlib import Path

import pytest
from report_browser import assert_nothing_ran, expand_everything, open_report
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.chromium

HOSTILE = "new <script>window.__pwned='ev'</script> \"dq\" 'sq' <img src=x onerror=window.__pwned=1>"

CHECKS = '''
import pytest
from fleetcheck.remediation import WriteFile, fix


def _conf(host, item):
    yield "file", {"path": host.vars["conf"]}


@pytest.mark.check("demo.value", severity="high", facts=[_conf],
                   compare={"mode": ("expected", "actual")}, title="mode is set")
def test_value(host, facts, evidence):
    """The file's `mode` line has the declared value (var `want`).

    This second paragraph is not the description."""
    f = facts.get("file", path=host.vars["conf"])
    lines = dict(line.split(" = ", 1) for line in f.text.splitlines() if " = " in line)
    evidence.add(expected=host.vars["want"], actual=lines.get("mode"), lines=len(lines))
    evidence.advice = "set mode in " + host.vars["conf"]
    assert lines.get("mode") == host.vars["want"], "mode is " + str(lines.get("mode"))


@pytest.mark.check("demo.ports", severity="low", facts=[_conf],
                   compare={"listening": (None, "ports")}, title="ports listed")
def test_ports(host, evidence):
    """Lists what listens."""
    evidence.add(ports=[f"tcp/{p}" for p in range(8000, 8030)])


@fix("demo.value")
def plan_value(ctx):
    f = ctx.facts.get("file", path=ctx.vars["conf"])
    text = "".join(f"mode = {ctx.vars['want']}\\n" if line.startswith("mode = ") else line
                   for line in f.text.splitlines(keepends=True))
    return ctx.plan(WriteFile("set mode", path=ctx.vars["conf"], content=text.encode(),
                              before=f.content))
'''


def fleet(pytester) -> Path:
    hosts = {}
    for name, mode in (("web1", "old"), ("db1", HOSTILE)):
        conf = pytester.path / f"{name}.conf"
        conf.write_text(f"# {name}\nkeep = 1\nmode = {mode}\n")
        hosts[name] = {"ansible_connection": "local", "conf": str(conf), "want": HOSTILE}
    hosts["gone"] = {"ansible_host": "127.0.0.1", "ansible_port": 1, "conf": "/x",
                     "want": "x"}
    pytester.makefile(".yml", inv="all:\n  hosts:\n" + "".join(
        f"    {name}: {json.dumps(hv)}\n" for name, hv in hosts.items()))
    pytester.makepyfile(test_demo=CHECKS)
    # a subprocess: the fix's registration is the process's (a second run in this one
    # would register it twice)
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly")
    assert res.ret == 1, res.stdout.str()[-2000:]
    return pytester.path / "reports" / "last" / "report.html"


def rows(browser):
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")][:2]
            for tr in browser.find_elements(By.CSS_SELECTOR, "#fc-records tr.fc-row")]


def expand(browser, host, check):
    for tr in browser.find_elements(By.CSS_SELECTOR, "#fc-records tr.fc-row"):
        cells = tr.find_elements(By.TAG_NAME, "td")
        if cells[0].text == host and cells[1].text == check:
            tr.click()
            return tr.find_element(By.XPATH, "following-sibling::tr[1]")
    pytest.fail(f"no record {host} {check}")


def test_a_failing_record_reads_as_expected_actual_verdict_and_a_diff(browser, pytester,
                                                                     keep_screenshot):
    report = fleet(pytester)
    open_report(browser, report)
    detail = expand(browser, "web1", "demo.value")
    assert detail.find_element(By.CSS_SELECTOR, ".fc-description").text == \
        "The file's `mode` line has the declared value (var `want`)."
    assert detail.find_element(By.CSS_SELECTOR, ".fc-advice").text.startswith(
        "Advice: set mode in ")
    table = detail.find_element(By.CSS_SELECTOR, "table.fc-evtable")
    cells = {tr.find_element(By.TAG_NAME, "th").text:
             [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in table.find_elements(By.TAG_NAME, "tr")[1:]}
    assert cells["mode"] == [HOSTILE, "old", "failed"]
    assert cells["lines"] == ["\u2014", "2", ""]          # not declared: found side only
    assert "advice" not in cells
    # the plan: its action in words, its diff with the +/- kept and coloured
    assert "writes " + str(pytester.path / "web1.conf") in detail.find_element(
        By.CSS_SELECTOR, "ol.fc-actions").text
    added = [s.text for s in detail.find_elements(By.CSS_SELECTOR, "pre.fc-diff .fc-add")]
    removed = [s.text for s in detail.find_elements(By.CSS_SELECTOR, "pre.fc-diff .fc-del")]
    assert added == ["+mode = " + HOSTILE] and removed == ["-mode = old"]
    colour = browser.execute_script(
        "return getComputedStyle(document.querySelector('.fc-diff .fc-add')).color")
    assert colour != browser.execute_script(
        "return getComputedStyle(document.querySelector('.fc-diff .fc-ctx')).color")
    # the raw JSON: one click away, with what the table leaves out
    raw = detail.find_element(By.CSS_SELECTOR, "details.fc-raw")
    assert not raw.get_attribute("open")
    raw.find_element(By.TAG_NAME, "summary").click()
    text = raw.find_element(By.TAG_NAME, "pre").text
    assert '"sha256_after"' in text and '"advice"' in text
    keep_screenshot("report-record-details")
    # a long list, compactly
    ports = expand(browser, "web1", "demo.ports")
    listening = ports.find_element(By.CSS_SELECTOR, "table.fc-evtable td.fc-actual").text
    assert listening == ", ".join(f"tcp/{p}" for p in range(8000, 8008)) + " and 22 more"
    expand_everything(browser)
    assert_nothing_ran(browser)


def local_facts():
    kernel = Path("/proc/sys/kernel/osrelease").read_text().strip()
    pretty = next((line.split("=", 1)[1].strip().strip('"') for line in
                   Path("/etc/os-release").read_text().splitlines()
                   if line.startswith("PRETTY_NAME=")), "unknown")
    return kernel, pretty


def test_a_hosts_view_by_its_grid_header_and_by_its_fragment(browser, pytester,
                                                             keep_screenshot):
    report = fleet(pytester)
    kernel, pretty = local_facts()
    open_report(browser, report)
    everything = len(rows(browser))
    assert everything == 6
    browser.find_element(By.CSS_SELECTOR, '#fc-grid th.fc-hostlink[data-host="web1"]').click()
    view = browser.find_element(By.ID, "fc-hostview")
    assert view.is_displayed() and not browser.find_element(By.ID, "fc-grid").is_displayed()
    assert browser.find_element(By.ID, "fc-host-title").text == "Host web1"
    assert {r[0] for r in rows(browser)} == {"web1"} and len(rows(browser)) == 2
    assert browser.execute_script("return location.hash") == "#host=web1"
    facts = {td.get_attribute("data-fact"): td.text
             for td in view.find_elements(By.CSS_SELECTOR, "#fc-host-facts td")}
    assert facts["kernel"] == kernel and facts["distribution"] == pretty
    assert facts["uptime"].split()[-1] in ("s", "min", "h")
    connection = {td.get_attribute("data-col"): td.text
                  for td in view.find_elements(By.CSS_SELECTOR, "#fc-host-connection td")}
    assert connection["connection"] == "local"
    assert "1 failed" in browser.find_element(By.ID, "fc-host-counts").text
    keep_screenshot("report-host-view")
    # the filter is kept in the fragment, beside the host
    browser.execute_script("""
        var s = document.getElementById('fc-filter-outcome'); s.value = 'failed';
        s.dispatchEvent(new Event('change'));""")
    assert browser.execute_script("return location.hash") == "#host=web1&outcome=failed"
    assert rows(browser) == [["web1", "demo.value"]]
    browser.find_element(By.ID, "fc-back").click()
    assert browser.find_element(By.ID, "fc-grid").is_displayed()
    assert not browser.find_element(By.ID, "fc-hostview").is_displayed()
    assert browser.execute_script("return location.hash") == "#outcome=failed"

    # a fresh load of #host=NAME, hostile values included
    open_report(browser, report, "host=db1")
    assert browser.find_element(By.ID, "fc-host-title").text == "Host db1"
    assert {r[0] for r in rows(browser)} == {"db1"} and len(rows(browser)) == 2
    assert browser.find_element(By.ID, "fc-filter-host").get_attribute("value") == "db1"
    detail = expand(browser, "db1", "demo.value")
    mode = [td.text for td in detail.find_elements(By.CSS_SELECTOR, "table.fc-evtable tr")[1]
            .find_elements(By.TAG_NAME, "td")]
    assert mode == [HOSTILE, HOSTILE, "as expected"]
    assert_nothing_ran(browser)
    # an unreachable host: no facts, and why
    open_report(browser, report, "host=gone")
    assert {r[0] for r in rows(browser)} == {"gone"}
    assert browser.find_element(By.ID, "fc-host-facts").text.endswith(
        "not gathered: the host was unreachable")
    # a name the run does not have, from a hostile link
    open_report(browser, report, "host=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E")
    assert browser.find_element(By.ID, "fc-host-title").text == \
        "Host <script>window.__pwned=1</script>"
    assert rows(browser) == []
    assert_nothing_ran(browser)
