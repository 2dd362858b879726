"""nfs.exports: restore each declared export whose configuration is wrong (missing,
other clients, other or insecure options) from the inventory's declaration, in
/etc/exports and, on ganesha hosts, in the ganesha config; validate, then reload.

- Only the lines (or EXPORT blocks) of declared paths that differ are rewritten; the
  rest of each file stays byte for byte. An insecure export that is NOT declared has
  nothing to be restored from: the fix is refused and says so.
- Every declared value is checked with its kind (fleetcheck.facts.exports and
  .ganesha: path, clients, options) again here and once more by the writers: a value
  that got past the load is a refusal, never a line of the file.
- The re-parse guard (fleetcheck.remediation.edit.verify): each new file is read
  back with fleetcheck's own parser and must hold exactly the other exports and
  lines it held, and for each rewritten path exactly the declared clients with the
  declared options (effective values), nothing more; else the fix is refused.
- Validation on the host: `exportfs -ra` reads the new /etc/exports (it applies it
  where kernel nfsd runs; a failure restores the files). nfs-ganesha 4.x has no
  configuration check mode, so the ganesha file is validated by the guard; its
  reload is SIGHUP (`systemctl reload nfs-ganesha` under systemd), which re-reads
  the EXPORT blocks; the re-check then asks showmount from the controller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts import exports as exports_fact
from fleetcheck.facts import ganesha as ganesha_fact
from fleetcheck.facts.base import Command
from fleetcheck.facts.exports import (
    PATH as EXPORTS,
    compare,
    declared_exports,
    effective_options,
    parse as parse_exports,
    render_line,
    views,
)
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import (
    declared_problem,
    lines_outside,
    not_utf8,
    unsafe,
    verify,
)

RELOAD_GANESHA = r"""if [ -d /run/systemd/system ]; then systemctl reload nfs-ganesha
else pid=$(pidof ganesha.nfsd) || { echo "ganesha.nfsd is not running" >&2; exit 1; }
  kill -HUP $pid; fi
sleep 1   # ganesha re-reads its exports asynchronously: let it before the re-check
"""
SUBTREE = {"subtree_check", "no_subtree_check"}
KINDS = {**exports_fact.VALUE_KINDS, **ganesha_fact.VALUE_KINDS}


# ------------------------------------------------------------ /etc/exports

def intended_options(want: dict) -> list[str]:
    opts = list(want["options"])
    if not SUBTREE & set(opts):
        opts.append("no_subtree_check")   # the default, said out loud
    return opts


def exports_line(want: dict) -> str:
    return render_line(want["path"], [(c, intended_options(want)) for c in want["clients"]])


def entry_lines(text: str, parsed, paths) -> dict[int, str]:
    """0-based line -> path for every line of an export of `paths` (its first line and
    its continuations, as the parser joins them: a comment ends the first line)."""
    lines = text.splitlines()
    taken: dict[int, str] = {}
    for export in parsed.exports:
        if export.path not in paths:
            continue
        i = export.line - 1
        taken[i] = export.path
        line = lines[i].split("#", 1)[0]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            taken[i] = export.path
            line = lines[i]
    return taken


def rewrite_exports(text: str, wanted: list[dict]) -> str:
    """Replace every line (with its continuations) of each wanted path by one line."""
    by_path = {w["path"]: w for w in wanted}
    drop = entry_lines(text, parse_exports(text), by_path)
    out, placed = [], set()
    for i, line in enumerate(text.splitlines(keepends=True)):
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


def _export_entry(path: str, host: str, options) -> tuple:
    return (path, host, tuple(sorted(set(effective_options(list(options))))))


def exports_model(text: str, paths) -> dict:
    """/etc/exports as the guard compares it: the entries of `paths` (path, client,
    effective options), every other entry exactly (its options as written) and every
    other line of the file."""
    parsed = parse_exports(text)
    return {
        "declared exports": sorted(_export_entry(e.path, c.host, c.options)
                                   for e in parsed.exports if e.path in paths
                                   for c in e.clients),
        "other exports": sorted((e.path, c.host, tuple(c.options))
                                for e in parsed.exports if e.path not in paths
                                for c in e.clients),
        "other lines": lines_outside(text, entry_lines(text, parsed, paths)),
    }


def exports_intended(wanted: list[dict]):
    def expected(old: dict | None) -> dict:
        old = old or {"other exports": [], "other lines": []}
        return {"declared exports": sorted(_export_entry(w["path"], c, w["options"])
                                           for w in wanted for c in w["clients"]),
                "other exports": old["other exports"], "other lines": old["other lines"]}
    return expected


# ------------------------------------------------------------ ganesha

def ganesha_access_squash(want: dict) -> tuple[str, str]:
    """The declared options in ganesha's words: (access, squash)."""
    opts = set(want["options"])
    squash = ("no_root_squash" if "no_root_squash" in opts else
              "all_squash" if "all_squash" in opts else "root_squash")
    return ("rw" if "rw" in opts else "ro"), squash


