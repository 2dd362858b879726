"""The plugin with inventory sources: pytest runs on local:// hosts served by the
loopback HTTP server (or a script), with --where, offline hosts, the cache note, one
fetch under -n 2, one-line errors, and no secret in any output or report file."""

from __future__ import annotations

import json
import os

import pytest
from inventory_server import InventoryServer
from source_data import PASSWORD, TOKEN

CHECK = """
import pytest
from fleetcheck.facts.base import Command

@pytest.mark.check("demo.whoami", severity="low", title="commands run")
def test_whoami(host, evidence):
    evidence["out"] = host.run(Command("echo %s", host.name)).stdout.strip()
    assert evidence["out"] == host.name
"""

LOCAL = {"ansible_connection": "local"}
FLEET = {
    "_meta": {"hostvars": {
        "c1": {**LOCAL, "role": "compute", "env": 11},
        "c2": {**LOCAL, "role": "compute", "env": 12, "online": False},
        "s1": {**LOCAL, "role": "storage", "env": 11},
        "c3": {**LOCAL, "role": "compute", "env": 11, "fleetcheck_command_timeout": 7},
    }},
    "compute": {"hosts": ["c1", "c2", "c3"]},
    "storage": {"hosts": ["s1"]},
}


def results(pytester) -> dict:
    return json.loads((pytester.path / "reports" / "last" / "results.json").read_text())


def no_secret_anywhere(pytester, res) -> None:
    text = res.stdout.str() + res.stderr.str()
    assert TOKEN not in text and PASSWORD not in text
    for root, _, files in os.walk(pytester.path / "reports"):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            assert TOKEN.encode() not in data and PASSWORD.encode() not in data, name


