"""Pure edits of BIND files that DNS fixes plan: a zone file's records of one owner
and its SOA serial; the allow-transfer clauses of named.conf.

Edits keep everything else of the file as the admin wrote it (comments, order,
layout), so the diff shows only the change. Each edit is read back through the
re-parse guard (fleetcheck.remediation.edit.verify) before it is returned:

- a zone file by dnspython (zone_model): every record set but the edited owners'
  exactly as before (TTL and data), the edited owners' exactly the wanted records,
  the SOA unchanged but its serial, which is the old one + 1;
- a named.conf file by this module's tokenizer (named_model: fleetcheck's
  named_conf fact reads `named-checkconf -p` output, which a raw file with comments
  and includes is not): every token outside the allow-transfer clauses exactly as
  before, every clause that required a key as it was, every other one
  `key "KEY"`, one added to options where asked.

An edit that does not read back as intended raises EditRefused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone

from fleetcheck import values
from fleetcheck.facts.named_conf import key_name
from fleetcheck.remediation.edit import verify


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
    # names are case-insensitive: WEB1 in the file is web1's line
    scanned = [s for s in _scan(lines, origin) if (s.owner or "").lower() == owner.lower()]
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
            if s.explicit and nxt is not None and not nxt.explicit and \
                    (nxt.owner or "").lower() == owner.lower():
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


def zone_model(text: str, origin: str, ours=frozenset()) -> dict:
    """A zone file as the re-parse guard compares it: "OWNER TYPE" -> (TTL, sorted
    record texts) for every record set, the SOA without its serial and the serial
    apart; the record sets named in `ours` by their data only, in lower case (a new
    record takes the TTL in effect where it is written)."""
    zone = load_zone(text, origin)
    model: dict = {}
    for name, rds in zone.iterate_rdatasets():
        key = f"{str(name).lower()} {dns.rdatatype.to_text(rds.rdtype)}"   # names: any case
        if rds.rdtype == dns.rdatatype.SOA:
            model[key] = (rds.ttl, tuple(rd.replace(serial=0).to_text() for rd in rds))
            model["serial"] = int(rds[0].serial)
        elif key in ours:
            model[key] = tuple(sorted(rd.to_text().lower() for rd in rds))
        else:
            model[key] = (rds.ttl, tuple(sorted(rd.to_text() for rd in rds)))
    return model


def fix_zone(text: str, origin: str, wanted: dict[str, dict[str, list[str]]]) -> str | None:
    """The zone text with each owner's records of each type set to
    wanted[owner][type] (absolute names for PTR) and the serial bumped once, or None
    when they already are. Verified by reading it back (zone_model): only those
    records and the serial change."""
    zone = load_zone(text, origin)
    want = {str(dns.name.from_text(owner)):
            {t: sorted(_absolute(v, t, origin) for v in vals) for t, vals in types.items()}
            for owner, types in wanted.items()}
    todo = [(owner, t, v) for owner, types in want.items() for t, v in types.items()
            if records(zone, owner, t) != v]
    if not todo:
        return None
    edited = text
    for owner, rdtype, vals in todo:
        edited = set_records(edited, origin, owner, rdtype, vals)
    edited, _, _ = bump_serial(edited, origin)
    ours = {f"{owner.lower()} {t.upper()}" for owner, types in want.items() for t in types}

    def expected(old: dict) -> dict:
        new = {k: v for k, v in old.items() if k not in ours}
        for owner, types in want.items():
            for rdtype, vals in types.items():
                if vals:
                    new[f"{owner.lower()} {rdtype.upper()}"] = tuple(sorted(v.lower()
                                                                            for v in vals))
        new["serial"] = (old["serial"] + 1) % (2 ** 32) or 1
        return new

    why = verify(lambda t: zone_model(t, origin, ours), text, edited, expected,
                 what="the zone file")
    if why:
        raise EditRefused(why)
    return edited


def fix_records(text: str, origin: str, owner: str,
                wanted: dict[str, list[str]]) -> str | None:
    """fix_zone for one owner."""
    return fix_zone(text, origin, {owner: wanted})


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


def named_model(text: str) -> dict:
    """A named.conf file as the re-parse guard compares it: its tokens outside the
    allow-transfer clauses (comments left out), the clauses (enclosing block,
    elements) and whether it has an options block."""
    clauses, options_close = transfer_clauses(text)
    spans = [(c.start, c.end) for c in clauses]
    return {
        "statements": [tok for tok, start, _ in _tokens(text)
                       if not any(a <= start < b for a, b in spans)],
        "allow-transfer clauses": sorted((c.block, tuple(c.elements)) for c in clauses),
        "options block": options_close is not None,
    }


def transfers_intended(key: str, options_needed: bool):
    ours = ("key " + f'"{key}"',)

    def expected(old: dict) -> dict:
        clauses = [(block, elements if all(e.startswith("key ") or e == "none"
                                           for e in elements) else ours)
                   for block, elements in old["allow-transfer clauses"]]
        if options_needed and old["options block"] and \
                not any(block == "options" for block, _ in clauses):
            clauses.append(("options", ours))
        return dict(old, **{"allow-transfer clauses": sorted(clauses)})
    return expected


def restrict_transfers(text: str, key: str, options_needed: bool) -> str:
    """Every allow-transfer clause that lets an unsigned request through becomes
    `allow-transfer { key "KEY"; };`; with options_needed and no clause in the
    options block, one is added there (BIND's default lets anyone transfer). The key
    must be a key name (fleetcheck.facts.named_conf.key_name); the result is read
    back (named_model) before it is returned."""
    try:
        values.require(key_name, key, "the transfer key")
    except values.UnsafeValue as exc:
        raise EditRefused(str(exc)) from None
    clauses, options_close = transfer_clauses(text)
    wanted = f'allow-transfer {{ key "{key}"; }};'
    edits = [(c.start, c.end, wanted) for c in clauses if not keyed(c)]
    if options_needed and options_close is not None and \
            not any(c.block == "options" for c in clauses):
        edits.append((options_close, options_close, "\t" + wanted + "\n"))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    if out != text:
        why = verify(named_model, text, out, transfers_intended(key, options_needed),
                     what="named.conf")
        if why:
            raise EditRefused(why)
    return out
