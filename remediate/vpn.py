"""vpn.openvpn: start a declared OpenVPN instance (`running: true`, the default) that
is stopped, when nothing else about it fails.

Safe because it changes no file: the daemon starts with the file its admin wrote, which
the binary read cleanly the moment before (the fact's `--test-crypto` reading, the
files it names present), and rollback stops it again. Refused whenever anything else
is wrong with the instance (the file is the admin's to edit: fleetcheck writes no VPN
configuration, and keys are not its to make), and when its file is not where the
distribution's units start it from: /etc/openvpn/server/NAME.conf
(openvpn-server@NAME, systemd) or /etc/openvpn/NAME.conf (openvpn@NAME, systemd; or
`/etc/init.d/openvpn start NAME` without systemd).
"""

from fleetcheck.facts.base import Command
from fleetcheck.facts.openvpn import SEARCHED, config_problems, instance_name, settings
from fleetcheck.remediation import RunCommand, Service, fix, refuse
from fleetcheck.remediation.edit import unsafe

INIT_SCRIPT = "/etc/init.d/openvpn"


def unit_for(name: str, path: str) -> str | None:
    """The systemd unit that starts NAME with `path`, else None."""
    if path == f"{SEARCHED[0]}/{name}.conf":
        return f"openvpn-server@{name}"
    if path == f"{SEARCHED[1]}/{name}.conf":
        return f"openvpn@{name}"
    return None


@fix("vpn.openvpn")
def plan_start(ctx):
    """Start each declared instance that is stopped and whose file is clean: under
    systemd `systemctl start openvpn-server@NAME` (or openvpn@NAME), else Debian's
    `/etc/init.d/openvpn start NAME`; rollback stops it again. Anything else wrong with
    an instance (its file, a missing key, a daemon that runs but does not listen) is
    left to the admin, and the fix is refused."""
    conf = settings(ctx.vars) or {}
    state = ctx.facts.get("openvpn")
    if not state.installed:
        return refuse(ctx.check_id, ctx.host, "OpenVPN is not installed: install it and "
                      "its keys by hand")
    actions, undo = [], []
    for inst in state.instances:
        found = config_problems(inst, conf) if inst.exists else [
            ("high", f"{inst.path} does not exist")]
        if found:
            return refuse(ctx.check_id, ctx.host, f"{inst.name}: {found[0][1]}: the file is "
                          "the admin's to edit")
        want = conf["instances"].get(inst.name)
        if want is None or want.get("running") is not True:
            continue
        proc = state.process_of(inst)
        if proc is not None:
            return refuse(ctx.check_id, ctx.host, f"{inst.name} runs (pid {proc.pid}): "
                          "what fails is its port, the admin's to look at")
        why = unsafe([(instance_name, inst.name, "the instance")])
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        unit = unit_for(inst.name, inst.path)
        if unit is None:
            return refuse(ctx.check_id, ctx.host, f"{inst.name}: no unit starts "
                          f"{inst.path} (only {SEARCHED[0]}/NAME.conf and "
                          f"{SEARCHED[1]}/NAME.conf are): start it by hand")
        init = ctx.facts.get("service", name=unit).init
        if init == "systemd":
            actions.append(Service(f"start {unit}", name=unit, operation="start"))
            undo.append(Service(f"stop {unit} (it was stopped before the fix)", name=unit,
                                operation="stop"))
        elif unit.startswith("openvpn@"):
            actions.append(RunCommand(f"start {inst.name} ({INIT_SCRIPT} start {inst.name})",
                                      command=Command(INIT_SCRIPT + " start %s", inst.name)))
            undo.append(RunCommand(f"stop {inst.name} (it was stopped before the fix)",
                                   command=Command(INIT_SCRIPT + " stop %s", inst.name)))
        else:
            return refuse(ctx.check_id, ctx.host, f"{inst.name}: {INIT_SCRIPT} starts only "
                          f"{SEARCHED[1]}/NAME.conf, and this host has no systemd")
    return ctx.plan(*actions, reason="every declared instance runs").after_restore(*undo)
