"""pytest-html: host, check id, severity and outcome columns, read from the records."""

from __future__ import annotations

from html import escape

from fleetcheck.state import FleetRun

COLUMNS = ("host", "check_id", "severity", "outcome")
HEADERS = {"host": "Host", "check_id": "Check", "severity": "Severity", "outcome": "Outcome"}


class HtmlColumns:
    def __init__(self, state: FleetRun):
        self.state = state

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for i, col in enumerate(COLUMNS, start=1):
            cells.insert(i, f'<th class="sortable" data-column-type="{col}">'
                            f"{HEADERS[col]}</th>")

    def pytest_html_results_table_row(self, report, cells: list[str]) -> None:
        record = self.state.records.get(report.nodeid)
        values = record.to_json() if record is not None else {}
        for i, col in enumerate(COLUMNS, start=1):
            text = escape(str(values.get(col, "")), quote=True)
            cells.insert(i, f'<td class="col-{col}">{text}</td>')
