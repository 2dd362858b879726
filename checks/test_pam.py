"""PAM (LPIC-2 210.2): who may become root with su (pam.su_wheel) and the rules the
shop's stacks must hold (pam.modules), judged on /etc/pam.d as libpam reads it:
includes, substacks and Debian's @include resolved (fleetcheck.facts.pam). From the
var `pam` (fleetcheck.facts.pam.VARS); a key null turns its check off."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.pam import same_control, settings

MAX_SHOWN = 60


def _restricts(rule, group: str) -> bool:
    """A pam_wheel rule that refuses whoever is not in `group`: required or requisite
    (or a bracket control whose default is die or bad), without `deny` (which refuses
    the members instead), for that group (group=, else wheel)."""
    if rule.module_name != "pam_wheel.so" or "deny" in rule.args:
        return False
    strict = rule.control in ("required", "requisite") or \
        rule.actions.get("default") in ("die", "bad")
    named = next((a.split("=", 1)[1] for a in rule.args if a.startswith("group=")), "wheel")
    return strict and named == group


def _passes(rule) -> bool:
    """A rule whose success ends the stack there: sufficient, or success=done."""
    return rule.control == "sufficient" or rule.actions.get("success") == "done"


@pytest.mark.check("pam.su_wheel", severity="medium",
                   facts=[when_set("pam", "pam", key="su_wheel")],
                   title="su requires wheel membership (pam_wheel), root still allowed",
                   compare={"su restricted to": ("group", "wheel_rule"),
                            "auth stack": (None, "auth_stack"),
                            "notes": (None, "notes")})
def test_su_wheel(host, facts, evidence):
    """The auth stack of /etc/pam.d/su (`pam.su_wheel.service`), includes resolved: a
    pam_wheel rule that refuses everyone outside `pam.su_wheel.group` (default wheel:
    `required` or `requisite`, pam_wheel's `group=` that group, no `deny`), so a user
    who learnt root's password still cannot become root without being in the group
    (CIS 5.x "ensure access to the su command is restricted"; Debian and RHEL ship the
    line commented out). pam_rootok (sufficient) before it, so root itself still su's
    to anyone; no other rule before it that ends the stack on success (a `sufficient`
    module lets its users past the wheel rule). A `sufficient pam_wheel.so trust`
    before it (members su without a password) is low. --remediate restores the
    pam_wheel line right after pam_rootok (the file backed up, read back first)."""
    conf = settings(host.vars, "su_wheel")
    if conf is None:
        pytest.skip("su is not judged (pam.su_wheel is null)")
    group = str(conf.get("group") or "wheel")
    service = str(conf.get("service") or "su")
    stack, notes = facts.pam.stack(service, "auth")
    evidence.add(service=service, group=group, dir=facts.pam.dir,
                 auth_stack=[f"{s.where}: {s.rule.shown()}" for s in stack[:MAX_SHOWN]],
                 notes=notes)
    if not stack:
        evidence.judge([("medium", f"no auth rule for {service}: "
                         f"{'; '.join(notes) or 'its file is empty'}")])
        return
    at = next((i for i, s in enumerate(stack) if _restricts(s.rule, group)), None)
    problems = []
    if at is None:
        others = [f"{s.where}: {s.rule.shown()}" for s in stack
                  if s.rule.module_name == "pam_wheel.so"]
        problems.append(("medium", f"{service} does not require membership of {group}: no "
                         f"`auth required pam_wheel.so` for it" +
                         (f" (there: {'; '.join(others)})" if others else "")))
        evidence.advice = (f"auth required pam_wheel.so use_uid"
                           f"{'' if group == 'wheel' else ' group=' + group} after "
                           f"pam_rootok in /etc/pam.d/{service}")
    else:
        before = stack[:at]
        evidence["wheel_rule"] = f"{stack[at].where}: {stack[at].rule.shown()}"
        if not any(s.rule.module_name == "pam_rootok.so" and _passes(s.rule) for s in before):
            problems.append(("medium", f"no `auth sufficient pam_rootok.so` before "
                             f"{stack[at].where}: root would be refused su unless in "
                             f"{group}"))
        for s in before:
            if not _passes(s.rule) or s.rule.module_name == "pam_rootok.so":
                continue
            if s.rule.module_name == "pam_wheel.so" and "trust" in s.rule.args:
                problems.append(("low", f"{s.where}: `{s.rule.shown()}`: members su "
                                 "without a password"))
            else:
                problems.append(("medium", f"{s.where}: `{s.rule.shown()}` ends the stack "
                                 "on success before pam_wheel: its users skip the check"))
    evidence.judge(problems)


@pytest.mark.check("pam.modules", severity="medium",
                   facts=[when_set("pam", "pam", key="modules")],
                   title="the declared modules are in the declared PAM stacks",
                   compare={"modules": ("declared", "found")})
def test_modules(host, facts, evidence):
    """Each rule of `pam.modules` ({service, type, module, control, args}) is in the
    service's stack of that type, includes resolved: the module (by file name), with
    the declared control when one is given and at least the declared arguments. What
    a shop adds to its stacks (pam_faillock after failed logins, pam_pwquality for
    passwords, pam_limits for sessions, pam_tty_audit) is what authselect, pam-auth-update
    or a package upgrade drops when it rewrites a file (medium). No fix: where a rule
    goes in a stack decides what it does."""
    declared = [d for d in settings(host.vars, "modules") or [] if d]
    if not declared:
        pytest.skip("no PAM rule declared (pam.modules)")
    cfg = facts.pam
    problems, found = [], {}
    for want in declared:
        service, type_, module = str(want["service"]), str(want["type"]), str(want["module"])
        name = module.rsplit("/", 1)[-1]
        stack, notes = cfg.stack(service, type_)
        args = [str(a) for a in want.get("args") or []]
        control = want.get("control")
        match = next((s for s in stack if s.rule.module_name == name
                      and (control is None or same_control(str(control), s.rule.control))
                      and all(a in s.rule.args for a in args)), None)
        shown = " ".join([type_, str(control or "*"), name, *args])
        if match is not None:
            found[f"{service}: {shown}"] = f"{match.where}: {match.rule.shown()}"
            continue
        near = [f"{s.where}: {s.rule.shown()}" for s in stack if s.rule.module_name == name]
        problems.append(("medium", f"{service}: no `{shown}`" +
                         (f" (there: {'; '.join(near[:3])})" if near else
                          f" ({'; '.join(notes)})" if notes else "")))
    evidence.add(dir=cfg.dir, declared=len(declared), found=found)
    evidence.judge(problems)
