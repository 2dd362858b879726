"""sshd.config: set the directive in sshd_config, validate with `sshd -t` before the
reload (the engine restores the backup when validation fails), reload sshd: running
sessions stay up (SIGHUP re-executes the listener only).

The keyword and the value are checked again with their kinds
(fleetcheck.facts.sshd.directive and .config_value: no quote, escape, comment or
line break; not Match or Include). The new file is read back as sshd reads it
(read_sshd_config below: fleetcheck has no parser of a raw sshd_config, its sshd
fact reads `sshd -T`) and must hold the same directives, in the same Match blocks,
but the first global occurrence of ours, which has the declared value (or ours
added above all); else the fix is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts import sshd as sshd_fact
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


def sshd_intended(key: str, want: str):
    def expected(old):
        new = list(old)
        ours = (key.lower(), tuple(want.split()), None)
        at = next((i for i, (k, _, block) in enumerate(new)
                   if k == key.lower() and block is None), None)
        if at is None:
            new.insert(0, ours)
        else:
            new[at] = ours
        return new
    return expected


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
    why = declared_problem("sshd", {key: raw}, sshd_fact.VALUE_KINDS) or unsafe(
        [(sshd_fact.directive, key, "the sshd keyword"),
         (lambda value, what: sshd_fact.config_value(value, what, key), raw,
          f"sshd.{key}")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    want = sshd_fact.word(raw, key)   # sshd's words: yes/no, digits, a joined list
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
    if after == current.text:
        return refuse(ctx.check_id, ctx.host,
                      f"{SSHD_CONFIG} already says {key} {want}; an included file or "
                      "a Match block must override it: fix by hand")
    why = verify(read_sshd_config, current.text, after, sshd_intended(key, want),
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
