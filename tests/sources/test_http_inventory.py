"""The HTTP inventory against a real threaded server on loopback: auth from env vars
named in an auth file, a token endpoint, TLS with a test CA, retries on 5xx, the
cache, and one line for every error case -- never with a secret in it."""

from __future__ import annotations

import socket
import time

import pytest
from source_data import INVENTORY, PASSWORD, TOKEN
from inventory_server import InventoryServer, make_ca, server_cert

from fleetcheck.inventory import InventoryError, SourceOptions, http, load


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(http, "RETRY_PAUSE", 0.01)


def opts(tmp_path, **kw) -> SourceOptions:
    kw.setdefault("cache_dir", str(tmp_path / "cache"))
    kw.setdefault("timeout", 5.0)
    return SourceOptions(**kw)


def auth_file(tmp_path, text: str) -> str:
    path = tmp_path / "auth.yml"
    path.write_text(text)
    return str(path)


def error_of(url, options) -> str:
    with pytest.raises(InventoryError) as info:
        load([url], options)
    text = str(info.value)
    assert "\n" not in text
    assert TOKEN not in text and PASSWORD not in text
    return text


def test_dynamic_inventory_over_http(tmp_path):
    with InventoryServer(INVENTORY) as srv:
        inv = load([srv.url("/inv")], opts(tmp_path))
    assert list(inv.hosts) == ["web1", "web2", "db1"]
    web1 = inv.hosts["web1"]
    assert (web1.address, web1.user, web1.vars["tier"], web1.vars["role"]) == \
        ("192.0.2.10", "root", "front", "web")
    assert set(web1.groups) == {"all", "web"}
    db1 = inv.hosts["db1"]
    assert (db1.port, db1.become, db1.become_method) == (2222, True, "su")
    assert inv.sources == [srv.url("/inv")] and inv.notes == []
    assert [h.name for h in inv.select("web")] == ["web1", "web2"]


def test_bearer_token_from_env(tmp_path, secrets_env):
    auth = auth_file(tmp_path, "token_env: FC_TEST_TOKEN\n")
    with InventoryServer(INVENTORY, token=TOKEN) as srv:
        inv = load([srv.url()], opts(tmp_path, auth_file=auth))
        (_, _, headers), = srv.requests
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert "web1" in inv.hosts


def test_basic_auth_from_env(tmp_path, secrets_env):
    auth = auth_file(tmp_path, "username_env: FC_TEST_USER\npassword_env: FC_TEST_PASSWORD\n")
    with InventoryServer(INVENTORY, basic=("auditor", PASSWORD)) as srv:
        assert "db1" in load([srv.url()], opts(tmp_path, auth_file=auth)).hosts


def test_auth_file_from_environment_variable(tmp_path, secrets_env, monkeypatch):
    monkeypatch.setenv(http.AUTH_ENV, auth_file(tmp_path, "token_env: FC_TEST_TOKEN\n"))
    with InventoryServer(INVENTORY, token=TOKEN) as srv:
        assert "web1" in load([srv.url()], opts(tmp_path)).hosts


def test_token_endpoint(tmp_path, secrets_env):
    with InventoryServer(INVENTORY, token=TOKEN, credentials=("auditor", PASSWORD)) as srv:
        auth = auth_file(tmp_path, "username_env: FC_TEST_USER\npassword_env: FC_TEST_PASSWORD\n"
                                   f"token_url: {srv.url('/token')}\n")
        inv = load([srv.url()], opts(tmp_path, auth_file=auth))
        (m1, p1, _), (m2, p2, h2) = srv.requests
    assert (m1, p1, m2, p2) == ("POST", "/token", "GET", "/inv")
    assert h2["Authorization"] == f"Bearer {TOKEN}"
    assert "web2" in inv.hosts


def test_token_endpoint_refuses_the_credentials(tmp_path, secrets_env):
    with InventoryServer(INVENTORY, token=TOKEN, credentials=("auditor", "other")) as srv:
        auth = auth_file(tmp_path, "username_env: FC_TEST_USER\npassword_env: FC_TEST_PASSWORD\n"
                                   f"token_url: {srv.url('/token')}\n")
        text = error_of(srv.url(), opts(tmp_path, auth_file=auth))
        assert srv.count("/inv") == 0
    assert text == (f"{srv.url()}: token endpoint {srv.url('/token')}: HTTP 401 Unauthorized: "
                    "the credentials were refused")


def test_token_endpoint_answer_without_the_token(tmp_path, secrets_env):
    with InventoryServer(INVENTORY, token=TOKEN) as srv:
        auth = auth_file(tmp_path, "username_env: FC_TEST_USER\npassword_env: FC_TEST_PASSWORD\n"
                                   f"token_url: {srv.url('/token-no-field')}\n")
        text = error_of(srv.url(), opts(tmp_path, auth_file=auth))
    assert "has no string field 'access_token'" in text


