"""pytest-html: the fleet section of report.html, and safe columns in its own table.

pytest-html 4 stays the base (one self-contained file, its table of every test with
logs). This module adds, through pytest-html's hooks:

- host, check id, severity and outcome columns in pytest-html's table, and the test id
  cell escaped (pytest-html puts the nodeid in that cell as HTML);
- at the top, before anything else: the findings first (fleetcheck.report.summary: the
  verdict the gate decided, the compliance scores, the trend over the earlier runs of
  the same inventory and selection (fleetcheck.report.trend, drawn as inline SVG by
  fleetcheck.report.charts) and a sparkline per host, the failing findings grouped by
  severity and check), plain HTML that reads with JavaScript off;
- then (pytest_html_results_summary "prefix"): the fleet section, i.e. the run's
  metadata, totals by outcome and severity, the gate, waivers, the change since the
  previous run, a host x area grid and a filterable, paged table of every record with
  its evidence, plan/diff and waiver. Its data is one JSON document in a
  `<script type="application/json">` element (every '<', '>' and '&' written as a
  \\u escape, so no host value can close the element) and the page builds the DOM with
  textContent only: a value from a host is never parsed as HTML.

pytest-html's own parts are kept, not removed, and collapsed into one "pytest details"
section at the bottom (`pytest_details`, the "postfix" of pytest_html_results_summary):
its table is the only place in report.html for what has no record (a collection error,
a plain test) and for each test's captured output and log. Its Environment block said
again what the fleet section's metadata says; its rows are in the pytest details
section, written here (pytest-html's own block, drawn by its JavaScript at the top, is
hidden by fleet.css). pytest-html's run count, filters and table are moved into the
section by page.js (moving its existing nodes before pytest-html's script draws the
table); with JavaScript off they would not work, and fleet.css hides them, so the
fleetcheck summary comes first either way. The counts are made to agree where they can:

- a record whose outcome is `error` is an Error in pytest-html's table (pytest calls an
  exception in a check's call a failure), and pytest-html's counts are counted again
  from its table's rows (`recount`), so its Failed and Errors are fleetcheck's failed
  and error;
- where they cannot (pytest has no would-fix, waived, fixed or unreachable: those are
  pytest's Failed, Passed, Passed and Failed or Errors), pytest-html's result column
  is headed "pytest" beside fleetcheck's "fleetcheck outcome", and the section says
  pytest's counts as pytest's test outcomes with fleetcheck's record counts beside them;
- a record's log in pytest-html's table starts with its fleetcheck line (outcome,
  severity, check, host, message); pytest's longrepr is left out where it only repeats
  that message (a finding, an unreachable host) or is a skip's (file, line, reason)
  tuple; an error's traceback stays, labelled as pytest's.

The table shows PAGE rows at a time, so 10,000 records cost one JSON.parse and a
filter is one pass over an array.
"""

from __future__ import annotations

import json
import time
from html import escape
from importlib import resources

import pytest

from fleetcheck.report import details, gate, summary, trend
from fleetcheck.report.records import OUTCOMES, SEVERITIES, WORST_FIRST
from fleetcheck.state import FleetRun

COLUMNS = ("host", "check_id", "severity", "outcome")
HEADERS = {"host": "Host", "check_id": "Check", "severity": "Severity", "outcome": "fleetcheck outcome"}
TEST_ID_CELL = '<td class="col-testId">'
# Above this many test items, pytest-html's own table (which renders every row when the
# page opens: ~12 s for 10,000 rows in chromium) keeps only the records that are not
# passed or not-applicable; the fleet section above it always has every record.
FULL_TABLE_LIMIT = 2000
QUIET_OUTCOMES = frozenset({"passed", "not-applicable"})
# pytest-html's result cell of a failed test whose record says error.
RESULT_CELL = '<td class="col-result">'
# A record's log keeps pytest's longrepr unless it only repeats the record's message.
TERSE_LOG = frozenset({"not-applicable", "unreachable"})


