"""The web servers (LPIC-2 208.1, 208.2, 208.4): Apache's and nginx's configuration
tests on the host (web.config_valid), and from the controller each declared URL
(web.responds: virtual hosts, reverse-proxied paths) and HTTPS endpoint (web.tls).

    web:
      config_valid: {servers: [apache, nginx]}    # must be installed; tested where they are
      responds:
        timeout: 5
        urls:
          - {url: "http://www.example.org/", status: 301}
          - {url: "https://www.example.org/app/", status: 200, body: "Welcome"}
      tls:
        warn_days: 30
        crit_days: 7
        min_protocol: TLSv1.2
        ca_bundle: ../pki/ca.pem                  # on the controller, beside the inventory
        endpoints: [{name: www.example.org, port: 443}]

The URL and TLS checks read no fact of their host (`facts=[]`): the controller connects
to the host's inventory address only (fleetcheck.probes.web), sending the declared name as
the Host header and TLS name, so a virtual host is judged on the very server the
inventory names, whatever the DNS says.

      userdir: {enabled: false}                  # mod_userdir off (CIS Apache 2.4)
      allow_override:
        allowed: [None]                          # what .htaccess may override
        set_to: None                             # the fix's value
        files: [/etc/apache2/sites-available/shop.conf]   # what the fix may edit

No fix rewrites a web server's configuration blindly: a broken configuration, a failing
page or a certificate to renew is the admin's to repair. web.allow_override's fix sets
the granting AllowOverride lines of the declared files only, `apache2ctl -t` before a
graceful reload, as the sshd fix does.
"""

from __future__ import annotations

import os

import pytest

from fleetcheck import values
from fleetcheck.checkmeta import when_set
from fleetcheck.facts import apache_config
from fleetcheck.facts import web as webfact
from fleetcheck.inventory import hostvars as hv
from fleetcheck.probes import web as webprobe

MAX_SHOWN = 20      # lines of a tool's output in the evidence


def _address(host) -> str:
    """Where the controller connects: the inventory address, else the host's name."""
    return hv.address(host.vars, host.name) or host.name


def _controller_path(host, value: str) -> str:
    """A controller file named in the inventory, relative to the inventory's directory."""
    value = os.path.expanduser(str(value))
    source = getattr(getattr(host, "entry", None), "source", None)
    if not os.path.isabs(value) and source and "://" not in source:
        value = os.path.join(os.path.dirname(os.path.abspath(source)), value)
    return value


@pytest.mark.check("web.config_valid", severity="high",
                   facts=[when_set("web", "web", key="config_valid")],
                   title="Apache's and nginx's configuration tests are clean",
                   compare={"servers": ("required", "installed")})
def test_config_valid(host, facts, evidence):
    """`apache2ctl -t -D DUMP_VHOSTS` (Debian; `httpd` on RHEL) and `nginx -t` on a host
    where they are installed exit 0: a configuration that does not pass its own test
    makes the next reload or restart fail, and the site goes down at the worst moment
    (a log rotation's reload, a reboot). Not applicable where neither is installed,
    unless `web.config_valid.servers` declares one, which must then be installed. The
    evidence lists Apache's virtual hosts as it parsed them (name, address, file)."""
    conf = webfact.settings(host.vars, "config_valid")
    if conf is None:
        pytest.skip("web.config_valid is null")
    cfg = facts.web
    required = list(conf.get("servers") or [])
    installed = cfg.installed()
    if not installed and not required:
        pytest.skip("neither Apache nor nginx is installed")
    evidence.add(required=required,
                 installed=[t.server for t in (cfg.apache, cfg.nginx) if t.installed])
    problems = []
    for test in (cfg.apache, cfg.nginx):
        if not test.installed:
            if test.server in required:
                problems.append(("high", f"{test.server} is not installed (declared in "
                                          "web.config_valid.servers)"))
            continue
        evidence[test.server] = {"command": test.command, "exit": test.exit,
                                 "errors": test.errors[:MAX_SHOWN],
                                 "warnings": test.warnings[:MAX_SHOWN]}
        if test.server == "apache":
            evidence[test.server]["vhosts"] = [
                f"{v.listen} {v.name}" + (" (default)" if v.default else "")
                + (f" {v.file}:{v.line}" if v.file else "") for v in test.vhosts[:200]]
        if not test.valid:
            detail = "; ".join(test.errors[:3]) or "no message"
            problems.append(("high", f"`{test.command}` exited {test.exit}: {detail}"))
    if problems:
        evidence.advice = ("run the test by hand (apache2ctl -t, nginx -t), fix the file "
                           "and line it names, test again, then reload")
    evidence.judge(problems)


def _statuses(want) -> list[int]:
    return [int(s) for s in want] if isinstance(want, list) else [int(want)]


@pytest.mark.check("web.responds", severity="high", facts=[],
                   title="each declared URL answers from the controller as declared",
                   compare={"URLs": (None, "urls"), "address": (None, "address")})
