"""sshd.config: set the directive in sshd_config, validate with `sshd -t` before the
reload (the engine restores the backup when validation fails), reload sshd: running
sessions stay up (SIGHUP re-executes the listener only)."""

import re

from fleetcheck.facts.base import Command
from fleetcheck.remediation import RunCommand, Service, WriteFile, fix, refuse
from fleetcheck.remediation.edit import set_keyword, unsafe_value

SSHD_CONFIG = "/etc/ssh/sshd_config"
KEYWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@fix("sshd.config")
def plan_sshd(ctx):
    key = ctx.item
    want = str(ctx.vars["sshd"][key])
    why = None if KEYWORD.match(key) else "not an sshd keyword"
    why = why or unsafe_value(want)
    if why:
        return refuse(ctx.check_id, ctx.host, f"{key} {want!r}: {why}")
    current = ctx.facts.get("file", path=SSHD_CONFIG)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{SSHD_CONFIG} does not exist")
    # First occurrence wins in sshd_config: replace it, or put ours above the rest
    # (above any Include of sshd_config.d and any Match block).
    after = set_keyword(current.text, re.escape(key) + r"\s", f"{key} {want}",
                        insert="top", flags=re.IGNORECASE)
    if after == current.text:
        return refuse(ctx.check_id, ctx.host,
                      f"{SSHD_CONFIG} already says {key} {want}; an included file or "
                      "a Match block must override it: fix by hand")
    return ctx.plan(
        WriteFile(f"set {key} {want} in {SSHD_CONFIG}", path=SSHD_CONFIG,
                  content=after.encode(), before=current.content),
        RunCommand("validate with sshd -t", command=Command("sshd -t")),
        Service("reload sshd", name="ssh", operation="reload"),
    )
