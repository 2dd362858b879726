"""mail.open_relay: restore `mynetworks` and `smtpd_relay_restrictions` in main.cf to
the values declared under mail.open_relay, validate with `postfix check`, then
`postfix reload` (running sessions finish, new ones read the new main.cf).

What `postconf -e` does, computed in memory so the engine backs the file up, writes it
atomically and restores it when a step fails: the definition in effect (the last one)
of each parameter is replaced in place by `name = value` (its continuation lines
included), or the line is added at the end; every other line stays byte for byte. The
values are checked again with their kind (fleetcheck.facts.postfix.main_cf_value: one
line, no blank at the ends) and the new main.cf is read back with fleetcheck's main.cf
parser (fleetcheck.facts.postfix.parse_main_cf): every parameter in effect must be what
it was, but ours, which have the declared values; else the fix is refused. Only the
declared parameters are restored: a fix never guesses which networks may relay.
"""

from __future__ import annotations

from fleetcheck.facts.base import Command
from fleetcheck.facts.postfix import (FIXED, VALUE_KINDS, VAR, main_cf_value,
                                      parse_main_cf, settings)
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, editable, unsafe, verify


def set_parameters(text: str, wanted: dict[str, str]) -> str:
    """main.cf's text with each parameter of `wanted` set as `postconf -e` sets it."""
    lines = text.splitlines(keepends=True)
    params = parse_main_cf(text).parameters
    last = {p.name: p for p in params}
    replace = {last[name].line: (last[name].last, name) for name in wanted if name in last}
    out, n = [], 1
    while n <= len(lines):
        if n in replace:
            end, name = replace[n]
            out.append(f"{name} = {wanted[name]}\n")
            n = end + 1
            continue
        out.append(lines[n - 1])
        n += 1
    added = [f"{name} = {value}\n" for name, value in wanted.items() if name not in last]
    if added and out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    return "".join(out + added)


@fix("mail.open_relay")
def plan_relay(ctx):
    """Sets `mynetworks` and `smtpd_relay_restrictions` in main.cf to the values declared
    under mail.open_relay (as `postconf -e` would; the file read back before it is
    written), validates with `postfix check`, then `postfix reload`. Only declared values
    are restored; rollback puts main.cf back and reloads again."""
    conf = settings(ctx.vars, "open_relay") or {}
    wanted = {name: str(conf[name]) for name in FIXED if conf.get(name) is not None}
    if not wanted:
        return refuse(ctx.check_id, ctx.host, "declare mail.open_relay.mynetworks and/or "
                      "smtpd_relay_restrictions: the fix restores declared values only")
    why = declared_problem(VAR, {"open_relay": wanted}, VALUE_KINDS) or unsafe(
        [(main_cf_value, value, f"mail.open_relay.{name}") for name, value in wanted.items()])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    cfg = ctx.facts.get("postfix_config")
    if not cfg.installed:
        return refuse(ctx.check_id, ctx.host, "Postfix is not installed (no postconf): the "
                      "MTA answering on the SMTP port is another one; fix by hand")
    path = cfg.main_cf
    current, why = editable(ctx, path, "main.cf's path (postconf config_directory)")
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    try:
        after = set_parameters(current.text, wanted)
    except ValueError as exc:
        return refuse(ctx.check_id, ctx.host, f"{path} cannot be read: {exc}")
    if after == current.text:
        return refuse(ctx.check_id, ctx.host, f"{path} already says "
                      f"{'; '.join(f'{k} = {v}' for k, v in wanted.items())}: the relay comes "
                      "from elsewhere (a -o override in master.cf, smtpd_recipient_"
                      "restrictions); fix by hand")
    why = verify(lambda text: parse_main_cf(text).effective(), current.text, after,
                 lambda old: {**old, **wanted}, what=path)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    check = RunCommand("validate with postfix check", command=Command("postfix check"))
    reload = RunCommand("reload postfix", command=Command("postfix reload"))
    return ctx.plan(
        WriteFile(f"set {', '.join(wanted)} in {path} to the declared value(s)", path=path,
                  content=after.encode(), before=current.content),
        check, reload,
    ).after_restore(check, reload)
