"""The vpn area: OpenVPN's configuration syntax (as OpenVPN 2.6 splits a line), the
openvpn fact, vpn.openvpn over the fact (Debian's sample files and the lab's real
captures), the var's schema and the fix that starts a stopped declared instance."""

from __future__ import annotations

from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import openvpn
from fleetcheck.facts.base import ParseError
from fleetcheck.facts.listening import parse as parse_ss
from fleetcheck.facts.openvpn import Instance, parse, parse_conf, words
from fleetcheck.facts.service import ServiceState
from fleetcheck.remediation import PlanContext, RunCommand, Service, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "openvpn"
SAMPLE = (FIXTURES / "debian-bookworm-server.conf.txt").read_text()
LAB_CAPTURE = (FIXTURES / "lab-files1.txt").read_text()
SS = "udp   UNCONN 0      0            0.0.0.0:1194       0.0.0.0:*    users:((\"openvpn\",pid=4242,fd=6))\n"
LABVARS = {"vpn": {"openvpn": {"instances": {"lab": {"port": 1194, "proto": "udp"}}}}}


# -- the syntax ---------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("port 1194", ["port", "1194"]),
    ("  key server.key  # This file should be kept secret", ["key", "server.key"]),
    ("proto udp ; a comment", ["proto", "udp"]),
    ("push \"route 10.0.0.0 255.0.0.0\"", ["push", "route 10.0.0.0 255.0.0.0"]),
    ("cert keys/a\\ b.crt", ["cert", "keys/a b.crt"]),
    ("key 'c:\\keys\\x.key'", ["key", "c:\\keys\\x.key"]),
    ("echo a#b", ["echo", "a#b"]),              # '#' inside a word is not a comment
    ("# only a comment", []),
    ("; also one", []),
    ("", []),
])
def test_a_line_as_openvpn_splits_it(line, expected):
    assert words(line) == (expected, None)


@pytest.mark.parametrize("line, why", [
    ('ca "keys/ca.crt', 'No closing quotation (")'),
    ("ca 'keys/ca.crt", "No closing single quotation (')"),
])
def test_an_unclosed_quote_is_refused(line, why):
    assert words(line) == ([], why)


def test_debian_sample_server_conf():
    cfg = parse_conf(SAMPLE)
    assert cfg.mode == "server" and cfg.port() == 1194 and cfg.proto() == "udp"
    assert cfg.arg("key") == "server.key" and not cfg.refused
    assert [(o, p) for o, p, _ in cfg.files()] == [("ca", "ca.crt"), ("cert", "server.crt"),
                                                  ("key", "server.key"), ("dh", "dh2048.pem")]
    assert not any(cfg.has(k) for k in openvpn.TLS_KEYS)  # Debian's sample comments it out


def test_inline_blocks_and_option_prefix():
    cfg = parse_conf((FIXTURES / "debian-bookworm-loopback-client.txt").read_text())
    assert cfg.inline == {"ca": 25, "key": 64, "cert": 95, "tls-auth": 202}
    assert cfg.has("tls-auth") and cfg.files() == [] and cfg.mode == "client"
    assert cfg.port() == 16001          # lport wins over port
    assert parse_conf("--port 1195\nproto tcp-server\n").port() == 1195
    assert parse_conf("proto tcp6-server\n").proto() == "tcp"


def test_bounds():
    with pytest.raises(ParseError, match="more than"):
        parse_conf("x" * (openvpn.MAX_BYTES + 1))
    with pytest.raises(ParseError, match="lines"):
        parse_conf("verb 1\n" * (openvpn.MAX_LINES + 1))
    many = parse_conf("".join(f"Bad{i} x\n" for i in range(100)))
    assert len(many.refused) == openvpn.MAX_REFUSED


# -- the fact -----------------------------------------------------------------------------