class HtmlColumns:
    def __init__(self, state: FleetRun):
        self.state = state
        self.items = 0
        self.html_report = None   # pytest-html's ReportData (pytest_html_report_title)

    def pytest_collection_finish(self, session) -> None:
        self.items = max(self.items, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.items = max(self.items, len(ids))

    @property
    def trimmed(self) -> bool:
        return self.items > FULL_TABLE_LIMIT

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        if cells and ">Result</th>" in cells[0]:
            cells[0] = cells[0].replace(">Result</th>", ">pytest</th>")  # pytest's outcome
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
        if record is not None and record.outcome == "error" and report.failed \
                and cells and cells[0].startswith(RESULT_CELL):
            cells[0] = RESULT_CELL + "Error</td>"
        values = record.to_json() if record is not None else {}
        for i, col in enumerate(COLUMNS, start=1):
            text = escape(str(values.get(col, "")), quote=True)
            cells.insert(i, f'<td class="col-{col}">{text}</td>')

    def pytest_html_results_table_html(self, report, data: list[str]) -> None:
        """A record's log: its fleetcheck line first (see the module's docstring)."""
        record = self.state.records.get(report.nodeid)
        if record is None:
            return
        line = (f"fleetcheck: {record.outcome} [{record.severity}] {record.check_id} on "
                f"{record.host}" + (f" [{record.item}]" if record.item else "")
                + (f": {record.message}" if record.message else ""))
        longrepr = report.longreprtext
        rest = data[1:] if longrepr and data else list(data)
        rest = [part for part in rest if part != "No log output captured."]
        keep = (longrepr and not report.skipped and record.outcome not in TERSE_LOG
                and longrepr.strip() != record.message.strip())
        data[:] = [escape(line) + "\n"] + (
            [f"{' pytest: ' + report.when + ' ':-^80}\n" + data[0]] if keep and data else []
        ) + rest

    def pytest_html_report_title(self, report) -> None:
        report.title = "fleetcheck compliance report"
        self.html_report = report

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
        meta = self.state.metadata()
        prefix.append(render_section(self.state, self.trimmed, meta))
        postfix.append(pytest_details(self.state, recount(self.html_report), meta,
                                      self.trimmed))


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


def section_data(state: FleetRun, trimmed: bool = False, meta: dict | None = None) -> dict:
    records = sorted(state.records.values(), key=lambda r: (r.host, r.check_id, r.item or ""))
    order = {name: i for i, name in enumerate(state.hosts)}
    hosts = sorted({r.host for r in records}, key=lambda h: (order.get(h, len(order)), h))
    meta = state.metadata() if meta is None else meta
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


def run_history(state: FleetRun, meta: dict) -> trend.History | None:
    """The earlier runs of this inventory and selection, for the summary's pictures."""
    if state.reports_dir is None:
        return None
    records = list(state.records.values())
    return trend.read(state.reports_dir.parent, state.run_id, meta,
                      meta.get("tally") or trend.tally(records))


def render_section(state: FleetRun, trimmed: bool = False, meta: dict | None = None) -> str:
    records = sorted(state.records.values(), key=lambda r: (r.host, r.check_id, r.item or ""))
    meta = state.metadata() if meta is None else meta   # once: the summary and the data
    # The gate decided once, at the end of the run (report.wiring); a state without a
    # verdict (its end hooks never ran) is judged as the gate's default: any finding.
    verdict = state.verdict if state.verdict is not None else gate.decide(records)
    return (
        f"<style>{asset('fleet.css')}</style>"
        + summary.of_run(records, list(state.hosts), verdict, run_history(state, meta),
                         state.checks) +
        '<section id="fleetcheck" class="fleetcheck"><noscript>The fleet section needs '
        "JavaScript; results.json has the same records.</noscript></section>"
        f'<script type="application/json" id="fleetcheck-data">'
        f"{script_json(section_data(state, trimmed, meta))}</script>"
        f"<script>{asset('fleet.js')}</script>"
    )


def recount(report_data) -> dict[str, int] | None:
    """pytest-html's counts, counted again from its table's rows (a row's result is its
    result cell, which pytest_html_results_table_row may have made an Error): label ->
    count. None, and nothing changed, when pytest-html's data is not as 4.x keeps it."""
    outcomes = getattr(report_data, "outcomes", None)
    tests = (getattr(report_data, "data", None) or {}).get("tests") \
        if report_data is not None else None
    if not isinstance(outcomes, dict) or not isinstance(tests, dict) or not all(
            isinstance(v, dict) and "value" in v for v in outcomes.values()):
        return None
    counted = dict.fromkeys(outcomes, 0)
    for rows in tests.values():
        for row in rows:
            result = str(row.get("result", "")).lower() if isinstance(row, dict) else ""
            if result in counted:
                counted[result] += 1
    for key, n in counted.items():
        outcomes[key]["value"] = n
    return {str(outcomes[key].get("label", key)): n for key, n in counted.items()}


def pytest_details(state: FleetRun, pytest_counts: dict[str, int] | None,
                   meta: dict, trimmed: bool = False) -> str:
    """The "pytest details" section at the bottom of the page (see the module's
    docstring): pytest's counts beside fleetcheck's, the Environment rows, and the box
    page.js moves pytest-html's filters and table into."""
    ours = gate.counts(list(state.records.values()))
    fleet = ", ".join(f"{n} {o}" for o, n in ours.items() if n) or "none"
    if pytest_counts is not None:
        theirs = ", ".join(f"{n} {label}" for label, n in pytest_counts.items() if n) or "none"
        said = f"pytest's test outcomes: {theirs}" + (
            f" (more than {FULL_TABLE_LIMIT} tests: its table and counts have only the "
            "tests whose records are not passed or not-applicable)" if trimmed else "") + ". "
    else:
        said = "pytest's test outcomes: the filters below. "
    text = (said + f"fleetcheck's records: {fleet}. pytest's Failed are fleetcheck's "
            "failed, would-fix and, for an unreachable host, unreachable; its Errors are "
            "fleetcheck's error (and an unreachable host found in a test's setup); "
            "waived and fixed are pytest passes, not-applicable its skips. A test that is "
            "not a check (a plain test, a collection error) is pytest's alone.")
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
                   for k, v in environment(meta, len(state.hosts)).items())
    return ('<details id="fc-pytest" class="fc-pytest"><summary>pytest details: '
            "pytest's own test outcomes, logs and environment</summary>"
            f'<p id="fc-pytest-counts">{escape(text)}</p>'
            f'<table id="fc-pytest-environment" class="fc-scores">{rows}</table>'
            '<div id="fc-pytest-body"></div><noscript>pytest-html\'s table of tests needs '
            "JavaScript; junit.xml has the same tests.</noscript></details>"
            f"<script>{asset('page.js')}</script>")
