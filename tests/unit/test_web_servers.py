"""The web area: the configuration-test parser's edge cases (beyond the captured
fixtures), web.config_valid over given facts, and web.responds / web.tls against real
loopback servers (HTTP with name-based vhosts, HTTPS with a CA made here, TLS 1.0 on
and off), the var's schema and value kinds."""

from __future__ import annotations

import http.server
import ssl
import threading
import types
import warnings

import checkrun
import pytest

from fleetcheck import values, varschema
from fleetcheck.facts import ParseError
from fleetcheck.facts import web as webfact
from fleetcheck.probes import web as webprobe
from lab.faults import web as labweb

M = webfact.MARK


def framed(apache: str | None, nginx: str | None, a_exit=0, n_exit=0) -> str:
    out = M + ("apache apache2ctl\n" + apache + f"{M}exit {a_exit}\n" if apache is not None
               else "apache none\n")
    out += M + ("nginx nginx\n" + nginx + f"{M}exit {n_exit}\n" if nginx is not None
                else "nginx none\n")
    return out + webfact.END + "\n"


# -- the parser ----------------------------------------------------------------------------

def test_apache24_dump_with_aliases_and_a_warning():
    text = framed("AH00558: apache2: Could not reliably determine the server's fully "
                  "qualified domain name, using 127.0.1.1\nVirtualHost configuration:\n"
                  "*:443                  is a NameVirtualHost\n"
                  "         default server a.example (/etc/apache2/sites-enabled/a.conf:2)\n"
                  "         port 443 namevhost a.example (/etc/apache2/sites-enabled/a.conf:2)\n"
                  "                 alias www.a.example\n"
                  "                 wild alias *.a.example\n"
                  "10.0.0.1:8080         b.example (/etc/apache2/sites-enabled/b.conf:1)\n"
                  "Syntax OK\n", None)
    cfg = webfact.parse(text)
    assert cfg.apache.valid and cfg.apache.syntax_ok and not cfg.nginx.installed
    assert cfg.apache.warnings[0].startswith("AH00558")
    assert [(v.listen, v.name, v.default) for v in cfg.apache.vhosts] == [
        ("*:443", "a.example", True), ("*:443", "a.example", False),
        ("10.0.0.1:8080", "b.example", True)]
    assert cfg.apache.vhosts[1].aliases == ["www.a.example", "*.a.example"]


@pytest.mark.parametrize("text, where", [
    (framed("Syntax OK\n", None).replace(f"{M}exit 0\n", ""), "no exit line"),
    (framed(None, None).replace(f"{M}nginx none\n", ""), "no nginx section"),
    (framed(None, None) .replace("none\n", "none\n", 1) + "x\n", "line 4"),
    (framed("ok\x07\n", None), "line 2: a control character"),
    (framed("Syntax OK\n", None).replace("exit 0", "exit -1"), "line 3"),
    (framed(None, None).replace("apache none", "apache $(rm)"), "line 1"),
])
def test_parse_refuses(text, where):
    with pytest.raises(ParseError, match=r"line \d+") as info:
        webfact.parse(text)
    assert where in str(info.value)


# -- web.config_valid ----------------------------------------------------------------------

ON = {"web": {"config_valid": {"servers": []}}}


def test_config_valid_fails_on_nginx_emerg():
    cfg = webfact.parse(framed("Syntax OK\n", 'nginx: [emerg] unknown directive "lisen" in '
                               "/etc/nginx/sites-enabled/x:3\nnginx: configuration file "
                               "/etc/nginx/nginx.conf test failed\n", n_exit=1))
    outcome, msg, ev = checkrun.run_check("web", "test_config_valid", ON, web=cfg)
    assert outcome == "failed" and "`nginx -t` exited 1: unknown directive" in msg
    assert ev.severity == "high" and ev["apache"]["exit"] == 0