def test_the_lab_capture():
    state = parse(LAB_CAPTURE)
    assert state.binary == "/usr/sbin/openvpn" and state.version == "2.6.14"
    lab = state.instance("lab")
    assert lab.path == "/etc/openvpn/lab.conf" and lab.exists and lab.test_error() is None
    assert lab.files == {"lab/ca.crt": True, "lab/server.crt": True, "lab/server.key": True,
                         "lab/tc.key": True}
    (proc,) = state.processes
    assert proc.config() == "/etc/openvpn/lab.conf" and state.process_of(lab) is proc
    gone = state.instance("gone")
    assert not gone.exists and gone.path == "/etc/openvpn/gone.conf"


def test_the_binary_refusal_is_its_own_words_with_the_real_path():
    inst = Instance("lab", "/etc/openvpn/lab.conf", exists=True, test_exit=1, test_output=[
        "Options error: Unrecognized option or missing or extra parameter(s) in "
        "/proc/self/fd/0:20: data-cipher (2.6.14)", "Use --help for more information."])
    assert inst.test_error() == ("Options error: Unrecognized option or missing or extra "
                                 "parameter(s) in /etc/openvpn/lab.conf:20: data-cipher "
                                 "(2.6.14)")
    inst.test_output = [openvpn.TEST_DONE, "Use --help for more information."]
    assert inst.test_error() is None
    inst.test_output, inst.test_exit = ["ERROR: Endtag </ca> missing",
                                        "Exiting due to fatal error"], 1
    assert inst.test_error() == "ERROR: Endtag </ca> missing"
    inst.test_output, inst.test_exit = [], 124
    assert "did not end" in inst.test_error()


@pytest.mark.parametrize("text, error", [
    (LAB_CAPTURE.replace("fleetcheck-openvpn: end\n", ""), "truncated"),
    ("| port 1194\n", None),      # a file alone (a capture): parsed as one
    ("fleetcheck-openvpn: installed /usr/sbin/openvpn\n|a x\nfleetcheck-openvpn: end\n",
     "outside a process"),
    ("fleetcheck-openvpn: installed /usr/sbin/openvpn\n| port 1\nfleetcheck-openvpn: end\n",
     "outside an instance"),
    ("fleetcheck-openvpn: installed /usr/sbin/openvpn\nfleetcheck-openvpn: gibberish\n"
     "fleetcheck-openvpn: end\n", "unexpected"),
])
def test_the_fact_parser_refuses_what_it_does_not_know(text, error):
    if error is None:
        assert parse(text).instances[0].config.refused
        return
    with pytest.raises(ParseError, match=error):
        parse(text)


def test_the_command_quotes_each_declared_value():
    cmd = openvpn.command({"vpn": {"openvpn": {"instances": {
        "lab": {}, "office": {"config": "/etc/openvpn/a b;x.conf"}}}}}).render()
    assert cmd.endswith(" sh lab '' office '/etc/openvpn/a b;x.conf'")
    for bad in ({"-x": {}}, {"a/b": {}}, {"lab": {"config": "relative.conf"}},
                {"lab": {"config": "/etc/../x"}}):
        with pytest.raises(values.UnsafeValue):
            openvpn.command({"vpn": {"openvpn": {"instances": bad}}})
    assert openvpn.command({}).render().endswith(" sh")


# -- the check ----------------------------------------------------------------------------

def check(hostvars=LABVARS, state=None, ss=SS):
    return checkrun.run_check("vpn", "test_openvpn", hostvars, host_name="files1",
                              openvpn=state or parse(LAB_CAPTURE.replace(
                                  "fleetcheck-openvpn: instance gone config "
                                  "/etc/openvpn/gone.conf missing\n", "")),
                              listening=parse_ss(ss))


def capture_with(conf_text: str, running=True):
    """The lab capture with its file replaced (the binary's reading kept)."""
    state = parse(LAB_CAPTURE)
    state.instances = [i for i in state.instances if i.name == "lab"]
    state.instances[0].config = parse_conf(conf_text)
    if not running:
        state.processes = []
    return state


def lab_conf() -> str:
    text = LAB_CAPTURE.split("size ", 1)[1].split("\n", 1)[1]
    return "".join(ln[2:] + "\n" for ln in text.split("\n") if ln.startswith("| "))


def test_the_lab_instance_passes():
    outcome, message, evidence = check()
    assert outcome == "passed", message
    lab = evidence["instances"]["lab"]
    assert lab["tls_key"] == ["tls-crypt"] and lab["listens"] == "1194/udp"


