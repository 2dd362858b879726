"""The proxy area: squid.conf's parser, the squid_config fact, proxy.squid (the config
part on captured facts; the requests against a fake proxy on loopback, telling its
clients apart by their bound source address: 127.0.0.1 inside, 127.0.0.2 outside) and
the fix restoring the declared acls."""

from __future__ import annotations

import base64
import http.server
import threading
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import ParseError, squid_config
from fleetcheck.facts.file import FileState
from fleetcheck.facts.squid import canonical, http_url, parse_squid_conf, same_networks
from fleetcheck.probes import proxy as probe
from fleetcheck.remediate.proxy import set_acls
from fleetcheck.remediation import PlanContext, RunCommand, WriteFile, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "squid_config"


def captured(case):
    return squid_config.parse((FIXTURES / f"{case}.txt").read_text())


CONF = """# a comment
acl lan src 10.0.0.0/8   # the office
acl lan src 192.168.1.0/255.255.255.0 \\
    172.16.0.1
acl Safe_ports port 80
http_access allow lan
http_access deny all
http_port 127.0.0.1:3128 intercept
"""

# -- squid.conf ---------------------------------------------------------------------------


def test_squid_conf_continuations_comments_and_acls():
    conf = parse_squid_conf(CONF)
    assert [(d.name, d.line, d.last) for d in conf.directives][:3] == [
        ("acl", 2, 2), ("acl", 3, 4), ("acl", 5, 5)]
    assert conf.acls() == {"lan": ["10.0.0.0/8", "192.168.1.0/255.255.255.0", "172.16.0.1"]}
    assert conf.acls("port") == {"Safe_ports": ["80"]}
    assert conf.http_access() == ["allow lan", "deny all"]
    assert conf.http_ports() == ["127.0.0.1:3128"]


def test_networks_compare_as_networks():
    assert canonical("10.0.0.1") == "10.0.0.1/32"
    assert canonical("192.168.1.0/255.255.255.0") == "192.168.1.0/24"
    assert canonical("10.0.0.1-10.0.0.9") == "10.0.0.1-10.0.0.9"
    assert same_networks(["192.168.1.0/24", "10.0.0.1"], ["10.0.0.1/32", "192.168.1.0/255.255.255.0"])
    assert not same_networks(["10.213.47.1/32"], ["10.213.47.0/24"])


@pytest.mark.parametrize("text, error", [
    ("acl a src 1.2.3.4\nHTTP-port 3128\n", "line 2: not a directive name"),
    ("acl a src \x00\n", "line 1: a control character"),
])
def test_squid_conf_errors(text, error):
    with pytest.raises(ParseError, match=error):
        parse_squid_conf(text)


@pytest.mark.parametrize("value", ["https://a/", "http://a b/", "http://u@a/", "-x",
                                   "http://a/#f", "ftp://a/"])
def test_only_plain_http_urls(value):
    with pytest.raises(values.UnsafeValue):
        http_url(value)


# -- the fact -----------------------------------------------------------------------------


def test_debian_default_reads_the_included_file_and_cuts_comments():
    cfg = captured("debian-default")
    assert cfg.config_files == ["/etc/squid/squid.conf", "/etc/squid/conf.d/debian.conf"]
    assert cfg.directives.acls()["localnet"][:2] == ["0.0.0.1-0.255.255.255", "10.0.0.0/8"]
    assert "logfile_rotate 0" in cfg.processed       # from conf.d/debian.conf
    assert cfg.valid and not cfg.warnings and not cfg.running


def test_parse_unexpected_line():
    with pytest.raises(ParseError, match="line 2: unexpected"):
        squid_config.parse("fleetcheck-squid: config /x\nfleetcheck-squid: bogus\n"
                           "fleetcheck-squid: end\n")


def test_command_quotes_the_declared_config():
    cmd = squid_config.command({"proxy_squid": {"config": "/etc/squid/a b.conf"}})
    assert cmd.render().endswith("sh '/etc/squid/a b.conf'")
    with pytest.raises(values.UnsafeValue):
        squid_config.command({"proxy_squid": {"config": "-f"}})


# -- proxy.squid, the configuration ---------------------------------------------------------

DECLARED = {"proxy_squid": {"acl": {"lab_clients": ["10.213.47.1"]}}}


def run(hostvars, cfg):
    return checkrun.run_check("proxy", "test_squid", hostvars, host_name="app1",
                              squid_config=cfg)


def test_clean_running_squid_with_the_declared_acl_passes():
    outcome, _, evidence = run(DECLARED, captured("lab-running"))
    assert outcome == "passed"
    assert evidence["acls"]["lab_clients"] == ["10.213.47.1/32"]


