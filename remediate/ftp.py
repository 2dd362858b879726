"""ftp.vsftpd: set the declared directives in vsftpd.conf (anonymous_enable as declared,
chroot_local_user and `ftp.vsftpd.directives` as declared, and any anonymous write
directive that is on to NO), check the file with vsftpd itself, then restart vsftpd
(vsftpd reads its file only at start: a SIGHUP re-reads it for new sessions in
standalone mode, but Debian and RHEL restart it, and a restart proves it starts).

The edit is computed in memory, so the engine backs the file up, writes it atomically
and restores it when a step fails: the definition in effect (the last one) of each
directive is replaced in place by `name=value`, or the line is added at the end;
every other line stays byte for byte. The values are checked again with their kind
(fleetcheck.facts.vsftpd.directive_value: one line, no blank at the ends) and the new
file is read back with fleetcheck's vsftpd.conf parser: every directive in effect
must be what it was, but ours, which have the declared values; else the fix is
refused. A file with a line vsftpd refuses is not touched (fix by hand).

vsftpd has no configuration test mode. The validation step runs the host's vsftpd on
a copy of the new file, with `listen=NO` and `listen_ipv6=NO` added at its end (the
last definition wins) and a plain file as its standard input: vsftpd parses the whole
file (and stops with `500 OOPS: unrecognised variable`, `bad bool value`, `missing
value`, ... on a bad one), then, in inetd mode, stops with `must be started from
inetd` as its input is no socket: that message, and only it, passes. It never
listens. The restart follows only then; if it still fails (the port taken, a
directory the file names missing), the engine puts the old file back and the record
says so: vsftpd is then stopped, `service vsftpd start` after the cause is fixed.
Rollback puts the file back and restarts vsftpd again.
"""

from __future__ import annotations

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.vsftpd import (ANON_WRITES, VALUE_KINDS, VAR, declared,
                                     directive_value, parse_conf, same, settings)
from fleetcheck.remediation import RunCommand, Service, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe, verify

SERVICE = "vsftpd"
VALIDATE = r"""t=$(mktemp) && o=$(mktemp) || exit 1
trap 'rm -f "$t" "$o"' EXIT
{ cat -- "$1" && printf '\nlisten=NO\nlisten_ipv6=NO\n'; } > "$t" || exit 1
timeout 10 "$2" "$t" 0<>"$o" >/dev/null 2>&1
if grep -q 'must be started from inetd' "$o"; then exit 0; fi
echo "vsftpd refuses the new file: $(tr -d '\r' < "$o" | head -n 1)" >&2
exit 1
"""


def set_directives(text: str, wanted: dict[str, str]) -> str:
    """vsftpd.conf's text with each directive of `wanted` set in place: its last
    definition replaced by `name=value` and LF (vsftpd reads a CR as part of the
    value), else added at the end."""
    lines = text.splitlines(keepends=True)
    last = {d.name: d.line for d in parse_conf(text).directives}
    replace = {last[name]: name for name in wanted if name in last}
    out = []
    for n, line in enumerate(lines, start=1):
        if n in replace:
            out.append(f"{replace[n]}={wanted[replace[n]]}\n")
        else:
            out.append(line)
    added = [f"{name}={value}\n" for name, value in wanted.items() if name not in last]
    if added and out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    return "".join(out + added)


def _model(text: str):
    conf = parse_conf(text)
    return conf.effective(), [(r.line, r.text) for r in conf.refused]


def wanted_directives(conf, cfg) -> dict[str, str]:
    """What the fix sets: each judged directive whose value in effect differs from the
    declared one, and each anonymous write directive that is on, to NO."""
    out = {name: want for name, want in declared(conf).items()
           if not same(want, cfg.value(name)[0])}
    for name in ANON_WRITES:
        if cfg.enabled(name):
            out[name] = "NO"
    return out


@fix("ftp.vsftpd")
def plan_vsftpd(ctx):
    """Sets the declared vsftpd.conf directives in place (anonymous_enable as declared,
    default NO; chroot_local_user and ftp.vsftpd.directives as declared; an anonymous
    write directive that is on to NO; the file read back before it is written),
    checks the new file with the host's vsftpd (a copy parsed in inetd mode: it never
    listens), then restarts vsftpd. An anonymous login accepted while the file says
    NO, or a file vsftpd refuses, is left to the admin. Rollback puts the file back and
    restarts vsftpd."""
    conf = settings(ctx.vars)
    if conf is None:
        return refuse(ctx.check_id, ctx.host, "ftp.vsftpd is null: nothing is declared")
    state = ctx.facts.get("vsftpd")
    if not state.installed or not state.exists:
        return refuse(ctx.check_id, ctx.host, "vsftpd is not installed, or its file does "
                      "not exist: write it by hand")
    cfg = state.config
    if cfg.refused:
        bad = cfg.refused[0]
        return refuse(ctx.check_id, ctx.host, f"{state.path} line {bad.line}: vsftpd refuses "
                      f"{bad.text} ({bad.reason}): fix by hand")
    try:
        wanted = wanted_directives(conf, cfg)
    except values.UnsafeValue as exc:
        return refuse(ctx.check_id, ctx.host, f"ftp.vsftpd: {exc}")
    if not wanted:
        return refuse(ctx.check_id, ctx.host, f"{state.path} already says what is declared: "
                      "the server answering is not this vsftpd (another daemon, another "
                      "file on its command line); fix by hand")
    why = declared_problem(VAR, {"vsftpd": {"directives": wanted}}, VALUE_KINDS) or unsafe(
        [(directive_value, value, f"ftp.vsftpd.directives.{name}")
         for name, value in wanted.items()]
        + [(values.path, state.path, "vsftpd.conf's path"),
           (values.path, state.binary, "vsftpd's path")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    current = ctx.facts.get("file", path=state.path)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{state.path} does not exist")
    if not_utf8(state.path, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(state.path, current))
    after = set_directives(current.text, wanted)
    why = verify(_model, current.text, after,
                 lambda old: ({**old[0], **wanted}, old[1]), what=state.path)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    check = RunCommand("validate with vsftpd (a copy of the file parsed in inetd mode)",
                       command=Command("sh -c %s sh %s %s", VALIDATE, state.path,
                                       state.binary))
    restart = Service(f"restart {SERVICE}", name=SERVICE, operation="restart")
    return ctx.plan(
        WriteFile(f"set {', '.join(f'{k}={v}' for k, v in wanted.items())} in {state.path}",
                  path=state.path, content=after.encode(), before=current.content),
        check, restart,
    ).after_restore(check, restart)
