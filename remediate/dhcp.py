"""dhcp.config_valid: start a DHCP server the inventory declares running
(`dhcp.config_valid.running: true`) that is stopped, after its own configuration test.

Safe because it changes no file: the daemon starts with the configuration its admin
gave it, which its own test (`dhcpd -t -cf FILE`, `kea-dhcp4 -t FILE`) accepted the
moment before (the plan runs the test again first: a start that would fail is never
tried), and rollback stops it again. Refused whenever anything else is wrong (a failing
test, a declared subnet or range missing: the file is the admin's to edit, fleetcheck
does not write a DHCP configuration), when the server to start is not clear (none or
both installed and none declared), and when the declared `config` is not the file the
init script or unit starts the daemon with (Debian's /etc/dhcp/dhcpd.conf and
/etc/kea/kea-dhcp4.conf): the started daemon would not be the tested one.
"""

import dataclasses

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.dhcp import (DEFAULT_CONFIG, SERVICE, TOOL, judged_servers, settings,
                                   subnet_problems)
from fleetcheck.remediate.service import plan_service
from fleetcheck.remediation import RunCommand, fix, refuse
from fleetcheck.remediation.edit import unsafe


@fix("dhcp.config_valid")
def plan_start(ctx):
    """Start the declared DHCP server when it is stopped (`running: true`) and nothing
    else fails: its configuration test first (`dhcpd -t -cf /etc/dhcp/dhcpd.conf`,
    `kea-dhcp4 -t`), then `service isc-dhcp-server start` (kea-dhcp4-server; systemctl
    under systemd) and enabled at boot as service.running's fix does; rollback stops it
    again. A failing test or a missing subnet or range is left to the admin."""
    conf = settings(ctx.vars) or {}
    if conf.get("running") is not True:
        return refuse(ctx.check_id, ctx.host, "only a daemon declared running "
                      "(dhcp.config_valid.running: true) is started; the rest is the "
                      "admin's to fix")
    state = ctx.facts.get("dhcp")
    judged, problems, why = judged_servers(conf, state)
    if why or problems or len(judged) != 1:
        return refuse(ctx.check_id, ctx.host, why or (problems[0][1] if problems else
                      "several DHCP servers installed: declare dhcp.config_valid.server"))
    srv = judged[0]
    if srv.running:
        return refuse(ctx.check_id, ctx.host, f"{srv.tool} runs: what fails is the "
                      "configuration, the admin's to edit")
    if srv.test_exit:
        return refuse(ctx.check_id, ctx.host, f"{srv.test_command} fails ({srv.error()}): "
                      "fix the file before starting the daemon")
    found = subnet_problems(srv, conf.get("subnets") or [])
    if found:
        return refuse(ctx.check_id, ctx.host, f"{found[0][1]}: the file is the admin's to "
                      "edit")
    if srv.config != DEFAULT_CONFIG[srv.server]:
        return refuse(ctx.check_id, ctx.host, f"{SERVICE[srv.server]} starts the daemon with "
                      f"{DEFAULT_CONFIG[srv.server]}, not the declared {srv.config}: start "
                      "it by hand")
    why = unsafe([(values.path, srv.config, "the configuration file")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    plan = plan_service(dataclasses.replace(ctx, item=SERVICE[srv.server]))
    if plan.refused or plan.empty:
        return plan
    test = (Command("%s -t -q -cf %s", TOOL["isc"], srv.config) if srv.server == "isc"
            else Command("%s -t %s", TOOL["kea"], srv.config))
    plan.actions.insert(0, RunCommand(f"validate with {srv.test_command}", command=test))
    return plan
