"""The inventory part of report.html in a headless browser: --where, offline hosts and
the per-host connections table are shown, values from the inventory as text only."""

import json

import pytest
from report_browser import open_report
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.chromium

# A user name like this is refused at load (fleetcheck.values); a key file's name may
# hold anything but a line break, and the connections table shows it.
HOSTILE_KEY = "<img src=x onerror=\"window.__pwned='key'\">"

CHECK = """
import pytest

@pytest.mark.check("demo.ok", severity="low", title="ok")
def test_ok(host):
    pass
"""


def test_where_offline_and_connections(pytester, browser):
    pytester.makepyfile(test_demo=CHECK)
    pytester.makefile(".yml", inv=f"""
all:
  vars: {{role: web}}
  hosts:
    a: {{ansible_connection: local, ansible_become: true, ansible_become_method: su}}
    b: {{ansible_connection: local, online: false}}
    c: {{ansible_host: 192.0.2.1, ansible_user: ops,
         ansible_ssh_private_key_file: {json.dumps(HOSTILE_KEY)},
         fleetcheck_proxy_jump: "ops@192.0.2.254", fleetcheck_offline: true}}
""")
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "--where", "role=web",
                                        "--reports-dir", "reports")
    assert res.ret == 0, res.stdout.str()
    open_report(browser, pytester.path / "reports" / "last" / "report.html")
    meta = {td.get_attribute("data-meta"): td.text
            for td in browser.find_elements(By.CSS_SELECTOR, "#fc-meta td")}
    assert meta["where"] == "role=web" and meta["offline"] == "b, c"
    browser.find_element(By.CSS_SELECTOR, "#fc-connections summary").click()
    rows = {tr.get_attribute("data-host"): {
        td.get_attribute("data-col"): td.text for td in tr.find_elements(By.TAG_NAME, "td")}
        for tr in browser.find_elements(By.CSS_SELECTOR, "#fc-connections tr[data-host]")}
    assert set(rows) == {"a", "b", "c"}
    assert (rows["a"]["connection"], rows["a"]["become_method"]) == ("local", "su")
    assert rows["c"]["key_file"].endswith("/" + HOSTILE_KEY), rows["c"]
    assert rows["c"]["proxy_jump"] == "ops@192.0.2.254"
    # Nothing ran (an alert would make execute_script raise), no element was injected.
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.execute_script(
        "return document.querySelectorAll('#fleetcheck img, #fleetcheck [onerror]').length") == 0