def test_config_valid_not_applicable_and_required():
    none = webfact.parse(framed(None, None))
    assert checkrun.run_check("web", "test_config_valid", ON, web=none)[0] == "skipped"
    assert checkrun.run_check("web", "test_config_valid", {"web": {}}, web=none)[0] == "skipped"
    outcome, msg, _ = checkrun.run_check(
        "web", "test_config_valid", {"web": {"config_valid": {"servers": ["nginx"]}}}, web=none)
    assert outcome == "failed" and "nginx is not installed" in msg
    ok = webfact.parse(framed("Syntax OK\n", "nginx: configuration file /etc/nginx/nginx.conf "
                              "test is successful\n"))
    assert checkrun.run_check("web", "test_config_valid", ON, web=ok)[0] == "passed"


# -- loopback servers ------------------------------------------------------------------------

class _Vhosts(http.server.BaseHTTPRequestHandler):
    def do_GET(self):   # noqa: N802
        host = (self.headers.get("Host") or "").split(":")[0]
        if self.path in ("/old", "/away"):
            self.send_response(301)
            self.send_header("Location", "/new" if self.path == "/old" else
                             "http://elsewhere.test/")
            self.end_headers()
            return
        body = {"www.test": b"www page", "app.test": b"app page"}.get(host)
        self.send_response(200 if body and self.path != "/broken" else 500)
        self.end_headers()
        self.wfile.write(body or b"no such vhost")

    def log_message(self, *args):
        pass


