"""web.allow_override: the AllowOverride lines that grant more than declared, set to
`web.allow_override.set_to` (None), and AllowOverrideList lines to None, in the files
`web.allow_override.files` declares and nowhere else; `apache2ctl -t` validates the
result before `apache2ctl graceful` (running requests finish, new ones read the new
configuration). A granting line in a file that is not declared refuses the whole fix:
a half-fixed server would still fail the check, and which files are the shop's own is
its to say (a package's file is overwritten at its next upgrade).

Each edited line keeps its indentation; every other line stays byte for byte. The new
text is read back with the fact's own parser: the same directives, in the same
sections, but the edited ones, which have the new value; else the fix is refused."""

from __future__ import annotations

from collections import defaultdict

from fleetcheck import values
from fleetcheck.facts.apache_config import directives, overriding
from fleetcheck.facts.base import Command
from fleetcheck.facts.web import VALUE_KINDS, VAR, override_value, settings
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe, verify


def set_lines(text: str, edits: dict[tuple[int, int], str]) -> str:
    """`text` with each 1-based line range (a directive and its continuation lines)
    replaced by one line: the first line's indentation and the new directive."""
    lines = text.splitlines(keepends=True)
    out, n = [], 1
    starts = {start: (end, new) for (start, end), new in edits.items()}
    while n <= len(lines):
        if n in starts:
            end, new = starts[n]
            first = lines[n - 1]
            indent = first[:len(first) - len(first.lstrip())]
            out.append(f"{indent}{new}\n")
            n = end + 1
            continue
        out.append(lines[n - 1])
        n += 1
    return "".join(out)


def _model(text: str, path: str):
    """What the re-parse compares: each directive with its arguments and sections."""
    return [(d.name.lower(), d.args, d.sections) for d in directives(text.splitlines(), path)]


@fix("web.allow_override")
def plan_allow_override(ctx):
    """Sets each AllowOverride that grants more than `web.allow_override.allowed` to
    `set_to` (None), and each AllowOverrideList to None, in the declared
    `web.allow_override.files` only (refused when one is elsewhere), each file read back;
    then `apache2ctl -t` and `apache2ctl graceful`. Rollback puts the files back and
    reloads again."""
    conf = settings(ctx.vars, "allow_override") or {}
    allowed = list(conf.get("allowed") or ["None"])
    files = [str(f) for f in conf.get("files") or []]
    if not files:
        return refuse(ctx.check_id, ctx.host, "declare web.allow_override.files: the fix "
                      "edits only the configuration files the inventory names")
    why = declared_problem(VAR, {"allow_override": conf}, VALUE_KINDS) or unsafe(
        [(override_value, conf.get("set_to", "None"), "web.allow_override.set_to")]
        + [(values.path, f, "web.allow_override.files[]") for f in files])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    set_to = override_value(conf.get("set_to", "None"))
    beyond = {w.lower() for w in set_to.split()} - {a.lower() for a in allowed} - {"none"}
    if beyond:
        return refuse(ctx.check_id, ctx.host, f"web.allow_override.set_to {set_to} grants "
                      "more than web.allow_override.allowed: the fix would not pass")
    cfg = ctx.facts.get("apache_config")
    if not cfg.installed:
        return refuse(ctx.check_id, ctx.host, "Apache is not installed")
    found = overriding(cfg, allowed)
    elsewhere = sorted({d.file for d in found} - set(files))
    if elsewhere:
        return refuse(ctx.check_id, ctx.host, f"granting AllowOverride in {', '.join(elsewhere)}"
                      ", which web.allow_override.files does not declare: fix by hand")
    by_file = defaultdict(dict)
    for d in found:
        new = "AllowOverrideList None" if d.name.lower() == "allowoverridelist" \
            else f"AllowOverride {set_to}"
        by_file[d.file][(d.line, d.end)] = new
    writes = []
    for path, edits in sorted(by_file.items()):
        current = ctx.facts.get("file", path=path)
        if not current.exists:
            return refuse(ctx.check_id, ctx.host, f"{path} does not exist")
        if not_utf8(path, current):
            return refuse(ctx.check_id, ctx.host, not_utf8(path, current))
        after = set_lines(current.text, edits)
        starts = {start: new for (start, _), new in edits.items()}

        def expected(old, path=path, starts=starts):
            lines = {d.line: i for i, d in enumerate(directives(current.text.splitlines(),
                                                                path))}
            want = list(old)
            for start, new in starts.items():
                name, *args = new.split()
                want[lines[start]] = (name.lower(), args, want[lines[start]][2])
            return want

        why = verify(lambda text, path=path: _model(text, path), current.text, after,
                     expected, what=path)
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        writes.append(WriteFile(f"set {len(edits)} AllowOverride line(s) of {path}",
                                path=path, content=after.encode(), before=current.content))
    tool = cfg.tool
    check = RunCommand(f"validate with {tool} -t", command=Command(f"{tool} -t"))
    reload = RunCommand("reload Apache gracefully", command=Command(
        "httpd -k graceful" if tool == "httpd" else f"{tool} graceful"))
    return ctx.plan(*writes, check, reload).after_restore(check, reload)