@pytest.fixture
def token_server(pytester, monkeypatch):
    monkeypatch.setenv("FC_TEST_USER", "auditor")
    monkeypatch.setenv("FC_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / "cache"))
    pytester.makepyfile(test_demo=CHECK)
    with InventoryServer(FLEET, token=TOKEN, credentials=("auditor", PASSWORD)) as srv:
        pytester.makefile(".yml", auth="username_env: FC_TEST_USER\n"
                          "password_env: FC_TEST_PASSWORD\n"
                          f"token_url: {srv.url('/token')}\n")
        yield srv


def run(pytester, *args):
    return pytester.runpytest_subprocess("--reports-dir", "reports", "-p", "no:randomly",
                                         *args)


def test_http_inventory_with_token_and_where(pytester, token_server):
    res = run(pytester, "--inventory", token_server.url(), "--inventory-auth", "auth.yml",
              "--where", "role=compute", "--where", "env!=12")
    assert res.ret == 0, res.stdout.str() + res.stderr.str()
    data = results(pytester)
    assert {r["host"] for r in data["records"]} == {"c1", "c3"}
    run_meta = data["run"]
    assert run_meta["inventory"] == [token_server.url()]
    assert run_meta["where"] == ["role=compute", "env!=12"]
    assert run_meta["hosts"] == ["c1", "c3"]
    assert run_meta["connections"]["c3"]["command_timeout"] == 7
    assert run_meta["connections"]["c1"]["connection"] == "local"
    html = (pytester.path / "reports" / "last" / "report.html").read_text()
    assert "role=compute" in html
    no_secret_anywhere(pytester, res)


def test_offline_hosts_are_not_applicable_unless_included(pytester, token_server):
    res = run(pytester, "--inventory", token_server.url(), "--inventory-auth", "auth.yml",
              "--where", "role=compute")
    assert res.ret == 0, res.stdout.str()
    by_host = {r["host"]: r for r in results(pytester)["records"]}
    assert set(by_host) == {"c1", "c2", "c3"}
    assert (by_host["c2"]["outcome"], by_host["c2"]["message"]) == ("not-applicable", "offline")
    assert "evidence" not in by_host["c2"] or not by_host["c2"]["evidence"]
    assert results(pytester)["run"]["offline"] == ["c2"]
    res = run(pytester, "--inventory", token_server.url(), "--inventory-auth", "auth.yml",
              "--where", "role=compute", "--include-offline")
    by_host = {r["host"]: r for r in results(pytester)["records"]}
    assert by_host["c2"]["outcome"] == "passed"
    no_secret_anywhere(pytester, res)


def test_one_fetch_under_xdist(pytester, token_server):
    res = run(pytester, "--inventory", token_server.url(), "--inventory-auth", "auth.yml",
              "-n", "2")
    assert res.ret == 0, res.stdout.str()
    assert token_server.count("/inv") == 1 and token_server.count("/token") == 1
    assert {r["host"] for r in results(pytester)["records"]} == {"c1", "c2", "s1", "c3"}


def test_cache_fallback_is_said_loudly(pytester, token_server):
    url = token_server.url()
    assert run(pytester, "--inventory", url, "--inventory-auth", "auth.yml").ret == 0
    token_server.httpd.shutdown()
    token_server.httpd.server_close()
    res = run(pytester, "--inventory", url, "--inventory-auth", "auth.yml")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res = run(pytester, "--inventory", url, "--inventory-auth", "auth.yml",
              "--inventory-cache-ok")
    assert res.ret == 0, res.stdout.str() + res.stderr.str()
    warning = (rf"WARNING: INVENTORY FROM CACHE: {url} could not be fetched "
               r"\(.*connection refused\); using the answer cached at .*")
    res.stdout.re_match_lines([warning, ".*fleetcheck summary.*", warning])
    (note,) = results(pytester)["run"]["inventory_notes"]
    assert note.startswith("INVENTORY FROM CACHE")
    html = (pytester.path / "reports" / "last" / "report.html").read_text()
    assert "INVENTORY FROM CACHE" in html
    no_secret_anywhere(pytester, res)


@pytest.mark.parametrize("case", ["refused-token", "where-nothing", "bad-where", "no-auth"])
def test_errors_are_one_line_exit_4(pytester, token_server, monkeypatch, case):
    args = ["--inventory", token_server.url(), "--inventory-auth", "auth.yml"]
    if case == "refused-token":
        monkeypatch.setenv("FC_TEST_PASSWORD", "wrong-password")
        pattern = (rf"ERROR: {token_server.url()}: token endpoint {token_server.url('/token')}: "
                   r"HTTP 401 Unauthorized: the credentials were refused")
    elif case == "where-nothing":
        args += ["--where", "role=gpu"]
        pattern = r"ERROR: --where 'role=gpu' selects no host \(of 4: c1, c2, c3, s1\)"
    elif case == "bad-where":
        args += ["--where", "role"]
        pattern = r"ERROR: --where 'role': expected KEY=VALUE or KEY!=VALUE"
    else:
        args = ["--inventory", token_server.url()]
        pattern = (rf"ERROR: {token_server.url()}: HTTP 401 Unauthorized: no credentials "
                   r"were sent \(--inventory-token-env VAR or --inventory-auth FILE names them\)")
    res = run(pytester, *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in res.stderr.lines if line.strip()]
    assert len(lines) == 1, res.stderr.lines
    res.stderr.re_match_lines([pattern])
    assert "Traceback" not in res.stdout.str() + res.stderr.str()
    no_secret_anywhere(pytester, res)


def test_inventory_script(pytester):
    pytester.makepyfile(test_demo=CHECK)
    script = pytester.path / "inv.py"
    script.write_text("#!/usr/bin/env python3\nimport json\n"
                      f"print({json.dumps(json.dumps(FLEET))})\n")
    script.chmod(0o755)
    res = run(pytester, "--inventory", "inv.py", "--limit", "compute", "--where", "env=11")
    assert res.ret == 0, res.stdout.str() + res.stderr.str()
    assert {r["host"] for r in results(pytester)["records"]} == {"c1", "c3"}


def test_token_env_option(pytester, token_server, monkeypatch):
    monkeypatch.setenv("FC_TEST_TOKEN", TOKEN)
    res = run(pytester, "--inventory", token_server.url(), "--inventory-token-env",
              "FC_TEST_TOKEN", "--where", "name=s1")
    assert res.ret == 0, res.stdout.str() + res.stderr.str()
    assert token_server.count("/token") == 0
    assert [r["host"] for r in results(pytester)["records"]] == ["s1"]
    no_secret_anywhere(pytester, res)
