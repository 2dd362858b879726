"""Proxy (LPIC-2 208.3): Squid's own verdict on its configuration, the client networks
its acls declare, and whether it serves a client inside them and refuses one outside,
as the controller sees it (fleetcheck.probes.proxy: requests to the host's inventory
address only). From the var `proxy_squid` (fleetcheck.facts.squid.VARS); null turns it off."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.squid import same_networks, settings
from fleetcheck.inventory import hostvars as hv
from fleetcheck.probes import proxy as probe

MAX_SHOWN = 10


@pytest.mark.check("proxy.squid", severity="high",
                   facts=[when_set("proxy_squid", "squid_config")],
                   title="squid -k parse is clean; the declared clients are served, others "
                         "refused",
                   compare={"requests": ("url", "requests"),
                            "parse errors": (None, "errors"),
                            "running": (None, "running"),
                            "http_access": (None, "http_access")})
def test_squid(host, facts, evidence):
    """Where Squid is installed: `squid -k parse` (the configuration as a start reads
    it, every include) exits 0 with no ERROR, FATAL or Bungled line (high: the next
    start or `squid -k reconfigure` fails or drops the line) and, with
    `proxy_squid.warnings` (the default), no WARNING (medium); each acl of
    `proxy_squid.acl` lists exactly the declared networks in its `acl NAME src` lines
    as Squid processed them (compared as networks: a widened acl lets strangers use
    the proxy, high). With `proxy_squid.url`, the controller asks the proxy (the host's
    inventory IP address, `port`) for it, once from the `inside` address (must be
    served: 2xx or 3xx from the origin, no redirect followed) and once from the
    `outside` one (must be refused: Squid's 403 ERR_ACCESS_DENIED, or no answer); the
    source address is bound, so both must be the controller's own. An open proxy
    relays anyone's traffic in the host's name (abuse, access to the inside
    networks): high; the inside client refused is an outage for its users: high.
    Not applicable where Squid is not installed and nothing is requested, and where it
    is installed, not running, nothing declared and `squid -k parse` exits 0 (a package
    nobody uses: its warnings, such as a host name that does not resolve, are not judged). --remediate restores the declared acls (`squid -k parse`, then `squid
    -k reconfigure`)."""
    conf = settings(host.vars)
    if conf is None:
        pytest.skip("Squid is not judged (proxy_squid is null)")
    cfg = facts.squid_config
    declared = {str(k): [str(v) for v in nets] for k, nets in (conf["acl"] or {}).items()
                if nets}
    asks = bool(conf["url"]) and bool(conf["inside"] or conf["outside"])
    if not cfg.installed and not asks:
        pytest.skip("Squid is not installed (no squid) and no request is declared")
    if cfg.installed and not cfg.running and not declared and not asks and cfg.valid:
        pytest.skip("Squid is installed but not running, and nothing is declared")
    problems = []
    if cfg.installed:
        acls = cfg.directives.acls("src")
        evidence.add(config=cfg.config, running=cfg.running, parse_exit=cfg.exit,
                     files=cfg.config_files[:20], errors=cfg.errors[:50],
                     warnings=cfg.warnings[:50], http_ports=cfg.directives.http_ports(),
                     http_access=cfg.directives.http_access()[:50],
                     acls={k: v[:50] for k, v in acls.items()})
        if cfg.exit or cfg.errors:
            first = (cfg.errors or ["no message"])[0]
            problems.append(("high", f"squid -k parse exits {cfg.exit} with "
                             f"{len(cfg.errors)} error(s): {first}"))
        if conf["warnings"] and cfg.warnings:
            problems.append(("medium", f"{len(cfg.warnings)} warning(s): "
                             f"{'; '.join(cfg.warnings[:MAX_SHOWN])}"))
        for name, nets in declared.items():
            have = acls.get(name)
            if have is None:
                problems.append(("high", f"acl {name} src is not defined, declared "
                                 f"{' '.join(nets)}"))
            elif not same_networks(nets, have):
                problems.append(("high", f"acl {name} src {' '.join(have)}, declared "
                                 f"{' '.join(nets)}"))
    else:
        evidence.add(installed=False)
        problems.append(("high", "Squid is not installed (no squid), but requests through "
                         "it are declared (proxy_squid.url)"))
    if asks:
        address, why = probe.target(hv.address(host.vars, host.name))
        if address is None:
            pytest.skip(why)
        where = f"{address}:{conf['port']}"
        asked = {role: probe.through(address, conf["port"], conf["url"], source=conf[role],
                                     role=role, timeout=float(conf["timeout"]),
                                     allowed=address)
                 for role in ("inside", "outside") if conf[role]}
        evidence.add(proxy=where, url=conf["url"],
                     requests={r.role: {"from": r.source, "status": r.status,
                                        "squid_error": r.squid_error, "server": r.server,
                                        "error": r.error} for r in asked.values()})
        problems += probe.problems(asked.get("inside"), asked.get("outside"), where)
    if problems:
        evidence.advice = (f"squid -k parse -f {conf['config']}; check the acl ... src and "
                           "http_access lines, then squid -k reconfigure")
    evidence.judge(problems)
