"""pytest-html: the fleet section of report.html, and safe columns in its own table.

pytest-html 4 stays the base (one self-contained file, its table of every test with
logs). This module adds, through pytest-html's hooks:

- host, check id, severity and outcome columns in pytest-html's table, and the test id
  cell escaped (pytest-html puts the nodeid in that cell as HTML);
- at the top, before anything else: the findings first (fleetcheck.report.summary: the
  verdict, the compliance scores, the failing findings grouped by severity and check),
  plain HTML that reads with JavaScript off;
- then (pytest_html_results_summary "prefix"): the fleet section, i.e. the run's
  metadata, totals by outcome and severity, the gate, waivers, the change since the
  previous run, a host x area grid and a filterable, paged table of every record with
  its evidence, plan/diff and waiver. Its data is one JSON document in a
  `<script type="application/json">` element (every '<', '>' and '&' written as a
  \\u escape, so no host value can close the element) and the page builds the DOM with
  textContent only: a value from a host is never parsed as HTML.

The table shows PAGE rows at a time, so 10,000 records cost one JSON.parse and a
filter is one pass over an array.
"""

from __future__ import annotations

import json
import time
from html import escape
from importlib import resources

import pytest

from fleetcheck.report import details, summary
from fleetcheck.report.records import OUTCOMES, SEVERITIES
from fleetcheck.state import FleetRun

COLUMNS = ("host", "check_id", "severity", "outcome")
HEADERS = {"host": "Host", "check_id": "Check", "severity": "Severity", "outcome": "Outcome"}
# Worst first: the grid colours a cell by the worst outcome among its records.
WORST_FIRST = ("unreachable", "error", "failed", "would-fix", "waived", "fixed",
               "not-applicable", "passed")
TEST_ID_CELL = '<td class="col-testId">'
# Above this many test items, pytest-html's own table (which renders every row when the
# page opens: ~12 s for 10,000 rows in chromium) keeps only the records that are not
# passed or not-applicable; the fleet section above it always has every record.
FULL_TABLE_LIMIT = 2000
QUIET_OUTCOMES = frozenset({"passed", "not-applicable"})


class HtmlColumns:
    def __init__(self, state: FleetRun):
        self.state = state
        self.items = 0

    def pytest_collection_finish(self, session) -> None:
        self.items = max(self.items, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.items = max(self.items, len(ids))

    @property
    def trimmed(self) -> bool:
        return self.items > FULL_TABLE_LIMIT

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for i, col in enumerate(COLUMNS, start=1):
            cells.insert(i, f'<th class="sortable" data-column-type="{col}">'
                            f"{HEADERS[col]}</th>")

    def pytest_html_results_table_row(self, report, cells: list[str]) -> None:
        for i, cell in enumerate(cells):
            if cell.startswith(TEST_ID_CELL) and cell.endswith("</td>"):
                inner = cell[len(TEST_ID_CELL):-len("</td>")]
                cells[i] = TEST_ID_CELL + escape(inner, quote=True) + "</td>"
        record = self.state.records.get(report.nodeid)
        if self.trimmed and record is not None and record.outcome in QUIET_OUTCOMES:
            cells.clear()  # pytest-html leaves a row out when its cells are emptied
            return
        values = record.to_json() if record is not None else {}
        for i, col in enumerate(COLUMNS, start=1):
            text = escape(str(values.get(col, "")), quote=True)
            cells.insert(i, f'<td class="col-{col}">{text}</td>')

    def pytest_html_report_title(self, report) -> None:
        report.title = "fleetcheck compliance report"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session) -> None:
        """pytest-html's Environment block describes the run, not the controller's
        Python packages and plugins (it renders the report after this hook)."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        meta = self.state.metadata()
        stash = session.config.stash
        if metadata_key not in stash:
            return
        stash[metadata_key].clear()
        stash[metadata_key].update(environment(meta, len(self.state.hosts)))

    def pytest_html_results_summary(self, prefix: list[str], summary, postfix,
                                    session) -> None:
        prefix.append(render_section(self.state, self.trimmed))


def environment(meta: dict, hosts: int) -> dict[str, str]:
    """The Environment block's rows: what was audited, how, by whom, with what."""
    import platform

    return {
        "Run": str(meta.get("run_id") or ""),
        "Inventory": ", ".join(meta.get("inventory") or []) or "(--hosts)",
        "Hosts": str(hosts),
        "Limit": str(meta.get("limit") or "(all)"),
        "Remediate": str(meta.get("remediate") or "off"),
        "Started by": str(meta.get("user") or ""),
        "fleetcheck": str(meta.get("fleetcheck_version") or ""),
        "Controller": f"{platform.node()} (Python {platform.python_version()})",
    }


