"""kernel.modules: blacklist the modules the inventory declares `blacklisted` in
/etc/modprobe.d/fleetcheck-blacklist.conf.

Each module gets CIS's two lines: `blacklist NAME` (no loading by alias: a mount, a
hotplug event) and `install NAME /bin/false` (an explicit `modprobe NAME` fails too).
The module names are checked again with their kind (fleetcheck.facts.kernel.module_name)
and the new file is read back with fleetcheck's modprobe.d parser
(fleetcheck.facts.kernel_modprobe.parse_conf): it must hold exactly the directives it
held, plus the new ones; else the fix is refused. A module already loaded is never
unloaded (no rmmod: something may use it): it stays until the admin unloads it or the
host reboots, and the check says so. Nothing else changes at runtime, so a rollback is
the file put back.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts.kernel import VALUE_KINDS, VAR, module_key, module_name, settings
from fleetcheck.facts.kernel_modprobe import parse_conf
from fleetcheck.remediation import WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe, verify

PERSIST = "/etc/modprobe.d/fleetcheck-blacklist.conf"
HEADER = ("# Kernel modules blacklisted by fleetcheck --remediate (the inventory's "
          "kernel.modules).\n")


def directives(text: str) -> list[tuple[str, str, str]]:
    """(command, module, rest) of every directive of a modprobe.d file, sorted: what
    the re-parse guard compares."""
    return sorted((d.command, d.module, d.rest) for d in parse_conf(text, PERSIST).directives)


def lines_for(name: str) -> str:
    return f"blacklist {name}\ninstall {name} /bin/false\n"


@fix("kernel.modules")
def plan_blacklist(ctx):
    """Writes `blacklist NAME` and `install NAME /bin/false` for each module declared
    `blacklisted` that modprobe does not refuse yet, in
    `/etc/modprobe.d/fleetcheck-blacklist.conf` (kept as it is otherwise; read back
    before it is written). Never unloads a module (no rmmod); a loaded one waits for
    the admin or a reboot. Rollback puts the file back."""
    rules = settings(ctx.vars, "modules")
    if not isinstance(rules, Mapping):
        return refuse(ctx.check_id, ctx.host, "the var kernel.modules declares no module")
    wanted = [str(name) for name, state in rules.items() if state == "blacklisted"]
    why = declared_problem(VAR, {"modules": {n: "blacklisted" for n in wanted}},
                           VALUE_KINDS) or unsafe(
        [(module_name, name, f"kernel.modules key {values.shown(name, 40)}")
         for name in wanted])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    loaded = _loaded(ctx, rules)
    config = ctx.facts.get("kernel_modprobe") if wanted else None
    missing = [n for n in wanted if not (config.refused(n) or config.blacklisted(n))]
    if not missing:
        return refuse(ctx.check_id, ctx.host, _unloaded_reason(loaded)
                      or "every module declared blacklisted is refused by modprobe already")
    current = ctx.facts.get("file", path=PERSIST)
    if not_utf8(PERSIST, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(PERSIST, current))
    before = current.text if current.exists else HEADER
    there = {d.module for d in parse_conf(before, PERSIST).directives}
    new = [n for n in missing if module_key(n) not in there]
    if not new:
        return refuse(ctx.check_id, ctx.host, f"{PERSIST} already names "
                      f"{', '.join(missing)} but modprobe does not read it that way: "
                      "check it by hand (modprobe --showconfig)")
    after = (before if before.endswith("\n") or not before else before + "\n") \
        + "".join(lines_for(n) for n in new)
    added = [(c, module_key(n), r) for n in new
             for c, r in (("blacklist", ""), ("install", "/bin/false"))]
    why = verify(directives, before if current.exists else None, after,
                 lambda old: sorted((old or []) + added), what=PERSIST)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    note = f" ({_unloaded_reason(loaded)})" if loaded else ""
    return ctx.plan(WriteFile(f"blacklist {', '.join(new)} in {PERSIST}{note}",
                              path=PERSIST, content=after.encode(),
                              before=current.content if current.exists else None))


def _loaded(ctx, rules: Mapping) -> list[str]:
    """The modules declared not_loaded or blacklisted that are loaded now."""
    if not any(state in ("not_loaded", "blacklisted") for state in rules.values()):
        return []
    mods = ctx.facts.get("kernel_modules")
    return [str(n) for n, state in rules.items()
            if state in ("not_loaded", "blacklisted") and mods.state_of(str(n)) == "loaded"]


def _unloaded_reason(loaded: list[str]) -> str:
    if not loaded:
        return ""
    return (f"{', '.join(loaded)} stay loaded: fleetcheck never unloads a module; "
            "modprobe -r it once unused, or reboot")