@pytest.mark.parametrize("edit, words, severity", [
    (lambda t: t.replace("tls-crypt lab/tc.key\n", ""), "no tls-auth, tls-crypt", "medium"),
    (lambda t: t + "cipher BF-CBC\n", "cipher BF-CBC: a deprecated cipher", "high"),
    (lambda t: t.replace("AES-128-GCM", "DES-EDE3-CBC"), "data-ciphers DES-EDE3-CBC", "high"),
    (lambda t: t + "auth none\n", "auth none", "high"),
    (lambda t: t.replace("tls-version-min 1.2", "tls-version-min 1.0"),
     "tls-version-min 1.0, below the declared 1.2", "medium"),
    (lambda t: t + "comp-lzo\n", "comp-lzo: compression", "medium"),
    (lambda t: t + 'ca "x\n', "No closing quotation", "high"),
])
def test_what_the_file_allows_is_judged(edit, words, severity):
    outcome, message, evidence = check(state=capture_with(edit(lab_conf())))
    assert outcome == "failed" and words in message and evidence.severity == severity, message


def test_a_stopped_or_deaf_instance_is_high():
    outcome, message, evidence = check(state=capture_with(lab_conf(), running=False))
    assert outcome == "failed" and "no openvpn process runs" in message
    outcome, message, _ = check(ss="")
    assert outcome == "failed" and "does not listen on 1194/udp" in message
    other = {"vpn": {"openvpn": {"instances": {"lab": {"port": 1195}}}}}
    assert "1195/udp" in check(other)[1]


def test_undeclared_files_are_judged_but_need_not_run():
    state = capture_with(lab_conf(), running=False)
    assert check({"vpn": {"openvpn": {}}}, state)[0] == "passed"
    state = capture_with(lab_conf().replace("tls-crypt lab/tc.key\n", ""), running=False)
    assert check({"vpn": {"openvpn": {}}}, state)[0] == "failed"


def test_not_applicable_or_off():
    missing = openvpn.OpenVPN(installed=False)
    assert check({"vpn": {"openvpn": {}}}, missing)[0] == "skipped"
    outcome, message, _ = check(LABVARS, missing)
    assert outcome == "failed" and "not installed" in message
    assert check({"vpn": {"openvpn": None}})[0] == "skipped"
    nothing = openvpn.OpenVPN(binary="/usr/sbin/openvpn")
    assert check({"vpn": {"openvpn": {}}}, nothing)[0] == "skipped"


# -- the fix ------------------------------------------------------------------------------

def plan(state, init="sysv", hostvars=LABVARS):
    facts = checkrun.Facts(openvpn=state, service=lambda name: ServiceState(init, False, False))
    return lookup("vpn.openvpn")(PlanContext("vpn.openvpn", "files1", hostvars, facts))


def test_plan_starts_a_stopped_declared_instance():
    p = plan(capture_with(lab_conf(), running=False))
    (start,) = p.actions
    assert isinstance(start, RunCommand)
    assert start.command.render() == "/etc/init.d/openvpn start lab"
    assert [a.command.render() for a in p.on_rollback] == ["/etc/init.d/openvpn stop lab"]
    p = plan(capture_with(lab_conf(), running=False), init="systemd")
    (start,) = p.actions
    assert isinstance(start, Service) and (start.name, start.operation) == \
        ("openvpn@lab", "start")


def test_plan_refuses_what_is_the_admins():
    assert plan(capture_with(lab_conf() + "cipher BF-CBC\n", running=False)).refused
    assert plan(capture_with(lab_conf())).refused          # runs: the port is the issue
    state = capture_with(lab_conf(), running=False)
    state.instances[0].path = "/srv/vpn/lab.conf"
    assert "no unit starts" in plan(state).reason
    state = capture_with(lab_conf(), running=False)
    state.instances[0].path = "/etc/openvpn/server/lab.conf"
    assert "no systemd" in plan(state).reason
    assert plan(state, init="systemd").actions[0].name == "openvpn-server@lab"