@pytest.mark.parametrize("case, text", [
    ("unrecognized-directive", "unrecognized: 'http_acess'"),
    ("bungled-acl", "FATAL: Bungled"),
    ("undefined-acl", "exits 1"),
    ("obsolete-directive", "Directive 'dns_v4_first' is obsolete"),
])
def test_parse_errors_are_high(case, text):
    outcome, message, evidence = run({"proxy_squid": {}}, captured(case))
    assert outcome == "failed" and text in message and evidence.severity == "high", message


def test_warnings_are_medium_unless_off():
    outcome, message, evidence = run({"proxy_squid": {}}, captured("raw-no-hostname"))
    assert outcome == "failed" and "6 warning(s)" in message and evidence.severity == "medium"
    assert run({"proxy_squid": {"warnings": False}}, captured("raw-no-hostname"))[0] \
        == "passed"


def test_a_widened_or_missing_acl_is_high():
    wide = {"proxy_squid": {"acl": {"lab_clients": ["10.213.47.1/32"],
                                        "office": ["192.0.2.0/24"]}}}
    outcome, message, _ = run(wide, captured("lab-running"))
    assert outcome == "failed" and "acl office src is not defined" in message
    outcome, message, _ = run({"proxy_squid": {"acl": {"localnet": ["10.0.0.0/8"]}}},
                              captured("debian-default"))
    assert outcome == "failed" and "acl localnet src 0.0.0.1-0.255.255.255 10.0.0.0/8" in message


def test_not_installed_or_idle_is_not_applicable():
    assert run({"proxy_squid": {}}, captured("not-installed"))[0] == "skipped"
    assert run({"proxy_squid": {}}, captured("debian-default"))[0] == "skipped"
    assert run({"proxy_squid": None}, captured("debian-default"))[0] == "skipped"
    asks = {"proxy_squid": {"url": "http://www/", "inside": "127.0.0.1"},
            "ansible_host": "127.0.0.1"}
    outcome, message, _ = run(asks, captured("not-installed"))
    assert outcome == "failed" and "not installed" in message


# -- proxy.squid, the requests ----------------------------------------------------------------


class FakeSquid(http.server.BaseHTTPRequestHandler):
    """Serves 127.0.0.1, refuses every other client as Squid does; `open` serves all."""
    open = False
    seen: list = []

    def do_GET(self):
        FakeSquid.seen.append((self.client_address[0], self.path))
        if self.client_address[0] == "127.0.0.1" or FakeSquid.open:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        self.send_response(403)
        self.send_header("X-Squid-Error", "ERR_ACCESS_DENIED 0")
        self.send_header("Server", "squid/5.7")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_squid():
    FakeSquid.open, FakeSquid.seen = False, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSquid)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def asking(port, **extra):
    conf = {"acl": {"lab_clients": ["127.0.0.1"]}, "port": port, "timeout": 5,
            "url": "http://www.lab.test:8080/", "inside": "127.0.0.1",
            "outside": "127.0.0.2", **extra}
    return {"proxy_squid": conf, "ansible_host": "127.0.0.1"}


def lab_running_localhost():
    cfg = captured("lab-running")
    cfg.processed = [p.replace("10.213.47.1/32", "127.0.0.1/32") for p in cfg.processed]
    return cfg


def test_inside_served_outside_refused_passes(fake_squid):
    outcome, message, evidence = run(asking(fake_squid), lab_running_localhost())
    assert outcome == "passed", message
    assert evidence["requests"]["outside"]["squid_error"] == "ERR_ACCESS_DENIED"
    # each from its bound address, the URL in absolute form: the proxy resolves it
    assert sorted(FakeSquid.seen) == [("127.0.0.1", "http://www.lab.test:8080/"),
                                      ("127.0.0.2", "http://www.lab.test:8080/")]


def test_outside_served_is_an_open_proxy(fake_squid):
    FakeSquid.open = True
    outcome, message, _ = run(asking(fake_squid), lab_running_localhost())
    assert outcome == "failed" and "open proxy" in message and "127.0.0.2" in message


def test_inside_refused_is_high(fake_squid):
    outcome, message, _ = run(asking(fake_squid, inside="127.0.0.3"), lab_running_localhost())
    assert outcome == "failed" and "refuses the inside client 127.0.0.3" in message


def test_a_source_address_the_controller_lacks_judges_nothing(fake_squid):
    outcome, message, evidence = run(asking(fake_squid, outside="192.0.2.7"),
                                     lab_running_localhost())
    assert outcome == "failed" and "not one of this controller's" in message
    assert evidence.severity == "medium" and "open proxy" not in message


