"""Pure edits of BIND files that DNS fixes plan: a zone file's records of one owner
and its SOA serial; the allow-transfer clauses of named.conf.

Edits keep everything else of the file as the admin wrote it (comments, order,
layout), so the diff shows only the change. dnspython reads the zone before and
after: an edit that does not give exactly the records wanted is refused, never
written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone


class EditRefused(ValueError):
    """The file is beyond what a safe automatic edit handles; the message says why."""


def load_zone(text: str, origin: str) -> dns.zone.Zone:
    if re.search(r"^\s*\$INCLUDE", text, re.MULTILINE | re.IGNORECASE):
        raise EditRefused("the zone file uses $INCLUDE")
    try:
        return dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    except (dns.exception.DNSException, ValueError) as exc:
        raise EditRefused(f"the zone file does not parse: {exc}") from None


def records(zone: dns.zone.Zone, owner: str, rdtype: str) -> list[str]:
    rds = zone.get_rdataset(owner, rdtype)
    return sorted(rd.to_text().lower() for rd in rds) if rds else []


def serial(zone: dns.zone.Zone) -> int:
    soa = zone.get_rdataset(zone.origin, "SOA")
    if not soa:
        raise EditRefused("the zone has no SOA")
    return int(soa[0].serial)


# ------------------------------------------------------------ zone file lines



@dataclass
class _Line:
    index: int
    owner: str | None        # absolute owner name in effect for this record
    explicit: bool           # the line names its owner (else it continues the previous)
    rdtype: str | None
    rdata: str | None
    rdata_at: int | None     # offset of the rdata in the line


def _strip_comment(line: str) -> str:
    out, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            break
        out.append(ch)
    return "".join(out)


def _scan(lines: list[str], origin: str) -> list[_Line]:
    """The single-line records of a zone file with their owners (multi-line records,
    such as a parenthesized SOA, are skipped over but keep the owner)."""
    out = []
    current = origin
    cur_origin = origin
    depth = 0
    for i, raw in enumerate(lines):
        body = _strip_comment(raw)
        if depth:
            depth += body.count("(") - body.count(")")
            continue
        if not body.strip():
            continue
        if body.startswith("$"):
            word = body.split()
            if word[0].upper() == "$ORIGIN" and len(word) > 1:
                cur_origin = str(dns.name.from_text(word[1], dns.name.from_text(origin)))
            continue
        explicit = not body[0].isspace()
        tokens = list(re.finditer(r"\S+", body))
        owner = current
        k = 0
        if explicit:
            name = tokens[0].group()
            owner = cur_origin if name == "@" else str(
                dns.name.from_text(name, dns.name.from_text(cur_origin)))
            current = owner
            k = 1
        # [TTL] [CLASS] TYPE or [CLASS] [TTL] TYPE
        while k < len(tokens) and (tokens[k].group().isdigit() or
                                   tokens[k].group().upper() in ("IN", "CH", "HS")):
            k += 1
        opens = body.count("(") - body.count(")")
        if k >= len(tokens) or opens:
            depth = max(opens, 0)
            out.append(_Line(i, owner, explicit, None, None, None))
            continue
        rdtype = tokens[k].group().upper()
        rdata_at = tokens[k + 1].start() if k + 1 < len(tokens) else None
        rdata = body[rdata_at:].strip() if rdata_at is not None else ""
        out.append(_Line(i, owner, explicit, rdtype, rdata, rdata_at))
    return out


def _absolute(value: str, rdtype: str, origin: str) -> str:
    if rdtype in ("PTR", "CNAME", "NS"):
        return str(dns.name.from_text(value, dns.name.from_text(origin))).lower()
    return value.lower()


def set_records(text: str, origin: str, owner: str, rdtype: str, values: list[str]) -> str:
    """`text` with the `rdtype` records of `owner` being exactly `values` (absolute
    names for PTR). Records already right stay where they are; a wrong one is
    corrected in place; a missing one is added after the owner's last line (or at the
    end). Does not bump the serial."""
    origin = str(dns.name.from_text(origin))
    owner = str(dns.name.from_text(owner))
    lines = text.splitlines(keepends=True)
    scanned = [s for s in _scan(lines, origin) if s.owner == owner]
    mine = [s for s in scanned if s.rdtype == rdtype]
    want = [v.lower() for v in values]
    have = {_absolute(s.rdata, rdtype, origin): s for s in mine if s.rdata}
    keep = {v for v in want if v in have}
    todo = [v for v in want if v not in keep]
    drop = [s for s in mine if _absolute(s.rdata or "", rdtype, origin) not in keep]
    edits: dict[int, str | None] = {}
    for s in drop:
        if todo:                                # correct in place, same owner/TTL/class
            line = lines[s.index]
            end = "\n" if line.endswith("\n") else ""
            edits[s.index] = line[:s.rdata_at] + todo.pop(0) + end
        else:
            edits[s.index] = None
            nxt = next((x for x in _scan(lines, origin) if x.index > s.index), None)
            if s.explicit and nxt is not None and not nxt.explicit and nxt.owner == owner:
                edits[nxt.index] = _relative(owner, origin) + lines[nxt.index]
    new = []
    for i, line in enumerate(lines):
        if i in edits:
            if edits[i] is not None:
                new.append(edits[i])
        else:
            new.append(line)
        if todo and scanned and i == scanned[-1].index:
            new.extend(_record_line(owner, origin, rdtype, v) for v in todo)
            todo = []
    if todo:
        if new and not new[-1].endswith("\n"):
            new[-1] += "\n"
        new.extend(_record_line(owner, origin, rdtype, v) for v in todo)
    return "".join(new)


def _relative(owner: str, origin: str) -> str:
    name = dns.name.from_text(owner)
    return name.relativize(dns.name.from_text(origin)).to_text()


def _record_line(owner: str, origin: str, rdtype: str, value: str) -> str:
    return f"{_relative(owner, origin)}\tIN\t{rdtype}\t{value}\n"


def bump_serial(text: str, origin: str) -> tuple[str, int, int]:
    """`text` with the SOA serial + 1 (RFC 1982 arithmetic); (text, old, new)."""
    zone = load_zone(text, origin)
    old = serial(zone)
    new = (old + 1) % (2 ** 32) or 1
    match = re.search(r"\bSOA\b", text, re.IGNORECASE)
    if not match:
        raise EditRefused("no SOA record in the file")
    after = re.compile(r"(?<![\w.])" + str(old) + r"(?![\w.])")
    found = after.search(text, match.end())
    if not found:
        raise EditRefused(f"the serial {old} is not written out in the SOA")
    edited = text[:found.start()] + str(new) + text[found.end():]
    if serial(load_zone(edited, origin)) != new:
        raise EditRefused("bumping the serial changed something else")
    return edited, old, new


def fix_records(text: str, origin: str, owner: str,
                wanted: dict[str, list[str]]) -> str | None:
    """The zone text with owner's records of each type set to wanted[type] (absolute
    names for PTR) and the serial bumped once, or None when they already are.
    Verified by reading it back: only those records (and the serial) change."""
    zone = load_zone(text, origin)
    owner = str(dns.name.from_text(owner))
    want = {t: sorted(_absolute(v, t, origin) for v in values) for t, values in wanted.items()}
    if all(records(zone, owner, t) == v for t, v in want.items()):
        return None
    edited = text
    for rdtype, values in want.items():
        if records(zone, owner, rdtype) != values:
            edited = set_records(edited, origin, owner, rdtype, values)
    edited, _, _ = bump_serial(edited, origin)
    check = load_zone(edited, origin)
    for rdtype, values in want.items():
        if records(check, owner, rdtype) != values:
            raise EditRefused(f"the edit does not give {owner} {rdtype} {values}")
    ours = {(owner, dns.rdatatype.from_text(t)) for t in want}
    soa = (str(zone.origin), dns.rdatatype.SOA)
    before = {(str(n), rds.rdtype): rds for n, rds in zone.iterate_rdatasets()}
    after = {(str(n), rds.rdtype): rds for n, rds in check.iterate_rdatasets()}
    other = {k for k in before.keys() | after.keys() - ours - {soa}
             if k not in ours and k != soa and before.get(k) != after.get(k)}
    if other:
        raise EditRefused(f"the edit would change other records too: {sorted(other)[:3]}")
    return edited


# ------------------------------------------------------------ named.conf

_TOKEN = re.compile(r'//[^\n]*|#[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+',
                    re.DOTALL)


@dataclass
class Clause:
    start: int        # offset of `allow-transfer`
    end: int          # offset after its `;`
    elements: list[str]
    block: str        # the statement that encloses it: options, zone "x", view "y"


def _tokens(text: str):
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok.startswith(("//", "#", "/*")):
            continue
        yield tok, m.start(), m.end()


def includes(text: str) -> list[str]:
    toks = list(_tokens(text))
    return [toks[i + 1][0].strip('"') for i, (t, _, _) in enumerate(toks[:-1])
            if t == "include" and toks[i + 1][0].startswith('"')]


def transfer_clauses(text: str) -> tuple[list[Clause], int | None]:
    """Every allow-transfer clause, and the offset of the options block's closing
    brace (None without an options block)."""
    toks = list(_tokens(text))
    clauses: list[Clause] = []
    stack: list[str] = []
    statement: list[str] = []
    options_close = None
    i = 0
    while i < len(toks):
        tok, start, end = toks[i]
        if tok == "allow-transfer":
            j = i + 1
            while j < len(toks) and toks[j][0] != "{":
                j += 1
            depth, elements, elem = 0, [], []
            k = j
            while k < len(toks):
                t = toks[k][0]
                if t == "{":
                    depth += 1
                    if depth > 1:
                        elem.append(t)
                elif t == "}":
                    depth -= 1
                    if depth == 0:
                        break
                    elem.append(t)
                elif t == ";" and depth == 1:
                    elements.append(" ".join(elem))
                    elem = []
                else:
                    elem.append(t)
                k += 1
            if k + 1 < len(toks) and toks[k + 1][0] == ";":
                k += 1
            if k >= len(toks):
                raise EditRefused("an allow-transfer clause is not closed")
            clauses.append(Clause(start, toks[k][2], elements,
                                  " ".join(stack[-1:]) or "(top level)"))
            i = k + 1
            statement = []
            continue
        if tok == "{":
            stack.append(" ".join(statement))
            statement = []
        elif tok == "}":
            if stack and stack[-1] == "options" and len(stack) == 1:
                options_close = start
            if stack:
                stack.pop()
            statement = []
        elif tok == ";":
            statement = []
        else:
            statement.append(tok)
        i += 1
    return clauses, options_close


def keyed(clause: Clause) -> bool:
    """Only key-signed requests match: every element is `key "NAME"` (or `none`)."""
    return all(e.startswith("key ") or e == "none" for e in clause.elements)


def restrict_transfers(text: str, key: str, options_needed: bool) -> str:
    """Every allow-transfer clause that lets an unsigned request through becomes
    `allow-transfer { key "KEY"; };`; with options_needed and no clause in the
    options block, one is added there (BIND's default lets anyone transfer)."""
    clauses, options_close = transfer_clauses(text)
    wanted = f'allow-transfer {{ key "{key}"; }};'
    edits = [(c.start, c.end, wanted) for c in clauses if not keyed(c)]
    if options_needed and options_close is not None and \
            not any(c.block == "options" for c in clauses):
        edits.append((options_close, options_close, "\t" + wanted + "\n"))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    return out