def section_data(state: FleetRun, trimmed: bool = False) -> dict:
    records = sorted(state.records.values(), key=lambda r: (r.host, r.check_id, r.item or ""))
    order = {name: i for i, name in enumerate(state.hosts)}
    hosts = sorted({r.host for r in records}, key=lambda h: (order.get(h, len(order)), h))
    meta = state.metadata()
    return {
        "outcomes": list(OUTCOMES),
        "worst_first": list(WORST_FIRST),
        "severities": list(SEVERITIES),
        "hosts": hosts,
        "areas": sorted({r.area for r in records}),
        "meta": {
            "run": meta.get("run_id"),
            "started": meta.get("started"),
            "user": meta.get("user"),
            "inventory": ", ".join(meta.get("inventory") or []) or "(--hosts)",
            "limit": meta.get("limit") or "",
            "remediate": meta.get("remediate") or "off",
            "fail_on": (meta.get("gate") or {}).get("fail_on", "any"),
            "duration": round(time.time() - state.started, 1),
            "version": meta.get("fleetcheck_version"),
            "hosts": len(state.hosts),
            "records": len(records),
            "where": " AND ".join(meta.get("where") or []),
            "offline": (", ".join(meta.get("offline") or [])
                        + (" (audited: --include-offline)" if meta.get("include_offline")
                           and meta.get("offline") else "")),
        },
        "inventory_notes": meta.get("inventory_notes") or [],
        # "INCOMPLETE RUN: ..." at the top of the page, or None (report.completeness)
        "incomplete": state.run_status.banner() if state.run_status is not None else None,
        "connections": meta.get("connections") or {},
        "trimmed": trimmed,
        "gate": meta.get("gate"),
        "waivers": meta.get("waivers"),
        "history": meta.get("history"),
        # check id -> its description and compare= rows; host -> kernel, distribution,
        # uptime (fleetcheck.report.details)
        "checks": {c: {"description": info.get("description") or ""}
                   for c, info in state.checks.items()},
        "host_facts": {h: {k: v for k, v in info.items() if k != "host"}
                       for h, info in state.host_facts.items()},
        "records": [record_data(r, state.checks.get(r.check_id)) for r in records],
    }


def record_data(r, check: dict | None) -> dict:
    """One record as fleet.js reads it: the raw evidence and plan (e, p: the page's
    "raw JSON"), and what it shows of them (x: evidence rows label / expected / actual
    / verdict, pv: the plan in words, adv: the advice)."""
    evidence = r.evidence or None
    data = {
        "h": r.host, "c": r.check_id, "a": r.area, "i": r.item or "", "t": r.title,
        "s": r.severity, "o": r.outcome, "m": r.message, "d": r.duration,
        "e": evidence, "p": r.plan, "w": r.waiver,
    }
    if evidence:   # (left out when empty: 10,000 records are one JSON.parse)
        data["x"] = details.evidence_rows(evidence, (check or {}).get("compare"), r.outcome)
        if evidence.get("advice"):
            data["adv"] = evidence["advice"]
    if r.plan:
        data["pv"] = details.plan_view(r.plan)
    return data


def script_json(data) -> str:
    """JSON that is inert inside <script>: no '<', '>' or '&' characters at all."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def asset(name: str) -> str:
    return (resources.files("fleetcheck") / "data" / name).read_text(encoding="utf-8")


def render_section(state: FleetRun, trimmed: bool = False) -> str:
    records = sorted(state.records.values(), key=lambda r: (r.host, r.check_id, r.item or ""))
    return (
        f"<style>{asset('fleet.css')}</style>"
        + summary.of_run(records, list(state.hosts), state.metadata().get("gate")) +
        '<section id="fleetcheck" class="fleetcheck"><noscript>The fleet section needs '
        "JavaScript; results.json has the same records.</noscript></section>"
        f'<script type="application/json" id="fleetcheck-data">{script_json(section_data(state, trimmed))}</script>'
        f"<script>{asset('fleet.js')}</script>"
    )
