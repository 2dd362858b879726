"""nfs.exports: restore each declared export whose configuration is wrong (missing,
other clients, other or insecure options) from the inventory's declaration, in
/etc/exports and, on ganesha hosts, in the ganesha config; validate, then reload.

- Only the lines (or EXPORT blocks) of declared paths that differ are rewritten; the
  rest of each file stays byte for byte. An insecure export that is NOT declared has
  nothing to be restored from: the fix is refused and says so.
- Validation: the new contents must parse (fleetcheck's own parsers: the plan refuses
  content it cannot read back), then `exportfs -ra` on the host reads the new
  /etc/exports (it applies it where kernel nfsd runs; a failure restores the files).
  nfs-ganesha 4.x has no configuration check mode, so the ganesha file is validated
  by parsing it; its reload is SIGHUP (`systemctl reload nfs-ganesha` under systemd),
  which re-reads the EXPORT blocks; the re-check then asks showmount from the
  controller.
"""

from __future__ import annotations

import re

from fleetcheck.facts import ganesha as ganesha_fact
from fleetcheck.facts.base import Command, ParseError
from fleetcheck.facts.exports import (
    PATH as EXPORTS,
    compare,
    declared_exports,
    parse as parse_exports,
    render_line,
    views,
)
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import unsafe_value

RELOAD_GANESHA = r"""if [ -d /run/systemd/system ]; then systemctl reload nfs-ganesha
else pid=$(pidof ganesha.nfsd) || { echo "ganesha.nfsd is not running" >&2; exit 1; }
  kill -HUP $pid; fi
sleep 1   # ganesha re-reads its exports asynchronously: let it before the re-check
"""
SUBTREE = {"subtree_check", "no_subtree_check"}


def exports_line(want: dict) -> str:
    clients = []
    for client in want["clients"]:
        opts = list(want["options"])
        if not SUBTREE & set(opts):
            opts.append("no_subtree_check")   # the default, said out loud
        clients.append((client, opts))
    return render_line(want["path"], clients)


def rewrite_exports(text: str, wanted: list[dict]) -> str:
    """Replace every line (with its continuations) of each wanted path by one line."""
    parsed = parse_exports(text)
    lines = text.splitlines(keepends=True)
    by_path = {w["path"]: w for w in wanted}
    drop: dict[int, str] = {}     # 0-based line -> path
    for export in parsed.exports:
        if export.path in by_path:
            i = export.line - 1
            drop[i] = export.path
            while lines[i].rstrip("\n").rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                drop[i] = export.path
    out, placed = [], set()
    for i, line in enumerate(lines):
        path = drop.get(i)
        if path is None:
            out.append(line)
        elif path not in placed:
            out.append(exports_line(by_path[path]) + "\n")
            placed.add(path)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out += [exports_line(w) + "\n" for w in wanted if w["path"] not in placed]
    return "".join(out)


def ganesha_block(want: dict, export_id: int) -> str:
    opts = set(want["options"])
    squash = ("no_root_squash" if "no_root_squash" in opts else
              "all_squash" if "all_squash" in opts else "root_squash")
    return ganesha_fact.render_export(export_id, want["path"], ", ".join(want["clients"]),
                                      "rw" if "rw" in opts else "ro", squash)


def rewrite_ganesha(text: str, conf, wanted: list[dict]) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    ids = [e.export_id for e in conf.exports if e.export_id is not None]
    next_id = max(ids, default=0) + 1
    appended = []
    # replace from the bottom so earlier line numbers stay right
    for want in sorted(wanted, key=lambda w: -(conf.export(w["path"]).line
                                               if conf.export(w["path"]) else 0)):
        export = conf.export(want["path"])
        if export is None:
            appended.append(ganesha_block(want, next_id))
            next_id += 1
            continue
        block = ganesha_block(want, export.export_id or next_id)
        lines[export.line - 1: export.end_line] = [block]
    return "".join(lines) + "".join(reversed(appended))


@fix("nfs.exports")
def plan_nfs(ctx):
    declared = declared_exports(ctx.vars)
    for want in declared:
        for value in [want["path"], *want["clients"], *want["options"]]:
            why = unsafe_value(value) or (
                "has a blank, brace, semicolon or parenthesis" if value is not want["path"]
                and re.search(r"[\s{};()]", value) else None)
            if why:
                return refuse(ctx.check_id, ctx.host, f"{value!r}: {why}")
    actions, files = [], {}
    for view, pairs in views(ctx.facts):
        problems = compare(view, pairs, declared)
        if None in problems:
            return refuse(ctx.check_id, ctx.host, "; ".join(problems[None]) +
                          ": not declared in the inventory, nothing to restore it from: "
                          "fix by hand or declare it")
        files[view] = [w for w in declared if w["path"] in problems]
    if files.get("/etc/exports"):
        current = ctx.facts.get("file", path=EXPORTS)
        after = rewrite_exports(current.text if current.exists else "", files["/etc/exports"])
        parse_exports(after)   # reads back, or the plan fails here
        actions.append(WriteFile(f"restore {', '.join(w['path'] for w in files['/etc/exports'])}"
                                 f" in {EXPORTS}", path=EXPORTS, content=after.encode(),
                                 before=current.content if current.exists else None))
    if files.get("ganesha"):
        path = ganesha_fact.conf_path(ctx.vars)
        current = ctx.facts.get("file", path=path)
        conf = ctx.facts.get("ganesha")
        after = rewrite_ganesha(current.text, conf, files["ganesha"])
        try:
            ganesha_fact.parse(after)
        except ParseError as exc:
            return refuse(ctx.check_id, ctx.host, f"the new {path} would not parse: {exc}")
        actions.append(WriteFile(f"restore {', '.join(w['path'] for w in files['ganesha'])} "
                                 f"in {path}", path=path, content=after.encode(),
                                 before=current.content))
    if not actions and files.get("exportfs -v"):
        return ctx.plan(RunCommand("re-export /etc/exports (exportfs -ra)",
                                   command=Command("exportfs -ra")))
    if not actions:
        return ctx.plan(reason="the configuration matches the declaration; "
                        "nothing to restore (if showmount still fails, look at the server)")
    actions.append(RunCommand("validate /etc/exports with exportfs -ra",
                              command=Command("exportfs -ra")))
    if files.get("ganesha"):
        actions.append(RunCommand("reload nfs-ganesha (SIGHUP re-reads the exports)",
                                  command=Command("sh -c %s", RELOAD_GANESHA)))
    return ctx.plan(*actions)
