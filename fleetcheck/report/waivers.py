"""Waivers: accepted findings, declared in the inventory var ``fleetcheck_waivers``.

    all:
      vars:
        fleetcheck_waivers:
          - check: "sshd.*"            # fnmatch over check ids
          - check: "sysctl.value[vm.swappiness]"   # one item: check_id[item], fnmatch
            hosts: "web*:!web3"        # --limit grammar: names, globs, groups, :&! (no ~regex)
            reason: "legacy app needs password login until Q3"
            owner: "ops@example.com"
            expires: 2026-12-31        # last day the waiver applies

A waiver is a var like any other: a host is covered by the waivers in its own merged
vars (so a group can carry its own list), and only when the host also matches the
waiver's ``hosts`` pattern (default ``all``). It turns a *failed* or *would-fix* record
into *waived*; an *error* or *unreachable* is never waived (those are not findings
someone accepted, they are checks that did not run). A waiver past its ``expires``
date no longer applies and the record says so; one that matches no host x check of
the run is *stale* (judged on complete runs only: a subset or a run cut short lacks
records a waiver may be for).

A pattern of the form ``CHECK[ITEM]`` (no other brackets) targets one item of a check
with items: CHECK is matched against the record's check id and ITEM against its item
(both fnmatch with * and ?); a record without an item never matches it. Any pattern is
also matched against the check id alone as before (so ``raid.md_health[xy]``, a
character class, still works).

A bad waiver is an InventoryError (one line, exit 4 through the plugin), raised before
any host is touched.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass

from fleetcheck.inventory import Group, Inventory, InventoryError
from fleetcheck.inventory import limit as limit_grammar
from fleetcheck.values import shown

VAR = "fleetcheck_waivers"
WAIVABLE = frozenset({"failed", "would-fix"})
_KEYS = {"check", "hosts", "reason", "owner", "expires"}
_REQUIRED = ("check", "reason", "expires")
# Check id patterns: the characters of an id ('area.name') plus fnmatch's * ? [ ] !.
_CHECK_PATTERN = re.compile(r"^[a-z0-9_.*?\[\]!-]+$")
# check_id[item]: the item part is any text without brackets or control characters.
_ITEM_PATTERN = re.compile(r"^(?P<check>[^\[\]]+)\[(?P<item>[^\[\]\x00-\x1f\x7f]+)\]$")
MAX_WAIVERS = 10_000  # in one host's vars: far more than anyone accepts findings for


@dataclass(frozen=True)
class Waiver:
    check: str
    hosts: str
    reason: str
    owner: str
    expires: dt.date

    def covers_check(self, check_id: str, item: str | None = None) -> bool:
        if fnmatch.fnmatchcase(check_id, self.check):
            return True
        m = _ITEM_PATTERN.match(self.check)
        return (m is not None and item is not None
                and fnmatch.fnmatchcase(check_id, m["check"])
                and fnmatch.fnmatchcase(item, m["item"]))

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def to_json(self) -> dict:
        return {"check": self.check, "hosts": self.hosts, "reason": self.reason,
                "owner": self.owner, "expires": self.expires.isoformat()}


class WaiverBook:
    """The run's waivers, which hosts each covers, and the lookup per record."""

    def __init__(self, waivers: list[Waiver], covered: dict[Waiver, frozenset[str]],
                 today: dt.date):
        self.waivers = waivers
        self.covered = covered      # waiver -> host names it applies to
        self.today = today

    def find(self, host: str, check_id: str, item: str | None = None) -> Waiver | None:
        """The waiver for this host x check (x item): the first one still valid, else
        the first expired one (so the report can say it expired), else None."""
        matching = [w for w in self.waivers
                    if host in self.covered[w] and w.covers_check(check_id, item)]
        valid = [w for w in matching if not w.expired(self.today)]
        return (valid or matching or [None])[0]

    def apply(self, record: dict) -> dict:
        """Mark one record (Record.to_json() form) in place: waived, or expired waiver."""
        if record["outcome"] not in WAIVABLE:
            return record
        waiver = self.find(record["host"], record["check_id"], record.get("item"))
        if waiver is None:
            return record
        info = waiver.to_json()
        if waiver.expired(self.today):
            info["expired"] = True
        else:
            record["outcome"] = "waived"
        record["waiver"] = info
        return record

    def stale(self, records) -> list[Waiver]:
        """Waivers that match no host x check (x item) of this run (whatever its
        outcome). Meaningful for a complete run only (the caller's to know)."""
        keys = {(r.host, r.check_id, r.item) for r in records}
        return [w for w in self.waivers
                if not any(h in self.covered[w] and w.covers_check(c, i) for h, c, i in keys)]

    def expired_waivers(self) -> list[Waiver]:
        return [w for w in self.waivers if w.expired(self.today)]