def ganesha_block(want: dict, export_id: int) -> str:
    access, squash = ganesha_access_squash(want)
    return ganesha_fact.render_export(export_id, want["path"], list(want["clients"]),
                                      access, squash)


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
        export_id = export.export_id
        if not export_id:
            export_id, next_id = next_id, next_id + 1
        lines[export.line - 1: export.end_line] = [ganesha_block(want, export_id)]
    return "".join(lines) + "".join(reversed(appended))


def _ganesha_entry(e) -> tuple:
    return (e.path, e.pseudo, e.access_type, e.squash if e.access_type != "none" else None,
            tuple((tuple(c.clients), c.access_type, c.squash) for c in e.clients))


def ganesha_model(text: str, paths) -> dict:
    """The ganesha config as the guard compares it: the EXPORT blocks of `paths`
    (path, pseudo, access and squash, each CLIENT block), every other EXPORT block
    with its Export_Id, the Export_Ids used twice, the %include lines and every line
    outside the blocks of `paths` (the other blocks, NFS_CORE_PARAM, comments)."""
    conf = ganesha_fact.parse(text)
    ids = Counter(e.export_id for e in conf.exports if e.export_id is not None)
    taken = [i for e in conf.exports if e.path in paths for i in range(e.line - 1, e.end_line)]
    return {
        "declared exports": sorted(_ganesha_entry(e) for e in conf.exports if e.path in paths),
        "other exports": sorted((e.export_id or 0,) + _ganesha_entry(e) for e in conf.exports
                                if e.path not in paths),
        "Export_Ids used twice": sorted(i for i, n in ids.items() if n > 1),
        "includes": list(conf.includes),
        "other lines": lines_outside(text, taken),
    }


def ganesha_intended(wanted: list[dict]):
    def expected(old: dict) -> dict:
        ours = []
        for w in wanted:
            access, squash = ganesha_access_squash(w)
            ours.append((w["path"], w["path"], "none", None,
                         ((tuple(w["clients"]), access, squash),)))
        return dict(old, **{"declared exports": sorted(ours)})
    return expected


# ------------------------------------------------------------ the plan

def _declared(ctx) -> tuple[list[dict] | None, str | None]:
    """The declared exports, each value checked again with its kind; or the reason."""
    nfs = ctx.vars.get("nfs")
    if not isinstance(nfs, Mapping):
        return None, f"the var nfs must be a mapping, got {values.describe(nfs)}"
    why = declared_problem("nfs", nfs, KINDS)
    if why:
        return None, why
    declared = declared_exports(ctx.vars)
    seen = set()
    for n, want in enumerate(declared):
        where = f"nfs.exports[{n}]"
        why = unsafe([(exports_fact.export_path, want["path"], f"{where}.path"),
                      *[(exports_fact.export_client, c, f"{where}.clients")
                        for c in want["clients"]],
                      *[(exports_fact.export_option, o, f"{where}.options")
                        for o in want["options"]]])
        if why:
            return None, why
        if not want["clients"]:
            return None, f"{where} names no client (it would be exported to the world)"
        if want["path"] in seen:
            return None, f"{where}: {want['path']} is declared twice"
        seen.add(want["path"])
        insecure = [f for c in want["clients"] for f in exports_fact.insecure_findings(
            want["path"], exports_fact.ExportClient(c, list(want["options"])))]
        if insecure and not want.get("allow_insecure"):
            return None, (f"{where}: the inventory itself declares {'; '.join(insecure)} "
                          "without allow_insecure: fix the inventory")
    return declared, None