def test_tls_with_the_test_ca(tmp_path, test_ca):
    ca, cert, key = test_ca
    with InventoryServer(INVENTORY, tls=(cert, key)) as srv:
        assert srv.url().startswith("https://")
        inv = load([srv.url()], opts(tmp_path, ca_file=str(ca)))
        assert "web1" in inv.hosts
        # verified by default: the system CAs do not know the test CA
        text = error_of(srv.url(), opts(tmp_path, cache_dir=str(tmp_path / "c2")))
        assert text.endswith("TLS: the server's certificate is not trusted "
                             "(for a private CA: --inventory-ca FILE)"), text
        # another CA does not do either
        other, _, _ = make_ca(tmp_path, "another CA")
        text = error_of(srv.url(), opts(tmp_path, ca_file=str(other),
                                        cache_dir=str(tmp_path / "c3")))
        assert "TLS: the server's certificate is not trusted" in text


def test_tls_certificate_for_another_name(tmp_path):
    ca, ca_cert, ca_key = make_ca(tmp_path)
    cert, key = server_cert(tmp_path, ca_cert, ca_key, ip="127.0.0.9", dns="other.test")
    with InventoryServer(INVENTORY, tls=(cert, key)) as srv:
        text = error_of(srv.url(), opts(tmp_path, ca_file=str(ca)))
    assert "TLS: the server's certificate is not for this host name" in text


