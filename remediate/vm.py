"""vm.guests and vm.autostart: bring each declared guest to its declared state, set
its autostart flag, through virsh on the host (libvirt; xl is left to the admin).

A guest is named by its UUID (checked to be one) as virsh's positional argument after
`--` (virsh 9.0's parser takes `--` as the end of options: tried on the test driver),
never by its name: a name is host output, may start with '-' or be a number that virsh
would look up as another guest's ID. Every command is `virsh -c URI ...` with the
URI of `vm.uri`. What a fix does to each guest is its action's summary; a dry run
plans and runs nothing; a guest that runs on another hypervisor of the inventory is
never started here (it would run twice on one disk). Rollback (`fleetcheck rollback
RUN`) undoes each action: a started guest is shut down gracefully, a resumed one
suspended again, a suspended one resumed, a guest shut down started again, autostart
set back. There is no file to back up: the state is libvirt's.
"""

from __future__ import annotations

from fleetcheck.facts import virsh
from fleetcheck.facts.base import Command
from fleetcheck.facts.vm import (found_elsewhere, hypervisors, ignored, in_state, libvirt_uri,
                                 settings)
from fleetcheck.remediation import RunCommand, fix, refuse

# one wait is at most this long, under the default command timeout (60 s); a longer
# vm.shutdown.timeout_s is several waits, each a command of its own
WAIT_CHUNK_S = 25
# $1 uri, $2 uuid, $3 seconds, $4 1 when this is the last wait, $5 1 to destroy then
WAIT_SCRIPT = r"""uri=$1 u=$2 t=$3 last=$4 destroy=$5 i=0 s=
while [ "$i" -lt "$t" ]; do
  s=$(LC_ALL=C virsh -c "$uri" domstate -- "$u" </dev/null 2>/dev/null)
  [ "$s" = "shut off" ] && exit 0
  sleep 1; i=$((i + 1))
done
[ "$last" = 1 ] || exit 0
if [ "$destroy" = 1 ]; then LC_ALL=C virsh -c "$uri" destroy -- "$u" </dev/null; exit; fi
echo "the guest is still ${s:-running} after the timeout (vm.shutdown.timeout_s)" >&2
exit 1
"""


def virsh_command(uri: str, operation: str, uuid: str) -> Command:
    """`virsh -c URI OPERATION... -- UUID` (operation: start, resume, suspend, shutdown,
    autostart, autostart --disable)."""
    if not virsh.is_uuid(uuid):
        raise ValueError(f"not a UUID: {uuid!r}")
    words = operation.split()
    return Command("LC_ALL=C virsh -c %s" + " %s" * len(words) + " -- %s </dev/null",
                   libvirt_uri(uri, "vm.uri"), *words, uuid)


def _act(uri: str, summary: str, operation: str, uuid: str) -> RunCommand:
    return RunCommand(summary, command=virsh_command(uri, operation, uuid))


def shutdown_actions(uri: str, name: str, uuid: str, timeout_s: int,
                     destroy: bool) -> list[RunCommand]:
    """`virsh shutdown`, then waits of at most WAIT_CHUNK_S each until `shut off`
    (the last one fails, or destroys when declared)."""
    out = [_act(uri, f"{name}: shut down gracefully (virsh shutdown)", "shutdown", uuid)]
    left = timeout_s
    while left > 0:
        chunk = min(WAIT_CHUNK_S, left)
        left -= chunk
        last = left == 0
        out.append(RunCommand(
            f"{name}: wait for shut off ({timeout_s - left}/{timeout_s} s"
            + (", then virsh destroy)" if last and destroy else ")"),
            command=Command("sh -c %s sh %s %s %s %s %s", WAIT_SCRIPT,
                            libvirt_uri(uri, "vm.uri"), uuid, chunk, int(last),
                            int(destroy))))
    return out


