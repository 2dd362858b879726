"""sshd.config and sshd.baseline: set the directive in sshd_config, validate with
`sshd -t` before the reload (the engine restores the backup when validation fails),
reload sshd: running sessions stay up (SIGHUP re-executes the listener only).

The keyword and the value are checked again with their kinds
(fleetcheck.facts.sshd.directive and .config_value: no quote, escape, comment or
line break; not Match or Include). The new file is read back as sshd reads it
(read_sshd_config below: fleetcheck has no parser of a raw sshd_config, its sshd
fact reads `sshd -T`) and must hold the same directives, in the same Match blocks,
but the first global occurrence of ours, which has the declared value (or ours
added above all); else the fix is refused.

sshd.baseline's host_key_mode is fixed by chmod (the mode within the baseline's) and
chown root of the exact HostKey path `sshd -T` names; rollback puts back the old
mode and owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts import sshd as sshd_fact
from fleetcheck.facts import sshd_hostkeys
from fleetcheck.facts.base import Command
from fleetcheck.remediation import RunCommand, Service, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, set_keyword, unsafe, verify

SSHD_CONFIG = "/etc/ssh/sshd_config"
_LINE = re.compile(r"[ \t]*([^ \t=\"]*)[ \t]*(?:=[ \t]*)?(.*)")


def _words(text: str) -> list[str]:
    """sshd's argv_split (OpenSSH misc.c) with comments ending the line: blanks
    separate words, `"` and `'` quote, `\\` escapes a quote, a backslash or (outside
    quotes) a blank, a word starting with `#` ends the line."""
    words, i, n = [], 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "#":
            break
        quote, word = None, []
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n and (text[i + 1] in "'\"\\" or
                                             (quote is None and text[i + 1] == " ")):
                word.append(text[i + 1])
                i += 2
                continue
            if quote is None and ch in " \t":
                break
            if quote is None and ch in "\"'":
                quote = ch
            elif quote is not None and ch == quote:
                quote = None
            else:
                word.append(ch)
            i += 1
        if quote is not None:
            raise ValueError("unterminated quote")
        words.append("".join(word))
    return words


def read_sshd_config(text: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...] | None]]:
    """(keyword in lower case, its words, the Match block it is in or None) for every
    directive of a raw sshd_config, in order, as sshd reads the lines (trailing
    blanks cut; the keyword ends at a blank or one '='; `#` lines are comments).
    Raises ValueError where sshd would refuse the line."""
    out = []
    block = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip(" \t\r\f")
        match = _LINE.fullmatch(line)
        keyword, rest = (match.group(1), match.group(2)) if match else ("", line)
        if keyword.startswith("#"):
            continue
        if not keyword:
            if rest.strip():
                raise ValueError(f"line {n}: no keyword: {values.shown(raw, 60)}")
            continue
        try:
            words = tuple(_words(rest))
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if not words:
            raise ValueError(f"line {n}: no argument after {keyword}")
        if keyword.lower() == "match":
            block = words
        out.append((keyword.lower(), words, block))
    return out


def _first_global(entries, key: str) -> int | None:
    """The index of the first occurrence of `key` outside any Match block, or None."""
    return next((i for i, (k, _, block) in enumerate(entries)
                 if k == key.lower() and block is None), None)


def sshd_intended(key: str, want: str, on_top: bool = False):
    """What sshd_config must read as after the edit: ours over the first global
    occurrence (or added above all); with `on_top`, also above all (over_includes)."""
    def expected(old):
        new = list(old)
        ours = (key.lower(), tuple(want.split()), None)
        at = _first_global(new, key)
        if at is None:
            new.insert(0, ours)
        else:
            new[at] = ours
            if on_top:
                new.insert(0, ours)
        return new
    return expected


def include_first(text: str, key: str) -> bool:
    """An Include comes before the first global occurrence of `key`: a file it reads
    (Debian's sshd_config.d/*.conf) may set `key` first, and the first one wins."""
    try:
        entries = read_sshd_config(text)
    except ValueError:
        return False   # verify() says why the file cannot be edited
    at = _first_global(entries, key)
    return at is not None and any(k == "include" for k, _, _ in entries[:at])


@fix("sshd.config")
def plan_sshd(ctx):
    """Set the directive in `/etc/ssh/sshd_config` in sshd's own words (the first
    occurrence wins in sshd, so ours replaces it or goes on top, outside any Match
    block), validate with `sshd -t`, then reload sshd (running sessions stay)."""
    key = ctx.item
    settings = ctx.vars.get("sshd")
    if not isinstance(settings, Mapping) or key not in settings:
        return refuse(ctx.check_id, ctx.host, f"the var sshd does not set {values.shown(key)}")
    raw = settings[key]
    # the load's check again (the same message), on what is written
    why = declared_problem("sshd", {key: raw}, sshd_fact.VALUE_KINDS)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    # sshd's words: yes/no, digits, a joined list
    return plan_directive(ctx, key, sshd_fact.word(raw, key), f"sshd.{key}")


@fix("sshd.baseline")
def plan_sshd_baseline(ctx):
    """The rule's safe value set as sshd.config's fix sets a declared one (the first
    occurrence in `/etc/ssh/sshd_config`, and above an Include that comes before it,
    so a drop-in cannot override it; `sshd -t`, reload): `no`, the widest
    PermitRootLogin allowed, the largest MaxAuthTries, or the effective algorithm list
    without the weak ones; host_key_mode: chmod (the current mode within the
    baseline's) and chown root of each HostKey file that needs it, no reload (the
    key's content is the same; sshd serves a key it had refused at its next start)."""
    item = ctx.item
    settings = ctx.vars.get(sshd_fact.BASELINE)
    if not isinstance(settings, Mapping) or settings.get(item) is None \
            or item not in sshd_fact.RULES:
        return refuse(ctx.check_id, ctx.host,
                      f"the var {sshd_fact.BASELINE} does not set {values.shown(item)}")
    why = declared_problem(sshd_fact.BASELINE, {item: settings[item]}, sshd_fact.VALUE_KINDS)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    rule = sshd_fact.RULES[item]
    declared = sshd_fact.declared_directive(ctx.vars, rule.directive)
    if declared:   # the check skips it; the declaration's own fix sets it
        return refuse(ctx.check_id, ctx.host, f"the inventory declares {declared} (var "
                      "sshd): sshd.config's fix sets it")
    cfg = ctx.facts.get("sshd")
    if rule.how == "mode":
        return plan_host_keys(ctx, sshd_fact.setting(item, settings[item]), cfg)
    verdict = sshd_fact.judge(item, settings[item], cfg)
    if verdict.ok:
        return ctx.plan(reason=f"{rule.directive} is already {verdict.actual}")
    if verdict.fix is None:
        return refuse(ctx.check_id, ctx.host, f"{verdict.problem}, and nothing but weak "
                      f"ones: choose {rule.directive} by hand")
    return plan_directive(ctx, rule.directive, verdict.fix, f"{sshd_fact.BASELINE}.{item}",
                          over_includes=True)


def plan_directive(ctx, key: str, want: str, what: str, over_includes: bool = False):
    """The plan that makes `key want` the directive sshd reads: checked again with
    its kinds, written over the first global occurrence in sshd_config (or above
    all), read back, validated with `sshd -t`, then sshd reloaded. With
    `over_includes` (the baseline: its value is safe wherever it is read first), an
    occurrence below an Include gets ours written above the Include too, so a drop-in
    that says otherwise no longer wins and the file never says two things."""
    why = unsafe([(sshd_fact.directive, key, "the sshd keyword"),
                  (lambda value, what: sshd_fact.config_value(value, what, key), want, what)])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    current = ctx.facts.get("file", path=SSHD_CONFIG)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{SSHD_CONFIG} does not exist")
    if not_utf8(SSHD_CONFIG, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(SSHD_CONFIG, current))
    # First occurrence wins in sshd_config: replace the first one outside any Match
    # block, or put ours above the rest (above any Include of sshd_config.d and any
    # Match block).
    after = set_keyword(current.text, re.escape(key) + r"(?:[ \t]|=)", f"{key} {want}",
                        insert="top", flags=re.IGNORECASE, stop=r"Match(?:[ \t]|=)")
    on_top = over_includes and include_first(current.text, key)
    if on_top:   # `(?!)` matches no line: ours goes above all
        after = set_keyword(after, r"(?!)", f"{key} {want}", insert="top")
    if after == current.text:
        return refuse(ctx.check_id, ctx.host,
                      f"{SSHD_CONFIG} already says {key} {want}; an included file or "
                      "a Match block must override it: fix by hand")
    why = verify(read_sshd_config, current.text, after, sshd_intended(key, want, on_top),
                 what=SSHD_CONFIG)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    return ctx.plan(
        WriteFile(f"set {key} {want} in {SSHD_CONFIG}", path=SSHD_CONFIG,
                  content=after.encode(), before=current.content),
        RunCommand("validate with sshd -t", command=Command("sshd -t")),
        Service("reload sshd", name="ssh", operation="reload"),
    ).after_restore(   # rollback: sshd reads the restored file
        RunCommand("validate the restored file with sshd -t", command=Command("sshd -t")),
        Service("reload sshd", name="ssh", operation="reload"))


def plan_host_keys(ctx, widest: int, cfg):
    """chmod and chown root of each private HostKey file whose mode or owner the
    baseline refuses: the mode is the current one within what is allowed (0644 with a
    widest 0600 becomes 0600, 0400 stays; group ssh_keys keeps its read bit), the
    owner root, the group left. Rollback sets both back."""
    keys = ctx.facts.get("sshd_hostkeys", paths=sshd_hostkeys.private_host_keys(cfg)).keys
    actions, undo = [], []
    for key in keys:
        if sshd_hostkeys.key_problem(key, widest) is None:
            continue
        why = unsafe([(values.path, key.path, "the HostKey path")])
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        mode = key.mode & sshd_hostkeys.allowed_mode(widest, key.group)
        if mode != key.mode:
            actions.append(RunCommand(f"chmod {mode:04o} {key.path}",
                                      command=Command("chmod %s -- %s", f"{mode:04o}", key.path)))
            undo.append(RunCommand(f"chmod {key.mode:04o} {key.path} (its mode before the fix)",
                                   command=Command("chmod %s -- %s", f"{key.mode:04o}",
                                                   key.path)))
        if key.uid != 0:
            actions.append(RunCommand(f"chown root {key.path}",
                                      command=Command("chown root -- %s", key.path)))
            # chown first when undoing: a chown may clear mode bits, never the reverse
            undo.insert(0, RunCommand(f"chown {key.uid} {key.path} (its owner before the fix)",
                                      command=Command("chown %s -- %s", str(key.uid),
                                                      key.path)))
    return ctx.plan(*actions, reason="every private host key is owned by root with a "
                    "mode the baseline allows").after_restore(*undo)
