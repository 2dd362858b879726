"""What report.html shows of one record beside its raw JSON, and of one host.

- a record's evidence as rows of label / expected / actual / verdict, from its check's
  `compare=` declaration (fleetcheck.checkmeta), values written compactly (a list as
  `a, b, c and 12 more`); internal fields (sha256 sums, `_`-keys) and the advice stay
  out of the table, in the raw JSON;
- a record's plan as a list of actions in words (what runs, what is written, which
  service is started), its notes (refusal, error, backups, warnings); the diffs are
  the plan's own (`diffs`), rendered by fleet.js;
- a check's description: the first paragraph of its docstring, as the README's
  reference shows it (fleetcheck.catalogue);
- a host's summary (kernel, distribution, uptime: fleetcheck.facts.system) when the
  gathering got it.

The check's description and the host's summary travel to the controller on a test
report (`fleetcheck_check`, `fleetcheck_host`), once per check and host in each
process; results.json does not carry them (its records are unchanged).
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetcheck.catalogue import first_paragraph
from fleetcheck.facts.system import uptime_text

MAX_ITEMS = 8        # entries of a list or mapping shown before "and N more"
MAX_TEXT = 300       # characters of one value shown
MAX_ROWS = 16        # rows of one record's table
ABSENT = ""          # a side the record does not have (fleet.js shows a dash)


def internal(key: str) -> bool:
    """Evidence kept out of the table: checksums and `_`-prefixed keys."""
    return key.startswith("_") or "sha256" in key.lower()


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _more(shown: list[str], total: int) -> str:
    text = ", ".join(shown)
    return text + (f" and {total - len(shown)} more" if total > len(shown) else "")


def compact(value: Any, depth: int = 0) -> str:
    """A JSON value in a few words: `none`, `yes`/`no`, a list as `a, b and N more`,
    a mapping as `key: value, ...`, nested ones in parentheses; at most MAX_TEXT
    characters."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return _cut(value) if value else '""'
    if isinstance(value, dict):
        keys = [k for k in value if not internal(str(k))]
        if not keys:
            return "(empty)"
        parts = [f"{k}: {compact(value[k], depth + 1)}" for k in keys[:MAX_ITEMS]]
        text = _more(parts, len(keys))
    elif isinstance(value, (list, tuple)):
        if not value:
            return "(empty)"
        text = _more([compact(v, depth + 1) for v in value[:MAX_ITEMS]], len(value))
    else:
        return _cut(str(value))
    return _cut(f"({text})" if depth else text)


