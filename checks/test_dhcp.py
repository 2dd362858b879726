"""DHCP (LPIC-2 210.1): the DHCPv4 server's own test of its configuration (ISC dhcpd's
`dhcpd -t -cf`, Kea's `kea-dhcp4 -t`), the subnets and ranges the inventory declares
present in it, and the daemon running (dhcp.config_valid). From the var `dhcp`
(fleetcheck.facts.dhcp.VARS); `dhcp.config_valid: null` turns the check off. Nothing is
ever sent to a DHCP port: the check reads the host's configuration and processes."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.dhcp import MAX_SHOWN, SERVICE, judged_servers, settings, subnet_problems


@pytest.mark.check("dhcp.config_valid", severity="high",
                   facts=[when_set("dhcp", "dhcp", key="config_valid")],
                   title="the DHCP server's configuration test is clean, its declared "
                         "subnets and ranges are there, it runs",
                   compare={"server": ("declared", "installed")})
def test_config_valid(host, facts, evidence):
    """Where a DHCPv4 server is installed (ISC dhcpd, Kea's kea-dhcp4), or where
    `dhcp.config_valid` declares one: the server's own configuration test (`dhcpd -t
    -cf /etc/dhcp/dhcpd.conf`, `kea-dhcp4 -t /etc/kea/kea-dhcp4.conf`, or the declared
    `config`) exits 0: a failing test is high, because the running daemon keeps its old
    configuration and the next restart (a reboot, an upgrade) leaves the segment without
    DHCP. Each subnet of `dhcp.config_valid.subnets` is declared in the file (dhcpd's
    `subnet NUMBER netmask MASK { }`, Kea's `subnet4[].subnet`) with each of its
    `ranges` (dhcpd's `range LOW HIGH`, a Kea pool): a missing one is medium (clients
    there get no lease, or no dynamic one). `running: true`: the daemon runs (high when
    not: no client gets an address); `running: false`: it does not (high when it does:
    a DHCP server nobody planned hands out addresses to the segment's clients).
    Which server: the declared `server`, else the ones that run, else (with subnets or
    `running: true` declared) every installed one; installed, not running and nothing
    declared is not applicable. The file is read with fleetcheck's own parser (no
    include followed; secrets redacted on the host). --remediate starts a declared
    daemon that is stopped, after its configuration test."""
    conf = settings(host.vars)
    if conf is None:
        pytest.skip("not judged (dhcp.config_valid is null)")
    state = facts.dhcp
    judged, problems, why = judged_servers(conf, state)
    evidence.add(installed={s.server: s.tool for s in state.installed()},
                 declared={k: conf.get(k) for k in ("server", "config", "subnets", "running")
                           if conf.get(k) not in (None, [])})
    if why:
        pytest.skip(why)
    declared = conf.get("subnets") or []
    for srv in judged:
        evidence.add(**{srv.server: {
            "tool": srv.tool, "config": srv.config, "test": srv.test_command,
            "test_exit": srv.test_exit, "messages": srv.messages()[:50],
            "running": srv.pids, "file": srv.file, "includes": srv.includes,
            "subnets": None if srv.subnets is None else
            {s.subnet: s.ranges for s in srv.subnets[:MAX_SHOWN * 5]}}})
        if srv.test_exit:
            problems.append(("high", f"{srv.test_command} exits {srv.test_exit}: "
                             f"{srv.error()}"))
        problems += subnet_problems(srv, declared)
        if conf.get("running") is True and not srv.running:
            problems.append(("high", f"{srv.tool} is not running (service "
                             f"{SERVICE[srv.server]})"))
        elif conf.get("running") is False and srv.running:
            problems.append(("high", f"{srv.tool} runs (pid {', '.join(map(str, srv.pids))})"
                             ", declared not to (dhcp.config_valid.running: false)"))
    if problems:
        evidence.advice = "; ".join(
            f"{s.test_command}; edit {s.config}, test again, then restart "
            f"{SERVICE[s.server]}" for s in judged) or "install the DHCP server"
    evidence.judge(problems)