@fix("vm.guests")
def plan_guests(ctx):
    """For each declared guest found here in another state: shut off -> running:
    `virsh start -- UUID` (undo: `virsh shutdown`); paused -> running: `virsh resume --
    UUID` (undo: `virsh suspend`); running -> paused: `virsh suspend -- UUID` (undo:
    `virsh resume`); running -> shut off: `virsh shutdown -- UUID`, then waits up to
    `vm.shutdown.timeout_s` (120 s) for shut off, `virsh destroy` after it only with
    `destroy_after_timeout: true`, else the fix fails (undo: `virsh start`). Refused: a
    guest that is missing (fleetcheck defines no guest), one that runs on another
    hypervisor of the inventory, one in any other state (crashed, in shutdown,
    pmsuspended, paused declared shut off, shut off declared paused), and xl hosts."""
    conf = settings(ctx.vars)
    state = ctx.facts.get("vm_guests")
    if conf is None or not conf["guests"] or not state.applicable:
        return refuse(ctx.check_id, ctx.host, "no declared guest on an answering hypervisor")
    if state.tool != "virsh":
        return refuse(ctx.check_id, ctx.host, f"{state.tool}: fleetcheck's fixes drive "
                      "virsh (libvirt) only")
    uri, down = conf["uri"], conf["shutdown"]
    actions, undo, others = [], [], None
    for want in conf["guests"]:
        name, wanted = want["name"], want["state"]
        guest = state.guest(name)
        if guest is None:
            return refuse(ctx.check_id, ctx.host, f"{name}: not defined on {ctx.host}: "
                          "define it (virsh define) or declare it where it is")
        found = guest.state
        if in_state(found, wanted):
            continue
        if not guest.uuid or not virsh.is_uuid(guest.uuid):
            return refuse(ctx.check_id, ctx.host, f"{name}: no UUID in the facts")
        if wanted != "shut off" and not guest.active:
            if others is None:
                others = hypervisors(ctx.fleet or {}, ctx.host)
            elsewhere = [h for h, g in found_elsewhere(name, others, ctx.facts_of)[0]
                         if g.active] if ctx.other is not None else []
            if elsewhere:
                return refuse(ctx.check_id, ctx.host, f"{name}: runs on "
                              f"{', '.join(elsewhere)}: starting it here too would run it "
                              "twice")
        u = guest.uuid
        if (found, wanted) == ("shut off", "running"):
            actions.append(_act(uri, f"{name}: start (virsh start)", "start", u))
            undo += shutdown_actions(uri, name, u, down["timeout_s"],
                                     down["destroy_after_timeout"])
        elif (found, wanted) == ("paused", "running"):
            actions.append(_act(uri, f"{name}: resume (virsh resume)", "resume", u))
            undo.append(_act(uri, f"{name}: suspend again", "suspend", u))
        elif (found, wanted) == ("running", "paused"):
            actions.append(_act(uri, f"{name}: suspend (virsh suspend)", "suspend", u))
            undo.append(_act(uri, f"{name}: resume again", "resume", u))
        elif (found, wanted) == ("running", "shut off"):
            actions += shutdown_actions(uri, name, u, down["timeout_s"],
                                        down["destroy_after_timeout"])
            undo.append(_act(uri, f"{name}: start again", "start", u))
        else:
            return refuse(ctx.check_id, ctx.host, f"{name}: {found}, declared {wanted}: "
                          "not a change fleetcheck makes (look at `virsh domstate --reason`)")
    return ctx.plan(*actions, reason="every declared guest is in its state").after_restore(
        *undo)


@fix("vm.autostart")
def plan_autostart(ctx):
    """`virsh autostart -- UUID` (or `autostart --disable`) for each declared guest
    whose flag differs; rollback sets it back."""
    conf = settings(ctx.vars)
    state = ctx.facts.get("vm_guests")
    if conf is None or not state.applicable or state.tool != "virsh":
        return refuse(ctx.check_id, ctx.host, "no libvirt hypervisor answers here")
    actions, undo = [], []
    for want in conf["guests"] or []:
        guest = state.guest(want["name"])
        if want["autostart"] is None or guest is None or guest.autostart == want["autostart"]:
            continue
        if guest.autostart is None or not guest.uuid or not virsh.is_uuid(guest.uuid):
            return refuse(ctx.check_id, ctx.host, f"{guest.name}: its autostart flag or "
                          "UUID is not known")
        on = "autostart" if want["autostart"] else "autostart --disable"
        off = "autostart --disable" if want["autostart"] else "autostart"
        actions.append(_act(conf["uri"], f"{guest.name}: {on}", on, guest.uuid))
        undo.append(_act(conf["uri"], f"{guest.name}: {off} (as before)", off, guest.uuid))
    return ctx.plan(*actions, reason="every declared autostart is set").after_restore(*undo)


@fix("vm.undeclared")
def plan_undeclared(ctx):
    """Only with `vm.undeclared.shutdown: true`: each running guest that is neither
    declared nor ignored is shut down gracefully (`virsh shutdown -- UUID`, then the
    waits of vm.guests' fix, `vm.shutdown`); rollback starts it again. A guest in
    another active state (paused, crashed, ...) is refused."""
    conf = settings(ctx.vars)
    state = ctx.facts.get("vm_guests")
    rule = (conf or {}).get("undeclared")
    if not rule or not rule["shutdown"]:
        return refuse(ctx.check_id, ctx.host, "a guest the inventory does not declare is "
                      "the admin's (vm.undeclared.shutdown: true shuts it down)")
    if not state.applicable or state.tool != "virsh":
        return refuse(ctx.check_id, ctx.host, "no libvirt hypervisor answers here")
    known = {g["name"] for g in conf["guests"] or []}
    down = conf["shutdown"]
    actions, undo = [], []
    for guest in state.guests:
        if not guest.active or guest.name in known or ignored(guest.name, rule["ignore"]):
            continue
        if guest.state != "running" or not guest.uuid or not virsh.is_uuid(guest.uuid):
            return refuse(ctx.check_id, ctx.host, f"{guest.name}: {guest.state}: only a "
                          "running guest is shut down")
        actions += shutdown_actions(conf["uri"], guest.name, guest.uuid, down["timeout_s"],
                                    down["destroy_after_timeout"])
        undo.append(_act(conf["uri"], f"{guest.name}: start again", "start", guest.uuid))
    return ctx.plan(*actions, reason="no undeclared guest runs").after_restore(*undo)