@fix("nfs.exports")
def plan_nfs(ctx):
    """Rewrite the `/etc/exports` lines and ganesha EXPORT blocks of each declared
    export that differs, from its declaration (the rest of each file kept byte for byte;
    the new files are read back and must hold exactly the declared exports), validate
    with `exportfs -ra`, then reload nfs-ganesha (SIGHUP; it has no config-check mode).
    An undeclared insecure export is refused."""
    declared, why = _declared(ctx)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    actions, files = [], {}
    for view, pairs in views(ctx.facts):
        problems = compare(view, pairs, declared)
        if None in problems:
            return refuse(ctx.check_id, ctx.host, "; ".join(problems[None]) +
                          ": not declared in the inventory, nothing to restore it from: "
                          "fix by hand or declare it")
        files[view] = [w for w in declared if w["path"] in problems]
    if files.get("/etc/exports"):
        wanted = files["/etc/exports"]
        current = ctx.facts.get("file", path=EXPORTS)
        if not_utf8(EXPORTS, current):
            return refuse(ctx.check_id, ctx.host, not_utf8(EXPORTS, current))
        before = current.text if current.exists else ""
        paths = {w["path"] for w in wanted}
        try:
            after = rewrite_exports(before, wanted)
        except (values.UnsafeValue, exports_fact.ParseError) as exc:
            return refuse(ctx.check_id, ctx.host, f"{EXPORTS}: {exc}")
        why = verify(lambda text: exports_model(text, paths), before, after,
                     exports_intended(wanted), what=EXPORTS)
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        actions.append(WriteFile(f"restore {', '.join(w['path'] for w in wanted)}"
                                 f" in {EXPORTS}", path=EXPORTS, content=after.encode(),
                                 before=current.content if current.exists else None))
    if files.get("ganesha"):
        wanted = files["ganesha"]
        path = ganesha_fact.conf_path(ctx.vars)
        why = unsafe([(values.path, path, "nfs.ganesha_conf")])
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        current = ctx.facts.get("file", path=path)
        if not current.exists:
            return refuse(ctx.check_id, ctx.host, f"{path} does not exist")
        if not_utf8(path, current):
            return refuse(ctx.check_id, ctx.host, not_utf8(path, current))
        paths = {w["path"] for w in wanted}
        try:
            after = rewrite_ganesha(current.text, ganesha_fact.parse(current.text), wanted)
        except (values.UnsafeValue, ganesha_fact.ParseError) as exc:
            return refuse(ctx.check_id, ctx.host, f"{path}: {exc}")
        why = verify(lambda text: ganesha_model(text, paths), current.text, after,
                     ganesha_intended(wanted), what=path)
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        actions.append(WriteFile(f"restore {', '.join(w['path'] for w in wanted)} "
                                 f"in {path}", path=path, content=after.encode(),
                                 before=current.content))
    if not actions and files.get("exportfs -v"):
        # no file changed: the kernel's table now matches /etc/exports, as it should
        # have; rollback has nothing to put back (and says so)
        return ctx.plan(RunCommand("re-export /etc/exports (exportfs -ra)",
                                   command=Command("exportfs -ra")))
    if not actions:
        return ctx.plan(reason="the configuration matches the declaration; "
                        "nothing to restore (if showmount still fails, look at the server)")
    actions.append(RunCommand("validate /etc/exports with exportfs -ra",
                              command=Command("exportfs -ra")))
    undo = [RunCommand("re-export the restored /etc/exports (exportfs -ra)",
                       command=Command("exportfs -ra"))]
    if files.get("ganesha"):
        actions.append(RunCommand("reload nfs-ganesha (SIGHUP re-reads the exports)",
                                  command=Command("sh -c %s", RELOAD_GANESHA)))
        undo.append(RunCommand("reload nfs-ganesha from the restored file (SIGHUP)",
                               command=Command("sh -c %s", RELOAD_GANESHA)))
    return ctx.plan(*actions).after_restore(*undo)
