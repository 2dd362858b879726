"""files.permissions and files.world_writable: chown and chmod of exact paths.

Each change is one guarded command on one path, never recursive: the guard refuses a
path that is (now) a symbolic link (chmod would change its target) and a path whose
mode, uid or gid is no longer what the plan saw (`stat -c '%a %u %g'`), then runs
`chown -h` (never through a link) and `chmod` with a symbolic mode that only removes
bits (`g-w,o-rwx`): a mode is never widened, and the setuid/setgid bits of a
directory are cleared only when they are beyond the baseline (GNU chmod keeps them
on an octal mode). A symbolic link, a required path that is missing, a baseline
owner or group the host does not know refuse a path's fix; a world-writable file
whose name is not printable, or a listing cut at MAX_LISTED, refuse the scan's fix
(it fixes all it lists or nothing), each with what to do by hand. Rollback puts back
each path's uid, gid and mode as they were (`chown -h UID:GID`, `chmod 0NNNN`).
"""

from __future__ import annotations

from fleetcheck import values
from fleetcheck.facts.base import Command
from fleetcheck.facts.files import MAX_LISTED, VALUE_KINDS, VARS, PathState, Rule, extra_bits
from fleetcheck.facts.files import octal, problems, rules, scanned_dirs
from fleetcheck.remediation import RunCommand, fix, refuse
from fleetcheck.remediation.edit import declared_problem, unsafe

# $1 path, $2 "mode uid gid" as planned ("" on rollback: not compared), $3 owner:group
# for chown -h ("" none), $4 mode for chmod ("" none)
GUARDED = """p=$1 seen=$2 own=$3 mode=$4
if [ -L "$p" ]; then
  echo "fleetcheck: $p is a symbolic link: not changed" >&2; exit 3
fi
now=$(LC_ALL=C stat -c '%a %u %g' -- "$p") || exit 3
if [ -n "$seen" ] && [ "$now" != "$seen" ]; then
  echo "fleetcheck: $p is now '$now' (mode uid gid), not '$seen' as planned:" \\
    "not changed" >&2
  exit 3
fi
if [ -n "$own" ]; then chown -h -- "$own" "$p" || exit 4; fi
if [ -n "$mode" ]; then chmod -- "$mode" "$p" || exit 4; fi
"""
_WHO = (("u", 6, 0o4000, "s"), ("g", 3, 0o2000, "s"), ("o", 0, 0o1000, "t"))


def symbolic(bits: int, op: str = "-") -> str:
    """Permission bits as chmod's symbolic mode with an explicit who (no umask):
    0o4062 -> 'u-s,g-rw,o-w'."""
    parts = []
    for who, shift, special, letter in _WHO:
        letters = "".join(ch for ch, bit in zip("rwx", (4, 2, 1)) if bits >> shift & bit)
        letters += letter if bits & special else ""
        if letters:
            parts.append(f"{who}{op}{letters}")
    return ",".join(parts)


def guarded(summary: str, path: str, seen: str, own: str = "", mode: str = "") -> RunCommand:
    return RunCommand(summary, command=Command("sh -c %s fleetcheck %s %s %s %s", GUARDED,
                                               path, seen, own, mode))


def _seen(mode: int, uid: int, gid: int) -> str:
    return f"{mode:o} {uid} {gid}"   # as stat -c '%a %u %g' prints it


def _restore(path: str, mode: int, uid: int, gid: int) -> RunCommand:
    return guarded(f"put back {path}: uid {uid}, gid {gid}, mode {octal(mode)}", path, "",
                   f"{uid}:{gid}", f"0{mode:04o}")