def _serve(handler, context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    lab = types.SimpleNamespace(state_dir=tmp_path_factory.mktemp("pki"))
    cert, key = labweb.issue(lab, ("www.test",), 365)
    d = lab.state_dir / "web"       # where the lab keeps its CA: ca.pem
    (d / "srv.pem").write_text(cert)
    (d / "srv.key").write_text(key)
    short, skey = labweb.issue(lab, ("www.test",), 3)
    (d / "short.pem").write_text(short)
    (d / "short.key").write_text(skey)
    return d


def _tls_server(pki, name="srv", old=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / f"{name}.pem", pki / f"{name}.key")
    if old:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return _serve(_Vhosts, ctx)


@pytest.fixture(scope="module")
def plain():
    server = _serve(_Vhosts)
    yield server.server_address[1]
    server.shutdown()


def _host(**web):
    return {"ansible_host": "127.0.0.1", "web": web}


def test_responds_by_name_status_body_and_redirects(plain):
    urls = [{"url": f"http://www.test:{plain}/", "body": "www"},
            {"url": f"http://app.test:{plain}/", "body": "^app"},
            {"url": f"http://www.test:{plain}/old", "status": 301}]
    assert checkrun.run_check("web", "test_responds", _host(responds={"urls": urls}))[0] \
        == "passed"
    urls = [{"url": f"http://app.test:{plain}/broken"},
            {"url": f"http://www.test:{plain}/", "body": "app"}]
    outcome, msg, ev = checkrun.run_check("web", "test_responds", _host(responds={"urls": urls}))
    assert outcome == "failed" and ev.severity == "high"
    assert f"app.test:{plain}/broken answered 500, expected 200" in msg
    assert "does not match 'app'" in msg


def test_responds_follows_only_declared_redirects_on_the_same_name(plain):
    ans = webprobe.fetch(f"http://www.test:{plain}/old", "127.0.0.1", timeout=2,
                         max_body=100, follow=True)
    assert ans.status == 200 and ans.body == "www page"
    assert ans.hops == [f"301 -> http://www.test:{plain}/new"]
    # a redirect to another name is never followed (the probe stays on the host's address)
    ans = webprobe.fetch(f"http://www.test:{plain}/away", "127.0.0.1", timeout=2,
                         max_body=100, follow=True)
    assert ans.status == 301 and "leaves www.test: not followed" in ans.error
    assert webprobe._target(f"http://www.test:{plain}/x", "10.0.0.5") == (
        "http://10.0.0.5:%d/x" % plain, "www.test", f"www.test:{plain}")


def test_responds_no_answer_is_high():
    outcome, msg, ev = checkrun.run_check("web", "test_responds", _host(
        responds={"timeout": 1, "urls": [{"url": "http://www.test:9/"}]}))
    assert outcome == "failed" and "Connection refused" in msg and ev.severity == "high"


def test_https_url_verified_against_the_declared_ca(pki):
    server = _tls_server(pki)
    port = server.server_address[1]
    try:
        web = {"responds": {"urls": [{"url": f"https://www.test:{port}/", "body": "www",
                                      "verify": True}]},
               "tls": {"ca_bundle": str(pki / "ca.pem")}}
        assert checkrun.run_check("web", "test_responds", _host(**web))[0] == "passed"
        web["tls"] = {}        # the system store does not know the lab CA
        outcome, msg, _ = checkrun.run_check("web", "test_responds", _host(**web))
        assert outcome == "failed" and "certificate verify failed" in msg
        del web["responds"]["urls"][0]["verify"]      # the certificate is web.tls' finding
        assert checkrun.run_check("web", "test_responds", _host(**web))[0] == "passed"
    finally:
        server.shutdown()


def _tls(pki, port, name="www.test", **conf):
    tls = {"ca_bundle": str(pki / "ca.pem"), "endpoints": [{"name": name, "port": port}],
           **conf}
    return checkrun.run_check("web", "test_tls", _host(tls=tls))


def test_tls_healthy_wrong_name_and_expiring(pki):
    good, short = _tls_server(pki), _tls_server(pki, "short")
    try:
        outcome, _, ev = _tls(pki, good.server_address[1])
        assert outcome == "passed", ev
        assert ev["endpoints"][f"www.test:{good.server_address[1]}"]["accepted"] == \
            {"TLSv1": False, "TLSv1.1": False}
        outcome, msg, ev = _tls(pki, good.server_address[1], name="other.test")
        assert outcome == "failed" and "Hostname mismatch" in msg and ev.severity == "high"
        outcome, msg, ev = _tls(pki, short.server_address[1])
        assert outcome == "failed" and "expires in 3.0 days (crit 7)" in msg
        assert ev.severity == "high"
        outcome, msg, ev = _tls(pki, short.server_address[1], crit_days=1)
        assert outcome == "failed" and "(warn 30)" in msg and ev.severity == "low"
    finally:
        good.shutdown()
        short.shutdown()


def test_tls10_accepted_is_found(pki):
    server = _tls_server(pki, old=True)
    try:
        res = webprobe.probe_tls("127.0.0.1", server.server_address[1], "www.test",
                                 cafile=str(pki / "ca.pem"), timeout=2, minimum="TLSv1.2")
        if res.accepted.get("TLSv1") is None:
            pytest.skip("this controller's OpenSSL cannot offer TLS 1.0")
        assert res.accepted["TLSv1"] is True
        assert webprobe.judge_tls(res, 30, 7) == [
            ("medium", f"www.test:{server.server_address[1]} accepts TLSv1, TLSv1.1")]
    finally:
        server.shutdown()


def test_tls_missing_bundle_and_no_listener(tmp_path):
    tls = {"ca_bundle": str(tmp_path / "nope.pem"), "endpoints": [{"name": "www.test",
                                                                   "port": 9}]}
    outcome, msg, _ = checkrun.run_check("web", "test_tls", _host(tls=tls))
    assert outcome == "failed" and "is not a file on the controller" in msg
    outcome, msg, _ = checkrun.run_check("web", "test_tls", _host(tls={
        "timeout": 1, "endpoints": [{"name": "www.test", "port": 9}]}))
    assert outcome == "failed" and "no TLS handshake with 127.0.0.1:9" in msg


# -- the var ---------------------------------------------------------------------------------

def test_schema_and_embedded_defaults():
    assert "web" in varschema.by_area()["web"]
    assert varschema.problems("web", {"tls": {"min_protocol": "TLSv1"}}) != []
    assert varschema.problems("web", {"responds": {"urls": [{"url": "http://a/", "status":
                                                              [200, 301]}]}}) == []


@pytest.mark.parametrize("kind, value", [
    (webfact.url, "ftp://x/"), (webfact.url, "http://user:pw@x/"),
    (webfact.url, "http://x/\nHost: y"), (webfact.pattern, "(unclosed"),
    (values.dns_name, "-x.example"),
])
def test_value_kinds_refuse(kind, value):
    with pytest.raises(values.UnsafeValue):
        kind(value)
