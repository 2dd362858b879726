"""sysctl.value and sysctl.baseline: set the runtime value and persist it in
/etc/sysctl.d.

The key and the value are checked again with their kinds (values.sysctl_key,
fleetcheck.facts.sysctl.persisted_value). The new file is read back as sysctl.d(5)
reads it (read_sysctl_d below: fleetcheck's sysctl fact reads `sysctl -e` output,
not a sysctl.d file) and must give exactly the keys and values it gave, with ours
set to the declared value; else the fix is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.sysctl import VALUE_KINDS, canonical_key, normalize, persisted_value
from fleetcheck.facts.sysctl import BASELINE, DECLARED, kernel_value
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, set_keyword, unsafe, verify

PERSIST = "/etc/sysctl.d/99-fleetcheck.conf"
HEADER = "# Kernel parameters set by fleetcheck --remediate (from the inventory).\n"


def sysctl_name(key: str) -> str:
    """A key in dotted form: `net/ipv4/conf/eth0.100/rp_filter` (the first separator
    a '/') is `net.ipv4.conf.eth0/100.rp_filter`, as systemd-sysctl and procps
    normalize it."""
    return canonical_key(key.strip())


def read_sysctl_d(text: str) -> dict[str, str]:
    """key -> value as sysctl.d(5) reads a file: blank lines and lines starting with
    `#` or `;` are comments, a leading '-' only says failures are ignored, a line is
    split at its first '=' and both sides trimmed; a later line wins. Raises
    ValueError on a line that is not an assignment."""
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.removeprefix("-").partition("=")
        if not sep or not key.strip():
            raise ValueError(f"line {n}: not a 'key = value' line: {values.shown(raw, 60)}")
        out[sysctl_name(key)] = normalize(value)
    return out


@fix("sysctl.value")
def plan_sysctl(ctx):
    """`sysctl -w key=value` and the key persisted in `/etc/sysctl.d/99-fleetcheck.conf`
    (YAML booleans as 1/0); a key this kernel lacks plans nothing, and one the host
    cannot change is reported with the host's error. Rollback sets the value back."""
    return plan_key(ctx, DECLARED)


@fix("sysctl.baseline")
def plan_sysctl_baseline(ctx):
    """The baseline value as sysctl.value's fix sets a declared one: `sysctl -w` and
    persisted in `/etc/sysctl.d/99-fleetcheck.conf`; rollback sets the value back."""
    return plan_key(ctx, BASELINE)


def plan_key(ctx, var: str):
    """The plan that gives key ctx.item the value the var `var` says."""
    key = ctx.item
    settings = ctx.vars.get(var)
    if not isinstance(settings, Mapping) or settings.get(key) is None:
        return refuse(ctx.check_id, ctx.host, f"the var {var} does not set {values.shown(key)}")
    # the load's check again (the same message), on what is written
    why = declared_problem(var, {key: settings[key]}, VALUE_KINDS) or unsafe(
        [(values.sysctl_key, key, "the sysctl key"),
         (persisted_value, settings[key], f"{var}.{key}")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    want = normalize(kernel_value(settings[key]))   # as the kernel prints it: true is 1
    actual = ctx.facts.get("sysctl").values.get(canonical_key(key))
    if actual is None:   # `sysctl -e` printed nothing for it: no fix can set it here
        return refuse(ctx.check_id, ctx.host, f"this kernel has no {values.shown(key)} "
                      "(a module not loaded, or another kernel version): nothing to set")
    current = ctx.facts.get("file", path=PERSIST)
    if not_utf8(PERSIST, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(PERSIST, current))
    before = current.text if current.exists else HEADER
    after = set_keyword(before, re.escape(key) + r"\s*=", f"{key} = {want}")
    actions = []
    if not current.exists or after != before:
        why = verify(read_sysctl_d, before, after,
                     lambda old: dict(old, **{sysctl_name(key): want}), what=PERSIST)
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        actions.append(WriteFile(f"persist {key} = {want} in {PERSIST}", path=PERSIST,
                                 content=after.encode(),
                                 before=current.content if current.exists else None))
    undo = []
    if actual is None or normalize(actual) != want:
        actions.append(RunCommand(f"sysctl -w {key}={want}",
                                  command=Command("sysctl -w %s", f"{key}={want}")))
        if actual is not None:   # rollback sets exactly this key back to what it was
            old = normalize(actual)
            undo.append(RunCommand(f"sysctl -w {key}={old} (its value before the fix)",
                                   command=Command("sysctl -w %s", f"{key}={old}")))
        for other, value, was in kernel_resets(ctx, key):
            actions.append(RunCommand(
                f"sysctl -w {other}={value} (the kernel resets it when {key} changes)",
                command=Command("sysctl -w %s", f"{other}={value}")))
            undo.append(RunCommand(f"sysctl -w {other}={was} (its value before the fix)",
                                   command=Command("sysctl -w %s", f"{other}={was}")))
    return ctx.plan(*actions, reason=f"{key} is already {want} and persisted"
                    ).after_restore(*undo)


# Keys the kernel itself rewrites when another changes: setting IPv4 forwarding sets
# conf.all.accept_redirects to its opposite (net/ipv4/devinet.c, inet_forward_change).
RESET_BY = {"net.ipv4.ip_forward": ("net.ipv4.conf.all.accept_redirects",),
            "net.ipv4.conf.all.forwarding": ("net.ipv4.conf.all.accept_redirects",)}


def kernel_resets(ctx, key: str) -> list[tuple[str, str, str]]:
    """(key, the value the inventory wants, its value now) of each key the kernel
    resets when `key` is set and the host's vars (`sysctl`, else `sysctl_baseline`)
    give a value: set again after `key`, so the fix does not break what it did not
    touch."""
    out = []
    now = ctx.facts.get("sysctl").values
    for other in RESET_BY.get(canonical_key(key), ()):
        for var in (DECLARED, BASELINE):
            declared = ctx.vars.get(var)
            if isinstance(declared, Mapping) and declared.get(other) is not None:
                if unsafe([(values.sysctl_key, other, "the sysctl key"),
                           (persisted_value, declared[other], f"{var}.{other}")]):
                    break
                was = now.get(other)
                if was is not None:
                    out.append((other, normalize(kernel_value(declared[other])),
                                normalize(was)))
                break
    return out