def today_utc() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def load(hosts: dict, today: dt.date | None = None) -> WaiverBook:
    """The waivers in the vars of the selected hosts (HostEntry by name).

    Raises InventoryError (one line) for a malformed waiver or host pattern.
    """
    today = today or today_utc()
    inventory = _matching_inventory(hosts)
    waivers: list[Waiver] = []
    holders: dict[Waiver, set[str]] = {}
    for name, entry in hosts.items():
        raw = entry.vars.get(VAR)
        if raw is None:
            continue
        where = f"{VAR} of host {shown(name)}"
        if not isinstance(raw, list):
            raise InventoryError(f"{where} must be a list of waivers, "
                                 f"got {type(raw).__name__}", file=entry.source)
        if len(raw) > MAX_WAIVERS:
            raise InventoryError(f"{where} holds {len(raw)} waivers (more than {MAX_WAIVERS})",
                                 file=entry.source)
        for index, item in enumerate(raw):
            waiver = _parse(item, f"{VAR}[{index}] of host {shown(name)}", entry.source)
            if waiver not in holders:
                waivers.append(waiver)
                holders[waiver] = set()
            holders[waiver].add(name)
    covered = {}
    for waiver in waivers:
        pattern_hosts = _hosts_matching(inventory, waiver.hosts)
        covered[waiver] = frozenset(holders[waiver] & pattern_hosts)
    return WaiverBook(waivers, covered, today)


def _parse(item, where: str, source: str | None) -> Waiver:
    def bad(reason: str) -> InventoryError:
        return InventoryError(f"{where}: {reason}", file=source)

    if not isinstance(item, dict):
        raise bad(f"a waiver is a mapping with {', '.join(sorted(_KEYS))}")
    unknown = sorted(set(map(str, item)) - _KEYS)
    if unknown:
        raise bad(f"unknown key {shown(unknown[0])} (a waiver has: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise bad(f"{key!r} is required")
    check = item["check"]
    itemized = _ITEM_PATTERN.match(check) if isinstance(check, str) else None
    check_part = itemized["check"] if itemized else check
    if not isinstance(check, str) or not _CHECK_PATTERN.match(check_part) \
            or "." not in check_part and "*" not in check_part:
        raise bad(f"check pattern {shown(check)} must match check ids like 'sshd.*' "
                  "or 'raid.md_healthy' (fnmatch: * ? [...]), or one item of a check: "
                  "'sysctl.value[vm.swappiness]'")
    hosts = item.get("hosts", "all")
    if not isinstance(hosts, str) or not hosts.strip():
        raise bad(f"hosts pattern {shown(hosts)} must be a --limit style pattern string")
    if any(term.strip().lstrip("&!").startswith("~") for term in re.split(r"[,:]", hosts)):
        # A regex from the inventory is code the controller runs: one written to
        # backtrack (`~(a+)+$`) holds the run for ever (re has no timeout).
        raise bad(f"hosts pattern {shown(hosts)}: '~regex' is for --limit, not for a waiver "
                  "(use names, globs and groups)")
    if any(term.strip().startswith("@") for term in re.split(r"[,:]", hosts)):
        # --limit's @file reads a file on the controller: not for a pattern that comes
        # from the inventory
        raise bad(f"hosts pattern {shown(hosts)}: '@file' is for --limit, not for a waiver")
    for key in ("reason", "owner"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise bad(f"{key!r} must be text")
    return Waiver(check=check, hosts=hosts.strip(), reason=item["reason"].strip(),
                  owner=(item.get("owner") or "").strip(),
                  expires=_date(item["expires"], bad))


def _date(value, bad) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            # '2026-13-01' parses as a date but is none: say why
            detail = f": {exc}" if re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value) else ""
            raise bad(f"expires {shown(value)} is not a date (YYYY-MM-DD){detail}") from None
    raise bad(f"expires {shown(value)} is not a date (YYYY-MM-DD)")


def _matching_inventory(hosts: dict) -> Inventory:
    """An Inventory of the run's hosts and their groups, for the --limit matcher."""
    groups: dict[str, Group] = {}
    for entry in hosts.values():
        for group in entry.groups:
            groups.setdefault(group, Group(group))
    return Inventory(hosts=dict(hosts), groups=groups)


def _hosts_matching(inventory: Inventory, pattern: str) -> set[str]:
    try:
        return {h.name for h in limit_grammar.select(inventory, pattern)}
    except InventoryError as exc:
        if "selects no host" in exc.reason:
            return set()
        reason = exc.reason.replace(f"--limit {limit_grammar.quoted(pattern)}: ", "")
        raise InventoryError(f"{VAR}: hosts pattern {shown(pattern)}: {reason}") from None
