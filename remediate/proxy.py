"""proxy.squid: restore the declared `acl NAME src` networks in squid.conf, validate with
`squid -k parse`, then `squid -k reconfigure` (and wait, bounded, until Squid accepts
connections again: it closes its ports while it re-reads the configuration).

Computed in memory so the engine backs the file up, writes it atomically and restores
it when a step fails: the first `acl NAME src` line of each declared acl (its
continuation lines included) is replaced by `acl NAME src NETWORK...` with the
declared networks, its other `acl NAME src` lines are removed; every other line stays
byte for byte. The networks are checked again with their kind (an address or
ADDR/BITS) and the new squid.conf is read back with fleetcheck's squid.conf parser
(fleetcheck.facts.squid.parse_squid_conf): every directive must be what it was but the
declared acls' lines, which hold the declared networks; else the fix is refused. An
acl defined only in an included file, or a configuration that already holds the
declared acls (the client is let in or kept out by something else: http_access, an
include), or that `squid -k parse` refuses, is refused: fixed by hand. Only declared
networks are written: a fix never guesses who may use the proxy.
"""

from __future__ import annotations

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.squid import (VALUE_KINDS, VAR, acl_name, network, parse_squid_conf,
                                    same_networks, settings)
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, editable, unsafe, verify

# `squid -k reconfigure`, then wait until cache.log says it accepts connections again
# (the count of its `Accepting HTTP Socket connections` lines goes up; 10 s at most)
RECONFIGURE = """conf="$1"; log="$2"
n=$(grep -c 'Accepting HTTP Socket connections' "$log" 2>/dev/null); n=${n:-0}
squid -k reconfigure -f "$conf" || exit $?
i=0
while [ $i -lt 100 ]; do
  m=$(grep -c 'Accepting HTTP Socket connections' "$log" 2>/dev/null); m=${m:-0}
  [ "$m" -gt "$n" ] && exit 0
  sleep 0.1; i=$((i+1))
done
echo "squid: no 'Accepting HTTP Socket connections' in $log after the reconfiguration" >&2
exit 0
"""
DEFAULT_CACHE_LOG = "/var/log/squid/cache.log"


def set_acls(text: str, wanted: dict[str, list[str]]) -> str:
    """squid.conf's text with each acl of `wanted` holding exactly its networks."""
    lines = text.splitlines(keepends=True)
    conf = parse_squid_conf(text)
    replace: dict[int, tuple[int, str | None]] = {}
    for name, nets in wanted.items():
        found = conf.acl_lines(name)
        if not found:
            raise ValueError(f"no `acl {name} src` line in the file (in an included one?)")
        replace[found[0].line] = (found[0].last, f"acl {name} src {' '.join(nets)}\n")
        for other in found[1:]:
            replace[other.line] = (other.last, None)
    out, n = [], 1
    while n <= len(lines):
        if n in replace:
            end, line = replace[n]
            if line is not None:
                out.append(line)
            n = end + 1
            continue
        out.append(lines[n - 1])
        n += 1
    return "".join(out)


def _model(text: str) -> list[str]:
    """The directives in effect, in order, each as its words joined by one blank."""
    return [" ".join([d.name, *d.args]) for d in parse_squid_conf(text).directives]


def _expected(old: list[str], wanted: dict[str, list[str]]) -> list[str]:
    out, done = [], set()
    for line in old:
        words = line.split()
        if len(words) >= 3 and words[0] == "acl" and words[2] == "src" and words[1] in wanted:
            if words[1] not in done:
                out.append(" ".join(["acl", words[1], "src", *wanted[words[1]]]))
                done.add(words[1])
            continue
        out.append(line)
    return out


@fix("proxy.squid")
def plan_acls(ctx):
    """Sets each acl of `proxy_squid.acl` to its declared networks in squid.conf (its
    first `acl NAME src` line rewritten, the others removed; the file read back before
    it is written), validates with `squid -k parse`, then `squid -k reconfigure`.
    Refused when the acls already hold the declared networks, when an acl is defined
    only in an included file, and when squid -k parse fails before the edit. Rollback
    puts squid.conf back, parses and reconfigures again."""
    conf = settings(ctx.vars) or {}
    wanted = {str(k): [str(n) for n in v] for k, v in (conf.get("acl") or {}).items() if v}
    if not wanted:
        return refuse(ctx.check_id, ctx.host, "declare proxy_squid.acl (acl name -> "
                      "networks): the fix restores declared networks only")
    why = declared_problem(VAR, {"acl": wanted}, VALUE_KINDS) or unsafe(
        [(acl_name, name, "proxy_squid.acl") for name in wanted]
        + [(network, n, f"proxy_squid.acl.{name}") for name, nets in wanted.items()
           for n in nets])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    cfg = ctx.facts.get("squid_config")
    if not cfg.installed:
        return refuse(ctx.check_id, ctx.host, "Squid is not installed (no squid): the proxy "
                      "answering is another one; fix by hand")
    if not cfg.valid:
        return refuse(ctx.check_id, ctx.host, "squid -k parse fails on the current "
                      f"configuration ({(cfg.errors or ['exit %s' % cfg.exit])[0]}): fix it "
                      "by hand first")
    acls = cfg.directives.acls("src")
    if all(name in acls and same_networks(nets, acls[name]) for name, nets in wanted.items()):
        return refuse(ctx.check_id, ctx.host, "the acls already hold the declared networks: "
                      "the client is let in or kept out by something else (http_access, an "
                      "included file); fix by hand")
    path = conf.get("config") or cfg.config
    current, why = editable(ctx, path, "proxy_squid.config")
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    try:
        after = set_acls(current.text, wanted)
    except ValueError as exc:
        return refuse(ctx.check_id, ctx.host, f"{path}: {exc}; fix by hand")
    if after == current.text:
        return refuse(ctx.check_id, ctx.host, f"{path} already holds the declared acls: "
                      "they come from an included file; fix by hand")
    why = verify(_model, current.text, after, lambda old: _expected(old, wanted), what=path)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    logs = [d.args[0] for d in cfg.directives.directives if d.name == "cache_log" and d.args]
    log = logs[-1] if logs and logs[-1].startswith("/") else DEFAULT_CACHE_LOG
    why = unsafe([(values.path, log, "squid's cache_log")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    check = RunCommand("validate with squid -k parse",
                       command=Command("squid -k parse -f %s", path))
    reconfigure = RunCommand("squid -k reconfigure (and wait until it accepts again)",
                             command=Command("sh -c %s sh %s %s", RECONFIGURE, path, log))
    return ctx.plan(
        WriteFile(f"set acl {', '.join(wanted)} src in {path} to the declared networks",
                  path=path, content=after.encode(), before=current.content),
        check, reconfigure,
    ).after_restore(check, reconfigure)
