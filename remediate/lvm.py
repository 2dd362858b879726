"""lvm.lv_active: activate the declared logical volumes that are inactive.

Each is `lvchange -ay -- VG/LV`: the name is checked again with its kind
(fleetcheck.facts.lvm.lv_path: two lvm names, never an option) and comes after `--`.
Only LVs the inventory declares (`lvm.lv_active.declared`) and `lvs` shows inactive
('-'): a suspended LV, one without its table or in an unknown state needs an admin
(dmsetup, the logs), and an LV found only by `lvm.lv_active.all` may be inactive on
purpose. Never on captured reports (`lvm.report_dir`: there is no LV to activate).
Nothing is written; rollback deactivates what the fix activated (`lvchange -an`,
which lvm refuses while the LV is open: it never pulls an LV from under a user).
"""

from __future__ import annotations

from fleetcheck.facts.base import Command
from fleetcheck.facts.lvm import lv_path, settings
from fleetcheck.remediation import RunCommand, fix, refuse
from fleetcheck.remediation.edit import unsafe


@fix("lvm.lv_active")
def plan_activate(ctx):
    """Activates each declared LV that lvs shows inactive (`lvchange -ay -- VG/LV`);
    refuses on captured reports and for LVs in any other state. Rollback:
    `lvchange -an -- VG/LV` of those it activated."""
    conf = settings(ctx.vars, "lv_active") or {}
    declared = [str(d) for d in conf.get("declared") or ()]
    if settings(ctx.vars, "report_dir") is not None:
        return refuse(ctx.check_id, ctx.host, "lvm.report_dir is set: the reports are "
                      "captures, there is no LV here to activate")
    if not declared:
        return refuse(ctx.check_id, ctx.host, "no LV declared in lvm.lv_active.declared: "
                      "fleetcheck activates only those (lvchange -ay VG/LV by hand)")
    why = unsafe([(lv_path, name, "lvm.lv_active.declared entry") for name in declared])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    report = ctx.facts.get("lvm_lvs")
    if report.capture:
        return refuse(ctx.check_id, ctx.host, "the LV report is a capture: nothing to "
                      "activate")
    found = {name: report.find(name) for name in declared}
    absent = [name for name, lv in found.items() if lv is None]
    inactive = [name for name, lv in found.items() if lv is not None and lv.state == "-"]
    other = [name for name, lv in found.items()
             if lv is not None and not lv.active and lv.state != "-"]
    if not inactive:
        reason = "; ".join(filter(None, [
            absent and f"not found (create it first): {', '.join(absent)}",
            other and f"neither active nor inactive (suspended, no table, unknown: an "
                      f"admin's): {', '.join(other)}"]))
        return refuse(ctx.check_id, ctx.host, reason) if reason else \
            ctx.plan(reason="every declared LV is active")
    plan = ctx.plan(*[RunCommand(f"activate {name} (lvchange -ay)",
                                 command=Command("lvchange -ay -- %s", name))
                      for name in inactive])
    return plan.after_restore(*[RunCommand(f"deactivate {name} (inactive before the fix)",
                                           command=Command("lvchange -an -- %s", name))
                                for name in inactive])