def test_nothing_listening_fails_the_inside_client():
    outcome, message, _ = run(asking(1), lab_running_localhost())
    assert outcome == "failed" and "does not serve the inside client" in message


def test_requests_go_only_to_the_inventory_address(fake_squid):
    with pytest.raises(probe.NotAllowed):
        probe.through("127.0.0.1", fake_squid, "http://a/", source="127.0.0.1", role="inside",
                      timeout=1, allowed="127.0.0.9")
    assert probe.target("proxy.example")[0] is None
    assert FakeSquid.seen == []


def test_a_squid_error_other_than_a_denial_is_let_through():
    req = probe.Request("outside", "10.0.0.2", status=503, squid_error="ERR_CONNECT_FAIL")
    (severity, text), = probe.problems(None, req, "p:3128")
    assert severity == "high" and "let through" in text
    quiet = probe.Request("outside", "10.0.0.2", error="timed out")
    assert probe.problems(None, quiet, "p:3128") == []


# -- the fix ------------------------------------------------------------------------------------


def file_state(content):
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content.encode()).decode())


def test_set_acls_rewrites_the_first_line_and_drops_the_others():
    after = set_acls(CONF, {"lan": ["10.1.0.0/16"]})
    lines = after.splitlines()
    assert lines[1] == "acl lan src 10.1.0.0/16"
    assert lines[2] == "acl Safe_ports port 80"
    assert parse_squid_conf(after).acls() == {"lan": ["10.1.0.0/16"]}
    with pytest.raises(ValueError, match="no `acl office src` line"):
        set_acls(CONF, {"office": ["10.0.0.0/8"]})


def lab_conf(nets):
    from lab.faults.proxy import squid_conf

    class H:
        name, vars = "app1", {}
    return squid_conf(H(), nets)


def widened():
    cfg = captured("lab-running")
    cfg.processed = [p.replace("10.213.47.1/32", "10.213.47.0/24") for p in cfg.processed]
    return cfg


def plan(hostvars=DECLARED, conf=None, cfg=None):
    text = lab_conf(["10.213.47.0/24"]) if conf is None else conf
    facts = checkrun.Facts(file=file_state(text or None), squid_config=cfg or widened())
    return lookup("proxy.squid")(PlanContext("proxy.squid", "app1", hostvars, facts))


def test_plan_writes_the_acl_parses_then_reconfigures():
    p = plan()
    write, check, reconfigure = p.actions
    assert isinstance(write, WriteFile) and write.path == "/etc/squid/squid.conf"
    assert parse_squid_conf(write.content.decode()).acls()["lab_clients"] == ["10.213.47.1"]
    assert isinstance(check, RunCommand)
    assert check.command.render() == "squid -k parse -f /etc/squid/squid.conf"
    assert "squid -k reconfigure" in reconfigure.command.render()
    assert reconfigure.command.render().endswith("/etc/squid/squid.conf /var/log/squid/cache.log")
    assert [a.summary for a in p.on_rollback] == [check.summary, reconfigure.summary]


@pytest.mark.parametrize("hostvars, reason", [
    ({"proxy_squid": {}}, "declare proxy_squid.acl"),
    ({"proxy_squid": {"acl": {"lab_clients": ["10.0.0.0/8 all"]}}}, "IP address or network"),
    ({"proxy_squid": {"acl": {"lab clients": ["10.0.0.0/8"]}}}, "acl name"),
])
def test_plan_refuses_what_it_must_not_write(hostvars, reason):
    p = plan(hostvars)
    assert p.refused and reason in p.reason, p.reason


def test_plan_refuses_when_unsure():
    assert "does not exist" in plan(conf="").reason
    assert "not installed" in plan(cfg=squid_config.SquidConfig(installed=False)).reason
    assert "squid -k parse fails" in plan(cfg=captured("unrecognized-directive")).reason
    assert "already hold the declared networks" in plan(cfg=captured("lab-running")).reason
    no_acl = lab_conf(["10.213.47.0/24"]).replace("acl lab_clients", "acl others")
    assert "no `acl lab_clients src` line" in plan(conf=no_acl).reason


def test_an_unused_squid_s_warnings_are_not_judged():
    # installed, not running, nothing declared, parse exit 0: a package nobody uses; a
    # host whose name does not resolve makes Squid warn (the lab's hostname-changed)
    import dataclasses

    idle = dataclasses.replace(captured("raw-no-hostname"), running=False, exit=0)
    assert idle.warnings and idle.valid
    assert run({"proxy_squid": {}}, idle)[0] == "skipped"