def test_connection_refused(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/inv"
    assert error_of(url, opts(tmp_path)) == f"{url}: connection refused"


def test_an_answer_dripping_in_has_a_deadline_in_all(tmp_path):
    # each byte comes well within the read timeout (0.3 s): only the total deadline
    # (10 x --inventory-timeout) ends it, not after the 30 s the server would take
    started = time.monotonic()
    with InventoryServer(INVENTORY) as srv:
        text = error_of(srv.url("/drip"), opts(tmp_path, timeout=0.3))
    assert time.monotonic() - started < 10
    assert text == (f"{srv.url('/drip')}: the answer did not arrive within 3s in all "
                    "(10 x --inventory-timeout)")


def test_timeout(tmp_path):
    with InventoryServer(INVENTORY, slow=3) as srv:
        text = error_of(srv.url("/slow"), opts(tmp_path, timeout=0.3))
    assert text == f"{srv.url('/slow')}: timed out after 0.3s (--inventory-timeout)"


@pytest.mark.parametrize("path,auth,expected", [
    ("/inv", False, "HTTP 401 Unauthorized: no credentials were sent "
                    "(--inventory-token-env VAR or --inventory-auth FILE names them)"),
    ("/inv", True, "HTTP 401 Unauthorized: the credentials were refused"),
    ("/forbidden", True, "HTTP 403 Forbidden: these credentials may not read it"),
    ("/nothing", False, "HTTP 404 Not Found"),
    ("/html", False, "the answer is not JSON (text/html, 31 bytes)"),
    ("/shape", False, "not an Ansible dynamic inventory: the JSON document must be an "
                      "object of groups, got a list"),
    ("/badgroup", False, "not an Ansible dynamic inventory: hosts of group 'web' must be "
                         "a list of names, got a string"),
    ("/redirect", False, "HTTP 302 redirect to {base}/inv (not followed: give the final URL)"),
    ("/down", False, "HTTP 500 Internal Server Error (after 3 attempts)"),
])
def test_error_cases_are_one_line(tmp_path, secrets_env, path, auth, expected):
    # the server wants another token than the one the client has
    options = opts(tmp_path, auth_file=auth_file(tmp_path, "token_env: FC_TEST_TOKEN\n")
                   if auth else None)
    with InventoryServer(INVENTORY, token="the-right-one") as srv:
        text = error_of(srv.url(path), options)
        if path == "/down":
            assert srv.count("/down") == 3
    assert text == f"{srv.url(path)}: {expected.format(base=srv.url(''))}"


def test_5xx_is_retried_a_bounded_number_of_times(tmp_path):
    with InventoryServer(INVENTORY, fail_first=2) as srv:
        inv = load([srv.url("/flaky")], opts(tmp_path))
        assert srv.count("/flaky") == 3
    assert "web1" in inv.hosts
    with InventoryServer(INVENTORY, fail_first=1) as srv:
        text = error_of(srv.url("/flaky"), opts(tmp_path, retries=0))
        assert srv.count("/flaky") == 1
    assert text.endswith("HTTP 503 Service Unavailable (after 1 attempts)")


def test_4xx_is_not_retried(tmp_path):
    with InventoryServer(INVENTORY) as srv:
        error_of(srv.url("/nothing"), opts(tmp_path))
        assert srv.count("/nothing") == 1


@pytest.mark.parametrize("url,expected", [
    ("http://198.51.100.9/inv", "http://198.51.100.9/inv: plain http:// is allowed only to "
                                "loopback; use https:// for the inventory URL"),
    (f"https://auditor:{PASSWORD}@127.0.0.1:1/inv",
     "https://127.0.0.1:1/inv: credentials in the inventory URL are refused: put them in "
     "environment variables named in the --inventory-auth file"),
    ("https://127.0.0.1:99999/inv", None),
])
def test_bad_urls(tmp_path, url, expected):
    text = error_of(url, opts(tmp_path))
    if expected:
        assert text == expected
    else:
        assert "bad inventory URL" in text


def test_query_string_is_never_shown(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    text = error_of(f"http://127.0.0.1:{port}/inv?api_key={TOKEN}", opts(tmp_path))
    assert text == f"http://127.0.0.1:{port}/inv?...: connection refused"


@pytest.mark.parametrize("text,expected", [
    ("token: abc\n", "'token' would be a secret in a file; name the environment variable "
                     "that holds it (token_env)"),
    ("password: abc\nusername_env: FC_TEST_USER\n", "'password' would be a secret in a file"),
    ("token_env: FC_TEST_UNSET\n", "environment variable FC_TEST_UNSET (token_env) is not set"),
    ("username_env: FC_TEST_USER\n", "username_env and password_env go together"),
    ("tokn_env: X\n", "unknown key 'tokn_env'"),
    ("[a\n", "YAML syntax error"),
    ("- a\n", "expected a mapping"),
    ("{}\n", "names no credentials (token_env, or username_env and password_env)"),
    ("token_env: FC_TEST_TOKEN\ntoken_url: http://198.51.100.9/t\n",
     "token_url needs username_env and password_env"),
])
def test_bad_auth_files(tmp_path, secrets_env, text, expected):
    auth = auth_file(tmp_path, text)
    with InventoryServer(INVENTORY) as srv:
        message = error_of(srv.url(), opts(tmp_path, auth_file=auth))
        assert srv.requests == []  # refused before any request
    assert message.startswith(f"{auth}: inventory auth file") or "YAML" in message, message
    assert expected in message


def test_cache_is_used_only_with_cache_ok(tmp_path):
    options = opts(tmp_path)
    with InventoryServer(INVENTORY) as srv:
        url = srv.url()
        load([url], options)  # a good answer: cached
    cached = http.cache_path(url, options)
    import os
    import stat
    assert stat.S_IMODE(os.stat(cached).st_mode) == 0o600
    # the server is gone now
    text = error_of(url, options)
    assert text.startswith(f"{url}: connection refused (a cached answer from ")
    assert text.endswith("exists: --inventory-cache-ok uses it)")
    inv = load([url], opts(tmp_path, cache_ok=True))
    assert list(inv.hosts) == ["web1", "web2", "db1"]
    (note,) = inv.notes
    assert note.startswith(f"INVENTORY FROM CACHE: {url} could not be fetched "
                           "(connection refused); using the answer cached at ")
    assert note.endswith("s old)")


def test_no_cache_no_fallback(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}/inv"
    assert error_of(url, opts(tmp_path, cache_ok=True)) == f"{url}: connection refused"


def test_http_and_yaml_sources_merge(tmp_path):
    yml = tmp_path / "extra.yml"
    yml.write_text("all:\n  children:\n    web:\n      vars:\n        tier: edge\n"
                   "      hosts:\n        web3:\n")
    with InventoryServer(INVENTORY) as srv:
        inv = load([srv.url(), str(yml)], opts(tmp_path))
    assert inv.hosts["web1"].vars["tier"] == "edge"  # later source wins
    assert [h.name for h in inv.select("web")] == ["web1", "web2", "web3"]


def test_token_and_basic_together_is_refused(tmp_path, secrets_env):
    auth = auth_file(tmp_path, "token_env: FC_TEST_TOKEN\nusername_env: FC_TEST_USER\n"
                               "password_env: FC_TEST_PASSWORD\n")
    text = error_of("https://127.0.0.1:1/inv", opts(tmp_path, auth_file=auth))
    assert text.endswith("give token_env, or username_env and password_env (with token_url "
                         "to get a token), not both")


def test_token_env_option(tmp_path, secrets_env):
    with InventoryServer(INVENTORY, token=TOKEN) as srv:
        assert "web1" in load([srv.url()], opts(tmp_path, token_env="FC_TEST_TOKEN")).hosts
        text = error_of(srv.url(), opts(tmp_path, token_env="FC_TEST_UNSET"))
        assert text == "--inventory-token-env: environment variable FC_TEST_UNSET is not set"
        text = error_of(srv.url(), opts(tmp_path, token_env="FC_TEST_TOKEN",
                                        auth_file=auth_file(tmp_path, "token_env: X\n")))
        assert text == "give --inventory-auth or --inventory-token-env, not both"