def test_responds(host, facts, evidence):
    """Each URL of `web.responds.urls`, asked from the controller with requests at the
    host's inventory address with the URL's name as the Host header (and TLS name):
    answers within `timeout` with the declared `status` (200 unless declared; a list
    accepts any of them) and, when `body` is declared, a body matching that regular
    expression (the first `max_body_kb` KiB). Redirects are not followed unless
    `follow_redirects` (then at most 5, on the same name): a declared 301 is judged as
    the 301 itself. An HTTPS URL's certificate is web.tls' to judge (one finding per
    cause): it is verified here only with `verify: true` (against `web.tls.ca_bundle`,
    else the controller's system store). No answer or another status is high (the site or the
    proxied application is down for its users); a body that does not match is
    medium."""
    conf = webfact.settings(host.vars, "responds")
    urls = [u for u in (conf or {}).get("urls") or [] if u]
    if not urls:
        pytest.skip("no URL declared (web.responds.urls)")
    timeout = float(conf.get("timeout") or webfact.DEFAULTS["timeout"])
    max_body = int(conf.get("max_body_kb") or webfact.DEFAULTS["max_body_kb"]) * 1024
    ca = webfact.settings(host.vars, "tls") or {}
    address = _address(host)
    answers, problems = {}, []
    for want in urls:
        declared = webfact.url(want["url"], "web.responds.urls[].url")
        body = want.get("body")
        if body is not None:
            body = webfact.pattern(body, "web.responds.urls[].body")
        verify: bool | str = want.get("verify") is True
        if verify and ca.get("ca_bundle"):
            verify = _controller_path(host, ca["ca_bundle"])
        statuses = _statuses(want.get("status", 200))
        answer = webprobe.fetch(declared, address, timeout=timeout, max_body=max_body,
                                follow=bool(want.get("follow_redirects")), verify=verify)
        answers[declared] = {"status": answer.status, "location": answer.location,
                             "error": answer.error, "redirects": answer.hops,
                             "expected": statuses, "body_pattern": body}
        problems += webprobe.judge_answer(answer, statuses, body)
    evidence.add(address=address, urls=answers)
    if problems:
        evidence.advice = "the server's error log says why (Apache: /var/log/apache2/" \
                          "error.log, nginx: /var/log/nginx/error.log)"
    evidence.judge(problems)


@pytest.mark.check("web.tls", severity="high", facts=[],
                   title="each HTTPS endpoint: a valid certificate, no old protocol",
                   compare={"endpoints": ("min_protocol", "endpoints"),
                            "warn before expiry (days)": ("warn_days", None),
                            "critical before expiry (days)": ("crit_days", None),
                            "address": (None, "address")})
def test_tls(host, facts, evidence):
    """Each endpoint of `web.tls.endpoints` ({name, port}), from the controller at the
    host's inventory address with Python's ssl module, `name` sent as SNI: the
    certificate not expired and not expiring within `crit_days` (high) or `warn_days`
    (low); its chain verifies against `ca_bundle` (the endpoint's or web.tls', on the
    controller, relative to the inventory; else the controller's system store) and it
    is valid for `name` (high: clients refuse it); no protocol older than
    `min_protocol` (TLS 1.2) is accepted: TLS 1.0 and 1.1 are offered one at a time
    from a context pinned to each, at OpenSSL security level 0 so the controller can
    offer them at all (medium: BEAST, POODLE-era protocols, refused by PCI DSS). A
    version the controller's OpenSSL cannot offer is shown as not tested."""
    conf = webfact.settings(host.vars, "tls")
    endpoints = [e for e in (conf or {}).get("endpoints") or [] if e]
    if not endpoints:
        pytest.skip("no HTTPS endpoint declared (web.tls.endpoints)")
    d = {**webfact.DEFAULTS, **{k: v for k, v in conf.items() if v is not None}}
    warn, crit = int(d["warn_days"]), int(d["crit_days"])
    minimum, timeout = str(d["min_protocol"]), float(d["timeout"])
    address = _address(host)
    results, problems = {}, []
    for ep in endpoints:
        name = values.dns_name(ep["name"], "web.tls.endpoints[].name")
        port = int(ep.get("port") or webfact.DEFAULTS["port"])
        bundle = ep.get("ca_bundle") or conf.get("ca_bundle")
        cafile = _controller_path(host, bundle) if bundle else None
        if cafile and not os.path.isfile(cafile):
            problems.append(("high", f"{name}:{port}: the CA bundle {cafile} is not a file "
                                     "on the controller"))
            continue
        res = webprobe.probe_tls(address, port, name, cafile=cafile, timeout=timeout,
                                 minimum=minimum)
        results[f"{name}:{port}"] = webprobe.shown(res)
        problems += webprobe.judge_tls(res, warn, crit)
    evidence.add(address=address, endpoints=results, warn_days=warn, crit_days=crit,
                 min_protocol=minimum)
    if problems:
        evidence.advice = ("openssl s_client -connect HOST:PORT -servername NAME shows the "
                           "certificate; renew or reissue it, or set ssl_protocols / "
                           "SSLProtocol to TLSv1.2 TLSv1.3 and reload")
    evidence.judge(problems)