def plan_path(path: str, rule: Rule, state: PathState | None, users: list[str],
              groups: list[str]) -> tuple[RunCommand | None, RunCommand | None, str | None]:
    """(the change, its rollback, None) for one declared path, (None, None, None) when
    it is right, or (None, None, why not) when no safe fix exists."""
    if not problems(rule, state):
        return None, None, None
    if state is None or not state.exists:
        return None, None, f"{path} is required but missing: create it by hand"
    if state.kind == "symlink":
        return None, None, (f"{path} is a symbolic link: fleetcheck does not follow it; "
                            "replace it by the file by hand")
    owner = group = ""
    if rule.owner is not None and state.owner != rule.owner:
        if rule.owner not in users:
            return None, None, f"{path}: owner {rule.owner} does not exist on this host"
        owner = rule.owner
    if rule.groups and state.group not in rule.groups:
        known = [g for g in rule.groups if g in groups]
        if not known:
            return None, None, (f"{path}: none of the groups {', '.join(rule.groups)} "
                                "exists on this host")
        group = known[0]
    extra = extra_bits(rule, state)
    own = f"{owner}:{group}" if group else owner
    words = ([f"chown {own}"] if own else []) + ([f"chmod {symbolic(extra)}"] if extra else [])
    change = guarded(f"{path}: {', '.join(words)} ({state.owner}:{state.group} "
                     f"{octal(state.mode)} -> {owner or state.owner}:{group or state.group} "
                     f"{octal(state.mode & ~extra)})", path,
                     _seen(state.mode, state.uid, state.gid), own,
                     symbolic(extra) if extra else "")
    return change, _restore(path, state.mode, state.uid, state.gid), None


def _declared_problem(ctx) -> str | None:
    """The load's check of both vars again (fleetcheck.values), on what reaches a
    command."""
    for name in VARS:
        why = declared_problem(name, ctx.vars.get(name), VALUE_KINDS)
        if why:
            return why
    return None


@fix("files.permissions")
def plan_permissions(ctx):
    """`chown -h` to the baseline's owner (and the first of its groups the host has)
    and `chmod` removing only the bits beyond the maximum mode (current & max), of
    exactly the path; a symbolic link, a missing required path or an unknown owner or
    group refuse the fix. Rollback puts back uid, gid and mode."""
    path = ctx.item
    rule = rules(ctx.vars).get(path)
    why = _declared_problem(ctx) or unsafe([(values.path, path, "the path")]) or (
        None if rule is not None else f"the var files_permissions does not declare "
                                      f"{values.shown(path)}")
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    found = ctx.facts.get("files")
    change, back, why = plan_path(path, rule, found.paths.get(path), found.users,
                                  found.groups)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    if change is None:
        return ctx.plan(reason=f"{path} has its owner, group and mode")
    return ctx.plan(change).after_restore(back)


@fix("files.world_writable")
def plan_world_writable(ctx):
    """`chmod o-w` of exactly the regular files the scan listed (never a symbolic
    link, never recursive), each refused at apply time if it changed since; a name
    that is not printable, or a listing cut at MAX_LISTED files, refuse the fix.
    Rollback gives each file its o+w back."""
    why = _declared_problem(ctx)
    if why or not scanned_dirs(ctx.vars):
        return refuse(ctx.check_id, ctx.host, why or "the var files_world_writable is not set")
    found = ctx.facts.get("files")
    if found.truncated:
        return refuse(ctx.check_id, ctx.host, f"more than {MAX_LISTED} world-writable files "
                      f"under {', '.join(found.truncated)}: too many for a blind chmod; "
                      "compare them with the packages' modes (dpkg --verify, rpm -Va)")
    actions, undo = [], []
    for entry in found.world_writable:
        where = unsafe([(values.path, entry.path, "the file")]) if entry.path else \
            f"a world-writable file under {entry.directory} has a name that is not " \
            "printable ASCII: fix it by hand (find DIR -xdev -type f -perm -0002)"
        if where:
            return refuse(ctx.check_id, ctx.host, where)
        actions.append(guarded(f"chmod o-w {entry.path} ({octal(entry.mode)} -> "
                               f"{octal(entry.mode & ~0o002)})", entry.path,
                               _seen(entry.mode, entry.uid, entry.gid), "", "o-w"))
        undo.append(guarded(f"chmod o+w {entry.path} (as before the fix)", entry.path, "",
                            "", "o+w"))
    return ctx.plan(*actions, reason="no world-writable file listed").after_restore(*undo)
