"""VPN (LPIC-2 212.5): each OpenVPN instance's configuration as the binary reads it, the
files it names, its daemon and its port, and what it allows: tls-auth/tls-crypt, the
ciphers, the TLS minimum, compression (vpn.openvpn). From the var `vpn`
(fleetcheck.facts.openvpn.VARS); `vpn.openvpn: null` turns the check off. Nothing is
ever sent to a VPN port: the check reads the host's files, processes and sockets."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.openvpn import TLS_KEYS, config_problems, settings

def listens(sockets, proto: str, port: int) -> bool:
    return any(s.netid == proto and s.port == port
               and (not s.processes or any(p.name == "openvpn" for p in s.processes))
               for s in sockets)


@pytest.mark.check("vpn.openvpn", severity="high",
                   facts=[when_set("vpn", "openvpn", "listening", key="openvpn")],
                   title="each OpenVPN instance's file is read by openvpn, its daemon runs "
                         "and listens, with tls-auth/tls-crypt and no deprecated cipher",
                   compare={"instances": ("declared", "instances"),
                            "processes": (None, "processes"),
                            "version": (None, "version")})
def test_openvpn(host, facts, evidence):
    """Where OpenVPN is installed, for each instance of `vpn.openvpn.instances` (by name:
    its file is `config`, else NAME.conf in /etc/openvpn/server, else /etc/openvpn),
    or, with none declared, each *.conf found there. Judged, each an item: the file
    exists and `openvpn --test-crypto` reads it (an unknown option, a wrong number of
    arguments, an unclosed quote or inline block: high, the daemon does not start; the
    file is given on standard input with its log, syslog and plugin lines blanked, as
    those act while parsed); each file it names (ca, cert, key, dh, tls-auth,
    tls-crypt, crl-verify, ...) exists (high); a TLS instance has tls-auth, tls-crypt or
    tls-crypt-v2 (`require_tls_auth`, medium); a static key (`secret`) is medium; no
    cipher of `deprecated_ciphers` in cipher, data-ciphers or data-ciphers-fallback
    (BF, CAST5, DES, IDEA, RC2, RC5: 64-bit blocks, SWEET32; none) and no `auth none`
    or MD5 (high); tls-version-min not below `min_tls` (1.2, medium); no compression
    unless `compression: true` (comp-lzo, compress ALG: VORACLE, medium). For a declared
    instance with `running: true` (the default), a daemon runs with that file (high
    when not) and listens on the declared `port`/`proto`, else the file's (1194/udp;
    high when not). Instances that are found but not declared are not required to
    run. Not applicable where OpenVPN is not installed and nothing is declared, or
    nothing is declared and no file is found. --remediate starts a declared instance
    that is stopped, after the binary's reading of its file."""
    conf = settings(host.vars)
    if conf is None:
        pytest.skip("not judged (vpn.openvpn is null)")
    state, declared = facts.openvpn, conf["instances"]
    if not state.installed:
        if declared:
            evidence.add(declared=sorted(declared))
            evidence.judge([("high", f"OpenVPN is not installed: declared instances "
                             f"{', '.join(sorted(declared))}")])
        pytest.skip("OpenVPN is not installed")
    if not state.instances:
        pytest.skip("OpenVPN is installed, no instance is declared and no "
                    "/etc/openvpn/server/*.conf or /etc/openvpn/*.conf exists")
    evidence.add(binary=state.binary, version=state.version,
                 processes={p.pid: p.config() for p in state.processes})
    problems, items = [], {}
    for inst in state.instances:
        want = declared.get(inst.name)
        item = {"config": inst.path, "exists": inst.exists, "declared": want is not None}
        items[inst.name] = item
        if not inst.exists:
            problems.append(("high", f"{inst.name}: {inst.path} does not exist"))
            continue
        cfg = inst.config
        proc = state.process_of(inst)
        item.update(mode=cfg.mode, port=cfg.port(), proto=cfg.proto(),
                    tls_key=[k for k in TLS_KEYS if cfg.has(k)],
                    ciphers=[c for _, c, _ in cfg.ciphers()], files=inst.files,
                    test={"exit": inst.test_exit, "output": inst.test_output[-5:],
                          "error": inst.test_error()},
                    running=proc.pid if proc else None)
        problems += [(sev, f"{inst.name}: {text}") for sev, text in config_problems(inst, conf)]
        if want is None or want.get("running") is not True:
            continue
        if proc is None:
            problems.append(("high", f"{inst.name}: no openvpn process runs with "
                             f"{inst.path}"))
            continue
        port = want.get("port") or cfg.port()
        proto = want.get("proto") or cfg.proto()
        item["listens"] = f"{port}/{proto}"
        if port is None or not listens(facts.listening.sockets, proto, port):
            problems.append(("high", f"{inst.name}: openvpn runs (pid {proc.pid}) but does "
                             f"not listen on {port}/{proto}"))
    evidence.add(instances=items)
    if problems:
        evidence.advice = ("edit the instance's file (`openvpn --config FILE` shows what "
                           "it refuses), then restart it (openvpn-server@NAME, or "
                           "/etc/init.d/openvpn restart NAME)")
    evidence.judge(problems)