def _apache(host, facts, key):
    """(settings of web.<key>, the apache_config fact), or skip."""
    conf = webfact.settings(host.vars, key)
    if conf is None:
        pytest.skip(f"web.{key} is null")
    cfg = facts.apache_config
    if not cfg.installed:
        pytest.skip("Apache is not installed")
    if cfg.includes_exit:
        pytest.skip(f"Apache cannot list its configuration (exit {cfg.includes_exit}): "
                    "web.config_valid says why")
    return conf, cfg


@pytest.mark.check("web.userdir", severity="medium",
                   facts=[when_set("web", "apache_config", key="userdir")],
                   title="Apache serves users' home directories only as declared, never root's",
                   compare={"UserDir": ("declared_enabled", "served"),
                            "module loaded": (None, "module_loaded"),
                            "directives": (None, "userdir")})
def test_userdir(host, facts, evidence):
    """Apache's mod_userdir publishes `~user/` from each user's home directory
    (`UserDir public_html`): any file a user leaves there is on the web, and a user's
    scripts and .htaccess run with the server's rights. CIS's Apache benchmark disables
    the module; so does the default here (`web.userdir.enabled: false`): the module
    loaded with a UserDir directory in effect (and no `UserDir disabled` for all) is
    medium. Where the shop declares `enabled: true`, the module must be loaded (medium)
    and root's home never served (`UserDir disabled root`, as Debian's userdir.conf
    says: high). Read from Apache's own list of its files (DUMP_INCLUDES) and modules;
    every context taken together (a virtual host that serves home directories serves
    them). No fix: `a2dismod userdir` (or the LoadModule line) is the admin's call."""
    conf, cfg = _apache(host, facts, "userdir")
    enabled = bool(conf.get("enabled", False))
    found = apache_config.userdirs(cfg)
    evidence.add(declared_enabled=enabled, module_loaded=found.loaded, served=found.served,
                 userdir=[f"{d.where}: UserDir {' '.join(d.args)}" for d in
                          found.patterns + found.disabled_all][:MAX_SHOWN],
                 disabled_for=sorted(found.disabled)[:MAX_SHOWN])
    problems = []
    if not enabled and found.served:
        where = ", ".join(f"UserDir {' '.join(d.args)} ({d.where})" for d in found.patterns[:3])
        problems.append(("medium", f"mod_userdir is loaded and serves users' home "
                                   f"directories: {where} (web.userdir.enabled: false)"))
    if enabled and not found.loaded:
        problems.append(("medium", "mod_userdir is not loaded (web.userdir.enabled: true)"))
    if found.serves("root"):
        problems.append(("high", "root's home directory may be served: no "
                                 "`UserDir disabled root`"))
    if problems:
        evidence.advice = ("a2dismod userdir && apache2ctl graceful, or `UserDir disabled "
                           "root` in userdir.conf")
    evidence.judge(problems)


@pytest.mark.check("web.allow_override", severity="medium",
                   facts=[when_set("web", "apache_config", key="allow_override")],
                   title="Apache's .htaccess files override no more than declared",
                   compare={"AllowOverride": ("allowed", "granting"),
                            "files read": (None, "files_read"),
                            "unread": (None, "unread")})
def test_allow_override(host, facts, evidence):
    """Every AllowOverride in effect in Apache's configuration grants no more than
    `web.allow_override.allowed` (None by default, as CIS's Apache benchmark says), and
    no AllowOverrideList names directives: an .htaccess is configuration written by
    whoever can write the document root, read on every request. All, Options or
    FileInfo there let it turn on CGI or handlers (code run by the server); Apache's
    own default is None. Each granting directive is shown with its file and line and
    the sections it sits in; one in an <IfModule> that does not hold is not in effect.
    --remediate sets a granting AllowOverride to `set_to` (None) and an AllowOverrideList
    to None, only in the files `web.allow_override.files` declares, with `apache2ctl -t`
    before a graceful reload."""
    conf, cfg = _apache(host, facts, "allow_override")
    allowed = list(conf.get("allowed") or ["None"])
    found = apache_config.overriding(cfg, allowed)
    evidence.add(allowed=allowed, files_read=len(cfg.includes) - len(cfg.unread),
                 unread=cfg.unread[:MAX_SHOWN],
                 granting=[{"where": d.where, "directive": f"{d.name} {' '.join(d.args)}",
                            "sections": d.sections} for d in found[:MAX_SHOWN]])
    problems = [("medium", f"{d.where}: {d.name} {' '.join(d.args)}"
                 + (f" in <{d.section('directory', 'directorymatch')}>"
                    if d.section("directory", "directorymatch") else "")) for d in found]
    if problems:
        problems[0] = ("medium", f"{len(found)} AllowOverride beyond "
                                 f"{' '.join(allowed)}: " + problems[0][1])
        evidence.advice = ("AllowOverride None in those <Directory> sections (put what an "
                           ".htaccess did in the vhost itself), apache2ctl -t, then "
                           "apache2ctl graceful")
    evidence.judge(problems)
