"""boot.default_target and boot.enabled: set the default target (systemd) or the
initdefault runlevel (/etc/inittab), and enable or disable services at boot with the
host's own tool.

Every name reaches a command as a value, checked again with its kind (values.unit for
services, fleetcheck.facts.boot.target_value for targets: never an option); systemctl
gets `--` before it. The new /etc/inittab is read back with fleetcheck's inittab parser
(fleetcheck.facts.boot.parse_inittab): it must hold exactly the entries it held, the
initdefault's runlevel changed (or one initdefault entry added); else the fix is
refused. init reads the initdefault only at boot: nothing is reloaded. Rollback puts
the file back, or runs the opposite command.
"""

from __future__ import annotations

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.boot_enabled import boot_runlevels, expectations, judge
from fleetcheck.facts.boot import (NEVER_DEFAULT, RUNLEVEL_TARGETS, TARGET_RUNLEVEL,
                                   declared_target, parse_inittab, settings, target_value)
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import not_utf8, unsafe, verify

INITTAB = "/etc/inittab"


def entries(text: str) -> list[tuple[str, str, str, str]]:
    """(id, runlevels, action, process) of every inittab entry: what the guard compares."""
    return [(e.id, e.runlevels, e.action, e.process) for e in parse_inittab(text).entries]


def set_initdefault(text: str, level: str) -> str:
    """The inittab with every initdefault entry's runlevel set to `level` (kept where it
    is, its id kept), or one `id:LEVEL:initdefault:` appended when there is none."""
    lines = text.splitlines(keepends=True)
    found = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#") or stripped.count(":") < 3:
            continue
        ident, _, action, process = stripped.split(":", 3)
        if action == "initdefault":
            ending = line[len(line.rstrip("\r\n")):] or "\n"
            indent = line[:len(line) - len(line.lstrip())]
            lines[i] = f"{indent}{ident}:{level}:initdefault:{process}{ending}"
            found = True
    out = "".join(lines)
    if not found:
        if out and not out.endswith("\n"):
            out += "\n"
        out += f"# The default runlevel (fleetcheck --remediate: boot.default_target).\n" \
               f"id:{level}:initdefault:\n"
    return out


def _wanted(old, level):
    if not any(a == "initdefault" for _, _, a, _ in old):
        return old + [("id", level, "initdefault", "")]
    return [(i, level if a == "initdefault" else r, a, p) for i, r, a, p in old]


@fix("boot.default_target")
def plan_default_target(ctx):
    """systemd: `systemctl set-default -- TARGET` (the declared target; a runlevel as
    its runlevelN.target's target). SysV: the initdefault entry of /etc/inittab set to
    the declared runlevel, or the target's (multi-user 3, graphical 5, rescue 1), the
    rest of the file kept byte for byte and read back before it is written. Never sets
    poweroff, reboot, halt or emergency. Rollback: the previous default target, or the
    file put back."""
    declared = settings(ctx.vars).get("default_target")
    why = unsafe([(target_value, declared, "boot.default_target")])
    if declared is None or why:
        return refuse(ctx.check_id, ctx.host, why or "boot.default_target is not declared")
    level, target = declared_target(declared)
    if target in NEVER_DEFAULT or level in ("0", "6"):
        return refuse(ctx.check_id, ctx.host, f"{declared} as the default would stop the "
                      "host at every boot: set it by hand if that is really meant")
    boot = ctx.facts.get("boot")
    if boot.system == "systemd":
        undo = [RunCommand(f"set the default target back to {boot.target}",
                           command=Command("systemctl set-default -- %s", boot.target))] \
            if boot.target and not unsafe([(target_value, boot.target, "the old target")]) \
            else []
        return ctx.plan(RunCommand(f"systemctl set-default {target}",
                                   command=Command("systemctl set-default -- %s", target)),
                        reason=f"the default target is {target}").after_restore(*undo)
    if boot.system != "inittab":
        return refuse(ctx.check_id, ctx.host, "neither systemd nor /etc/inittab on this host")
    level = level or TARGET_RUNLEVEL.get(target)
    if level is None or level not in RUNLEVEL_TARGETS:
        return refuse(ctx.check_id, ctx.host, f"{target} has no SysV runlevel to set")
    current = ctx.facts.get("file", path=INITTAB)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{INITTAB} is gone since the audit")
    if not_utf8(INITTAB, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(INITTAB, current))
    after = set_initdefault(current.text, level)
    why = verify(entries, current.text, after, lambda old: _wanted(old, level),
                 what=INITTAB)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    return ctx.plan(WriteFile(f"initdefault runlevel {level} in {INITTAB} (at the next "
                              "boot)", path=INITTAB, content=after.encode(),
                              before=current.content))


def _tool_commands(system: str, name: str, enable: bool, has_links: bool):
    """(summary, command, undo command) enabling or disabling `name` with the tool."""
    if system == "systemd":
        verb, back = ("enable", "disable") if enable else ("disable", "enable")
        return (f"systemctl {verb} {name}", Command("systemctl %s -- %s", verb, name),
                Command("systemctl %s -- %s", back, name))
    if system == "chkconfig":
        on, off = ("on", "off") if enable else ("off", "on")
        return (f"chkconfig {name} {on}", Command("chkconfig %s %s", name, on),
                Command("chkconfig %s %s", name, off))
    if enable and not has_links:   # no link yet: the script's LSB Default-Start
        return (f"update-rc.d {name} defaults", Command("update-rc.d %s defaults", name),
                Command("update-rc.d -f %s remove", name))
    verb, back = ("enable", "disable") if enable else ("disable", "enable")
    return (f"update-rc.d {name} {verb}", Command("update-rc.d %s %s", name, verb),
            Command("update-rc.d %s %s", name, back))


@fix("boot.enabled")
def plan_enabled(ctx):
    """Enables each service that must start at boot and does not, and disables each
    declared disabled one that does: `systemctl enable|disable -- UNIT`, `update-rc.d
    NAME enable|disable` (`defaults` for a script with no rc link yet) on Debian SysV,
    `chkconfig NAME on|off` on RHEL 6. Starts or stops nothing now. A masked unit or a
    service with no unit or init script is left to the admin. Rollback runs the
    opposite command."""
    want, _ = expectations(ctx.vars)
    enabled = ctx.facts.get("boot_enabled")
    boot = ctx.facts.get("boot") if enabled.system != "systemd" else None
    judged, _, _ = judge(want, enabled, boot_runlevels(enabled, boot))
    actions, undo = [], []
    left = [text for _, todo, text in judged if todo is None]
    for name, todo, _ in judged:
        if todo is None:
            continue
        unit = enabled.unit_name(name)
        why = unsafe([(values.unit, unit, "the service")])
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        summary, command, back = _tool_commands(enabled.system, unit, todo == "enable",
                                                enabled.has_links(unit))
        actions.append(RunCommand(summary, command=command))
        undo.append(RunCommand(f"undo: {summary}", command=back))
    if not actions:
        return refuse(ctx.check_id, ctx.host, "nothing this fix may change: "
                      + ("; ".join(left) if left else "every service is as declared")
                      + " (a masked unit: systemctl unmask it by hand first)")
    reason = "services start at boot as declared"
    if left:
        reason += "; left to the admin: " + "; ".join(left)
    return ctx.plan(*actions, reason=reason).after_restore(*reversed(undo))
