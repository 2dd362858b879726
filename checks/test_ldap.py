"""The LDAP server (LPIC-2 210.3): whether the directory answers a base search of its
declared base DN from the controller (ldap.answers, fleetcheck.probes.ldap: ldap3, to
the host's inventory address only), and slapd's own test of its configuration on the
host (ldap.config_valid, `slaptest -u`). From the var `ldap`
(fleetcheck.facts.ldap.VARS); both are off until declared.

No fix: a missing tree is restored from the shop's backup (slapadd), and a broken
cn=config is repaired by the admin who knows which change was meant.
"""

from __future__ import annotations

import os

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts import ldap as ldapfact
from fleetcheck.inventory import hostvars as hv
from fleetcheck.probes import ldap as ldapprobe

MAX_SHOWN = 20      # slaptest messages in the evidence


def _controller_path(host, value: str) -> str:
    """A controller file named in the inventory, relative to the inventory's directory
    (as web.tls' ca_bundle)."""
    value = os.path.expanduser(str(value))
    source = getattr(getattr(host, "entry", None), "source", None)
    if not os.path.isabs(value) and source and "://" not in source:
        value = os.path.join(os.path.dirname(os.path.abspath(source)), value)
    return value


@pytest.mark.check("ldap.answers", severity="high", facts=[],
                   title="the LDAP server answers a base search of the declared base DN",
                   compare={"search": ("base_dn", "search"),
                            "server": (None, "address"),
                            "TLS": (None, "tls"),
                            "bind": (None, "bind")})
def test_answers(host, facts, evidence):
    """From the controller with ldap3, to the host's inventory IP address only, on
    `ldap.answers.port` (389, or 636 with `tls: ldaps`), a timeout on the connection and
    on every reply: with `tls: starttls` the StartTLS operation first, with `ldaps` TLS
    from the first byte, the certificate verified against `ca_bundle` (on the
    controller, relative to the inventory; else the system store) and valid for
    `tls_name` (else the inventory host name); then a simple bind as `bind_dn`, or an
    anonymous one; then one search of `base_dn` with BASE scope (size limit 1, time
    limit the timeout): the entry must come back. A server that does not answer, a
    declared TLS that cannot be had, a refused bind or a missing base (noSuchObject,
    or an empty answer: hidden from this identity) is high: every client of the
    directory (logins through nss/pam, mail routing, applications) fails. The
    password is read from the controller's environment variable `password_env`, never
    from the inventory, and never shown; when that variable is not set the check
    fails (medium) without connecting: a declared bind that cannot be tried is not a
    pass, and an anonymous search instead would judge another identity's view. A
    name as the inventory address is not applicable (no DNS lookup)."""
    conf = ldapfact.answers_settings(host.vars)
    if conf is None:
        pytest.skip("ldap.answers is null (no directory declared)")
    address, why = ldapprobe.target(hv.address(host.vars, host.name))
    if address is None:
        pytest.skip(why)
    tls = conf["tls"]
    cafile = _controller_path(host, conf["ca_bundle"]) if conf["ca_bundle"] else None
    tls_name = conf["tls_name"] or host.name
    evidence.add(address=address, port=conf["port"], tls=tls, base_dn=conf["base_dn"],
                 bind=conf["bind_dn"] or "anonymous")
    if tls != "none":
        evidence.add(ca_bundle=cafile or "the controller's system store", tls_name=tls_name)
    if tls != "none" and cafile and not os.path.isfile(cafile):
        evidence.judge([("high", f"the CA bundle {cafile} is not a file on the controller")])
        return
    password = None
    if conf["bind_dn"]:
        env = ldapfact.env_name(conf["password_env"], "ldap.answers.password_env")
        password = os.environ.get(env)
        evidence.add(password_env=env, password_set=password is not None)
        if password is None:
            evidence.advice = f"export {env}=... on the controller before the run"
            evidence.judge([("medium", f"the environment variable {env} (bind_dn's "
                             "password) is not set on the controller: the bind cannot be "
                             "tried")])
            return
    res = ldapprobe.base_search(address, conf["port"], base_dn=conf["base_dn"], tls=tls,
                                ca_file=cafile, tls_name=tls_name, bind_dn=conf["bind_dn"],
                                password=password, timeout=float(conf["timeout"]),
                                allowed=address)
    evidence.add(search=res.shown())
    found = ldapprobe.problems(res)
    if found:
        evidence.advice = ("ldapsearch -x -H ldap://ADDRESS -b BASE -s base (-ZZ for "
                           "StartTLS); slapd's log says why; a lost tree comes back from "
                           "the backup (slapadd with slapd stopped)")
    evidence.judge(found)


@pytest.mark.check("ldap.config_valid", severity="high",
                   facts=[when_set("ldap", "slaptest", key="config_valid")],
                   title="slaptest -u finds slapd's configuration clean",
                   compare={"exit": (None, "exit"),
                            "succeeded": (None, "succeeded"),
                            "messages": (None, "messages"),
                            "command": (None, "command")})
def test_config_valid(host, facts, evidence):
    """`slaptest -u` on the host, of the cn=config directory (`ldap.config_valid.
    config_dir`, /etc/ldap/slapd.d) or of `config_file` (a slapd.conf) where declared,
    exits 0: slapd reads its configuration only at start, so a broken one (a hand-edited
    cn=config LDIF, an unknown attribute, a database directory that is gone) goes
    unnoticed while the running slapd serves, then the next restart or reboot leaves
    the directory down: high. A passing test that still prints messages (with
    `warnings`, the default) is medium: a `checksum error` is an LDIF of slapd.d edited
    by hand (slapd's own tools keep the CRC right), an `UNKNOWN attributeDescription
    ... inserted` a misspelt attribute whose setting is not in effect. -u: databases that cannot be opened are not an error
    (the test never touches the data). Not applicable where slapd is not installed
    (no slaptest), unless `required`. The evidence holds slaptest's messages."""
    conf = ldapfact.settings(host.vars, "config_valid")
    if conf is None:
        pytest.skip("ldap.config_valid is null")
    test = facts.slaptest
    if not test.installed:
        if conf.get("required"):
            evidence.judge([("high", "slapd is not installed (no slaptest), declared "
                             "ldap.config_valid.required")])
            return
        pytest.skip("slapd is not installed (no slaptest)")
    evidence.add(command=test.command, exit=test.exit, succeeded=test.succeeded,
                 messages=test.messages[:MAX_SHOWN])
    problems = []
    if not test.valid:
        detail = "; ".join(test.errors()[-3:]) or "no message"
        problems.append(("high", f"`{test.command}` exits {test.exit}: {detail}"))
    elif conf.get("warnings", True) and test.errors():
        problems.append(("medium", f"`{test.command}` passes with {len(test.errors())} "
                         f"message(s): {'; '.join(test.errors()[:3])}"))
    if problems:
        evidence.advice = (f"{test.command} (-d 1 says more); repair the entry it names "
                           f"under {test.config} with ldapmodify (slapd.d is not edited by "
                           "hand), test again, then restart slapd")
    evidence.judge(problems)
