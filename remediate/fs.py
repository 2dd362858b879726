"""fs.mounted: mount the fstab entries that are not mounted, once `findmnt --verify`
finds no error in /etc/fstab. fs.swap: `swapon` the fstab swap entries that are not
active.

Both change runtime state only (no file): what they run comes from the host's own
fstab (its mount points and evaluated swap devices, checked again as absolute paths,
given after `--`), and rollback undoes it (umount, swapoff). fs.swap's fix is never
planned when `fs_swap.path` reads a captured /proc/swaps (the lab): swap is the
kernel's, which a lab host shares with the machine running it, and swapon there would
change nothing the check reads. Neither fix edits fstab: a missing entry, a wrong
device or a missing swap area is the admin's to decide.
"""

from __future__ import annotations

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.fs_common import settings
from fleetcheck.facts.fstab_verify import VAR as MOUNTED_VAR
from fleetcheck.facts.fstab_verify import VARS as MOUNTED_VARS
from fleetcheck.facts.fstab_verify import judged_fstab
from fleetcheck.facts.swaps import DEFAULT_PATH
from fleetcheck.facts.swaps import settings as swap_settings
from fleetcheck.remediation import RunCommand, fix, refuse
from fleetcheck.remediation.edit import unsafe

VERIFY = Command("findmnt --verify")


def unmounted(mounts, conf) -> list[str]:
    """The fstab mount points fs.mounted wants mounted that are not."""
    out = []
    for target, _ in judged_fstab(mounts, conf):
        if mounts.mounted(target) is None and target not in out:
            out.append(target)
    return out


@fix("fs.mounted")
def plan_mount(ctx):
    """Runs `findmnt --verify` (refused when it reports an error or a parse error in
    /etc/fstab), then `mount -- PATH` for each fstab entry that is not mounted; mount
    options and types mismatched on a mounted filesystem are left to the admin (a
    remount under running programs). Rollback unmounts what it mounted."""
    conf = settings(ctx.vars, MOUNTED_VAR, MOUNTED_VARS)
    if conf is None:
        return refuse(ctx.check_id, ctx.host, "fs_mounted is null: nothing is judged")
    targets = unmounted(ctx.facts.get("mounts"), conf)
    if not targets:
        return ctx.plan(reason="every fstab entry is mounted; a type or an option that "
                        "differs needs a remount the admin plans")
    why = unsafe([(values.path, t, f"the fstab mount point {values.shown(t, 60)}")
                  for t in targets])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    check = ctx.facts.get("fstab_verify")
    if not check.clean:
        return refuse(ctx.check_id, ctx.host, "findmnt --verify finds errors in "
                      f"/etc/fstab: {'; '.join(check.problems()[:5])}: fix fstab first")
    actions = [RunCommand("findmnt --verify: /etc/fstab has no error", command=VERIFY)]
    actions += [RunCommand(f"mount {t}", command=Command("mount -- %s", t)) for t in targets]
    undo = [RunCommand(f"umount {t} (not mounted before the fix)",
                       command=Command("umount -- %s", t)) for t in reversed(targets)]
    return ctx.plan(*actions).after_restore(*undo)


@fix("fs.swap")
def plan_swapon(ctx):
    """`swapon [-p PRI] -- DEVICE` for each /etc/fstab swap entry (not noauto) that is
    not active, with its fstab priority; never where `fs_swap.path` reads a capture
    instead of /proc/swaps. A declared device that is not in fstab, or an fstab source
    that does not resolve, is left to the admin (mkswap, fstab). Rollback runs swapoff."""
    conf = swap_settings(ctx.vars)
    if conf is None:
        return refuse(ctx.check_id, ctx.host, "fs_swap is null: nothing is judged")
    if (conf.get("path") or DEFAULT_PATH) != DEFAULT_PATH:
        return refuse(ctx.check_id, ctx.host, f"fs_swap.path reads {conf['path']}, not "
                      f"{DEFAULT_PATH}: swapon would change the kernel's swap, not what "
                      "the check reads (a lab host shares its kernel)")
    sw = ctx.facts.get("swaps")
    missing = [e for e in sw.fstab or [] if not e.noauto and sw.area(e.source, e.device) is None]
    found = [e for e in missing if e.device]
    if not found:
        reason = (f"fstab swap {', '.join(e.source for e in missing)} does not resolve to "
                  "a device: check fstab and mkswap by hand") if missing else \
            "every fstab swap entry is active; a declared device outside fstab is the admin's"
        return refuse(ctx.check_id, ctx.host, reason)
    why = unsafe([(values.path, e.device, f"the swap device {values.shown(e.device, 60)}")
                  for e in found])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    actions, undo = [], []
    for e in found:
        if e.priority is None:
            command = Command("swapon -- %s", e.device)
        else:
            command = Command("swapon -p %s -- %s", str(e.priority), e.device)
        actions.append(RunCommand(f"swapon {e.device} (fstab: {e.source})", command=command))
        undo.append(RunCommand(f"swapoff {e.device} (not active before the fix)",
                               command=Command("swapoff -- %s", e.device)))
    return ctx.plan(*actions).after_restore(*undo)
