"""sysctl.value: set the runtime value and persist it in /etc/sysctl.d."""

import re

from fleetcheck.facts.base import Command
from fleetcheck.facts.sysctl import normalize
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import set_keyword, unsafe_value

PERSIST = "/etc/sysctl.d/99-fleetcheck.conf"
HEADER = "# Kernel parameters set by fleetcheck --remediate (from the inventory).\n"


@fix("sysctl.value")
def plan_sysctl(ctx):
    key = ctx.item
    want = normalize(ctx.vars["sysctl"][key])
    why = unsafe_value(want)
    if why:
        return refuse(ctx.check_id, ctx.host, f"{key}: {why}")
    actual = ctx.facts.get("sysctl").values.get(key)
    current = ctx.facts.get("file", path=PERSIST)
    before = current.text if current.exists else HEADER
    after = set_keyword(before, re.escape(key) + r"\s*=", f"{key} = {want}")
    actions = []
    if not current.exists or after != before:
        actions.append(WriteFile(f"persist {key} = {want} in {PERSIST}", path=PERSIST,
                                 content=after.encode(),
                                 before=current.content if current.exists else None))
    if actual is None or normalize(actual) != want:
        actions.append(RunCommand(f"sysctl -w {key}={want}",
                                  command=Command("sysctl -w %s", f"{key}={want}")))
    return ctx.plan(*actions, reason=f"{key} is already {want} and persisted")