def _same(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    scalar = (str, int, float)
    return (isinstance(expected, scalar) and isinstance(actual, scalar)
            and not isinstance(expected, bool) and not isinstance(actual, bool)
            and str(expected) == str(actual))


def evidence_rows(evidence: dict[str, Any] | None, compare, outcome: str) -> list[list[str]]:
    """[label, expected, actual, verdict] rows of one record.

    A declared row (`compare`: (label, expected key, actual key) triples) whose keys
    the record holds comes first; its verdict is `as expected` when both sides are
    there and equal, else the record's outcome (a threshold is not met by equality:
    the check judged it, the row says how). Then the evidence the declaration does not
    name, under its own key, with the actual side only and no verdict (a RAID check's
    arrays by name). At most MAX_ROWS rows; the last says how many more the raw JSON
    has."""
    evidence = evidence or {}
    rows: list[list[str]] = []
    used = {"advice"}
    for label, exp_key, act_key in compare or ():
        used.update(k for k in (exp_key, act_key) if k)
        has_exp = exp_key is not None and exp_key in evidence
        has_act = act_key is not None and act_key in evidence
        if not (has_exp or has_act):
            continue   # this record's path wrote neither (skipped before it got there)
        expected = compact(evidence[exp_key]) if has_exp else ABSENT
        actual = compact(evidence[act_key]) if has_act else ABSENT
        verdict = ("as expected" if has_exp and has_act
                   and _same(evidence[exp_key], evidence[act_key]) else outcome)
        rows.append([label, expected, actual, verdict])
    rest = [k for k in evidence if k not in used and not internal(k)]
    for key in rest:
        rows.append([key, ABSENT, compact(evidence[key]), ""])
    if len(rows) > MAX_ROWS:
        hidden = len(rows) - (MAX_ROWS - 1)
        rows = rows[: MAX_ROWS - 1] + [[f"{hidden} more", ABSENT,
                                        "in the raw evidence below", ""]]
    return rows


def _action_words(action: dict[str, Any]) -> str:
    kind = action.get("kind")
    if kind == "RunCommand":
        ok = action.get("ok") or [0]
        return (f"runs {action.get('command', '')}"
                + ("" if list(ok) == [0] else f" (exit {', '.join(map(str, ok))} is success)"))
    if kind == "WriteFile":
        return f"writes {action.get('path', '')}"
    if kind == "Service":
        return f"{action.get('operation', '')} service {action.get('service', '')}"
    return ", ".join(f"{k}: {compact(v)}" for k, v in action.items()
                     if k not in ("kind", "summary") and not internal(k))


def plan_view(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record's plan in words: status, summary, [summary, what it does] per action
    and per after-rollback action, notes (error, refusal, backups, warnings)."""
    if not plan:
        return None
    def actions(key: str) -> list[list[str]]:
        return [[str(a.get("summary", "")), _action_words(a)] if isinstance(a, dict)
                else [str(a), ""] for a in plan.get(key) or []]
    notes = []
    if plan.get("target"):
        notes.append(f"changes host {plan['target']}")
    if plan.get("error"):
        notes.append(f"error: {plan['error']}")
    for key, what in (("backups", "backed up"), ("pruned_backups", "old backups pruned"),
                      ("warnings", "warning")):
        values = plan.get(key)
        if values:
            notes.append(f"{what}: {compact(values)}")
    return {"status": plan.get("status") or "", "summary": plan.get("summary") or "",
            "actions": actions("actions"), "on_rollback": actions("on_rollback"),
            "notes": notes}


def check_info(meta, function) -> dict[str, Any]:
    """What the page says of a check once, whatever its records: its description and
    what its evidence table compares."""
    return {"description": first_paragraph(function) if function is not None else "",
            "compare": [list(row) for row in meta.compare] if meta.compare else None}


def host_summary(host) -> dict[str, Any] | None:
    """A reached host's kernel, distribution and uptime, if the gathering got them."""
    facts = getattr(host, "facts", None)
    peek = getattr(facts, "peek", None)
    found = peek("system") if peek is not None else None
    if found is None:
        return None
    return {"kernel": found.kernel, "distribution": found.distribution or "",
            "uptime": uptime_text(found.uptime_seconds),
            "uptime_seconds": found.uptime_seconds}


# -- to the controller, once per check and host in each process ------------------------

_SENT_KEY = pytest.StashKey[tuple[set, set]]()


def tell_controller(report, item, meta, host) -> None:
    """Put on `report` what the page needs of this record's check and host that no
    earlier report of this process carried: `fleetcheck_check` (check_info) and
    `fleetcheck_host` (host_summary, once the gathering has it)."""
    checks, hosts = item.config.stash.setdefault(_SENT_KEY, (set(), set()))
    if meta.check_id not in checks:
        checks.add(meta.check_id)
        report.fleetcheck_check = dict(check_info(meta, getattr(item, "function", None)),
                                       check_id=meta.check_id)
    if host is not None and host.name not in hosts:
        summary = host_summary(host)
        if summary is not None:
            hosts.add(host.name)
            report.fleetcheck_host = dict(summary, host=host.name)


def heard(state, report) -> None:
    """Controller: keep what tell_controller put on a report (fleetcheck.state)."""
    check = getattr(report, "fleetcheck_check", None)
    if isinstance(check, dict) and check.get("check_id"):
        state.checks[check["check_id"]] = check
    host = getattr(report, "fleetcheck_host", None)
    if isinstance(host, dict) and host.get("host"):
        state.host_facts[host["host"]] = host
