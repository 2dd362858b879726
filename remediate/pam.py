"""pam.su_wheel: restore the pam_wheel line of /etc/pam.d/su right after pam_rootok.

The line written is `auth required pam_wheel.so use_uid` (with `group=NAME` when the
declared group is not wheel): use_uid judges the user who runs su, not the name the
session logged in with. The file's other pam_wheel auth lines (a `sufficient ... trust`,
another group; not a `deny` one) are taken out; every other line stays byte for byte.
The group is checked again with its kind (fleetcheck.facts.pam.group_name) and the new file is
read back with fleetcheck's own pam.d parser (fleetcheck.facts.pam.parse_file): its
rules must be the old ones without those pam_wheel lines, with ours right after the
pam_rootok rule; else the fix is refused. A file without pam_rootok is refused too
(inserting the wheel rule alone could lock root out of su). PAM reads the file at each
su: nothing to reload, and a rollback is the file put back.
"""

from __future__ import annotations

from fleetcheck.facts.pam import (DEFAULT_DIR, VALUE_KINDS, VAR, Rule, group_name,
                                  pam_dir, parse_file, service_name, settings)
from fleetcheck.facts.base import FactError
from fleetcheck.remediation import WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe, verify


def wheel_line(group: str) -> str:
    return "auth       required   pam_wheel.so use_uid" + \
        ("" if group == "wheel" else f" group={group}")


def _model(text: str) -> list[tuple]:
    return [(r.type, r.control, r.module, tuple(r.args)) for r in parse_file(text)]


def _wrong_wheel(rule: Rule) -> bool:
    """A pam_wheel auth rule other than a `deny` one (a separate policy: the members of
    a group refused su)."""
    return rule.type == "auth" and rule.module_name == "pam_wheel.so" and \
        "deny" not in rule.args


@fix("pam.su_wheel")
def plan_su_wheel(ctx):
    """Writes `auth required pam_wheel.so use_uid` (`group=` the declared group unless
    wheel) right after the pam_rootok line of /etc/pam.d/su, taking out the file's other
    pam_wheel auth lines (a `deny` one stays); refused when the file has no pam_rootok
    rule (root must keep su). The file is read back before it is written; rollback puts
    it back."""
    conf = settings(ctx.vars, "su_wheel")
    if not isinstance(conf, dict):
        return refuse(ctx.check_id, ctx.host, "the var pam.su_wheel is not declared")
    group = str(conf.get("group") or "wheel")
    service = str(conf.get("service") or "su")
    why = declared_problem(VAR, {"su_wheel": conf}, VALUE_KINDS) or unsafe(
        [(group_name, group, "pam.su_wheel.group"),
         (service_name, service, "pam.su_wheel.service")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    try:
        directory = pam_dir(ctx.vars)
    except FactError as exc:
        return refuse(ctx.check_id, ctx.host, str(exc))
    path = f"{directory.rstrip('/') or DEFAULT_DIR}/{service}"
    current = ctx.facts.get("file", path=path)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{path} does not exist: su uses `other`; "
                      "write its file by hand")
    if not_utf8(path, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(path, current))
    text = current.text
    try:
        rules = parse_file(text, service)
    except ValueError as exc:
        return refuse(ctx.check_id, ctx.host, f"{path} cannot be read: {exc}")
    rootok = next((r for r in rules if r.type == "auth" and r.module_name == "pam_rootok.so"),
                  None)
    if rootok is None:
        return refuse(ctx.check_id, ctx.host, f"{path} has no `auth sufficient "
                      "pam_rootok.so` rule: a wheel rule alone may lock root out of su; "
                      "fix by hand")
    drop = {r.line for r in rules if _wrong_wheel(r)}
    lines = text.splitlines(keepends=True)
    if any(n not in range(1, len(lines) + 1) or lines[n - 1].rstrip().endswith("\\")
           for n in drop | {rootok.line}) or lines[rootok.line - 1].rstrip().endswith("\\"):
        return refuse(ctx.check_id, ctx.host, f"{path}: a pam_rootok or pam_wheel rule "
                      "continues over several lines; fix by hand")
    ours = wheel_line(group)
    out = []
    for n, line in enumerate(lines, start=1):
        if n in drop:
            continue
        out.append(line if line.endswith("\n") else line + "\n")
        if n == rootok.line:
            out.append(ours + "\n")
    after = "".join(out)

    def intended(old):
        new = [m for m, r in zip(old, rules) if not _wrong_wheel(r)]
        at = [r for r in rules if not _wrong_wheel(r)].index(rootok) + 1
        new.insert(at, ("auth", "required", "pam_wheel.so",
                        ("use_uid",) + (() if group == "wheel" else (f"group={group}",))))
        return new

    why = verify(_model, text, after, intended, what=path)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    removed = f" (instead of {len(drop)} other pam_wheel line(s))" if drop else ""
    return ctx.plan(WriteFile(f"restore `{ours.split(None, 1)[1].strip()}` after pam_rootok "
                              f"in {path}{removed}", path=path, content=after.encode(),
                              before=current.content))
