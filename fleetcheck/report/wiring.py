"""pytest glue for the reports of issue 6: waivers on the reports, the gate on the exit
code, and the outputs written at the end of a run (Prometheus, SARIF, Nagios, history).

The logic is in waivers.py, gate.py, history.py, nagios.py, prometheus.py, sarif.py;
these classes only connect it to hooks. The plugin registers WaiverHooks in every
process (the records are made where the test runs) and RunReports on the controller.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from fleetcheck.report import (
    completeness,
    gate,
    guarded,
    history,
    nagios,
    prometheus,
    sarif,
    trend,
)
from fleetcheck.report.results import write_atomic, write_json_atomic
from fleetcheck.report.waivers import WaiverBook
from fleetcheck.state import FleetRun


class WaiverHooks:
    """Turns a waived failure into a pass with outcome `waived` (every process)."""

    def __init__(self, book: WaiverBook):
        self.book = book

    # tryfirst makes this the OUTER wrapper of pytest_runtest_makereport: the code after
    # `yield` runs after fleetcheck.plugin's wrapper has built the record, so the waiver
    # sees the final outcome and severity. The report itself is changed (not only the
    # record) so pytest's own count, exit status, JUnit and pytest-html agree: a waived
    # failure is a passed test whose record outcome is `waived` (the failure text is
    # kept as a report section).
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        data = getattr(report, "fleetcheck", None)
        if data is None or not report.failed:
            return report
        before = data["outcome"]
        self.book.apply(data)
        if data["outcome"] == "waived":
            waiver = data["waiver"]
            report.sections.append((
                f"fleetcheck: {before} finding waived until {waiver['expires']} "
                f"({waiver['owner'] or 'no owner'}): {waiver['reason']}",
                report.longreprtext))
            report.outcome = "passed"
            report.longrepr = None
            item.user_properties[:] = [(k, "waived" if k == "outcome" else v)
                                       for k, v in item.user_properties]
            if report.when == "teardown":
                report.user_properties = list(item.user_properties)
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config):
        data = getattr(report, "fleetcheck", None)
        if data and data["outcome"] == "waived":
            return "waived", "w", ("WAIVED", {"yellow": True})
        return None


class RunReports:
    """Controller only: gate, history, waiver summary and the monitoring outputs."""

    def __init__(self, config: pytest.Config, state: FleetRun, book: WaiverBook):
        self.config = config
        self.state = state
        self.book = book
        opt = config.option
        self.fail_on = opt.fleet_fail_on
        self.allow_unreachable = opt.fleet_allow_unreachable
        self.prometheus_path = opt.fleet_prometheus
        self.sarif_path = opt.fleet_sarif
        self.nagios = bool(getattr(opt, "nagios", False))
        self.nagios_out = None
        self.other_failures = 0   # failed reports that carry no record (plain tests, collection)
        self.verdict: gate.Verdict | None = None
        self.change: history.Change | None = None
        self.stale = []
        self.progress = completeness.Progress()
        self.status: completeness.RunStatus | None = None
        self.prometheus_kept = False   # --prometheus left as it was (incomplete run)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        guarded.guard(self.config, self.state)
        # pytest-testinfra owns --nagios: when it is set, its pytest_configure sends the
        # terminal output to a spooled file and registers "nagiosreporter", whose
        # sessionfinish prints "TESTINFRA OK|CRITICAL" from pytest's pass/fail counts.
        # fleetcheck's status comes from the records (waivers, severities, the gate), so
        # we take the spooled file over and unregister testinfra's reporter here (after
        # every pytest_configure has run): only the FLEETCHECK line is printed.
        if not self.nagios:
            return
        pm = self.config.pluginmanager
        theirs = pm.getplugin("nagiosreporter")
        if theirs is not None:
            self.nagios_out = getattr(theirs, "out", None)
            pm.unregister(theirs)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and getattr(report, "fleetcheck", None) is None:
            self.other_failures += 1
        if report.when == "teardown":
            self.progress.ran.add(report.nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.progress.selected = max(self.progress.selected, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.progress.selected = max(self.progress.selected, len(ids))

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.progress.keyboard_interrupt = True

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.other_failures += 1

    def records(self):
        collector = self.config.pluginmanager.getplugin("fleetcheck-records")
        return collector.sorted_records() if collector is not None else []

    # Outermost sessionfinish: before `yield`, decide and write everything the other
    # sessionfinish hooks read (results.json by RecordCollector, report.html by
    # pytest-html); after it, print the Nagios line once the terminal summary is done.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus):
        self._finish(session)
        result = yield
        self._report_exit(session)
        if self.nagios:
            self._print_nagios(session)
        return result

    def _report_exit(self, session: pytest.Session) -> None:
        """A run whose reports are incomplete does not pass: exit 0 becomes 3."""
        if self.state.report_problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _say_report_problems(self, terminalreporter) -> None:
        for problem in self.state.report_problems:
            terminalreporter.write_line(f"ERROR: reports incomplete: {problem}",
                                        red=True, bold=True)

    def _say_incomplete(self, terminalreporter) -> None:
        """One line: why the run is incomplete and what that did to the outputs."""
        status = self.status
        if status is None or status.complete:
            return
        said = [status.banner()]
        if not status.moves_latest:
            said.append(f"its reports: {_shown(self.state.reports_dir)}/, "
                        f"{_shown(self.state.reports_dir.parent / 'latest')} not moved")
        if self.prometheus_kept:
            said.append(f"--prometheus {self.prometheus_path} left as it was")
        if self.book.waivers:
            said.append("stale waivers not judged")
        terminalreporter.write_line("; ".join(said),
                                    red=not status.ran_to_end, yellow=status.ran_to_end,
                                    bold=True)

    def _finish(self, session: pytest.Session) -> None:
        state = self.state
        records = self.records()
        self.verdict = verdict = gate.decide(records, self.fail_on, self.allow_unreachable)
        state.verdict = verdict
        self.status = status = completeness.decide(self.config, session, self.progress, state)
        state.run_status = status
        state.summary.update(status.to_json())
        # A subset or a run cut short lacks records a waiver may be for.
        self.stale = self.book.stale(records) if status.complete else []
        expired = {tuple(sorted(r.waiver.items())) for r in records
                   if r.waiver and r.waiver.get("expired")}
        meta = state.metadata()
        reports_root = state.reports_dir.parent
        self.change = history.since_previous(reports_root, state.run_id, meta, records,
                                             common_only=not status.complete)
        state.summary.update({
            "gate": verdict.to_json(),
            "waivers": {
                "declared": [w.to_json() for w in self.book.waivers],
                "stale": [w.to_json() for w in self.stale],
                "stale_judged": status.complete,
                "expired_matching": [dict(t) for t in sorted(expired)],
            },
            "history": self.change.to_json(),
            # per severity and per host, for the next runs' pictures (report.trend)
            "tally": trend.tally(records),
        })
        duration = time.time() - state.started
        if self.prometheus_path and not status.complete:
            self.prometheus_kept = True  # the alerts keep what the last complete run said
        elif self.prometheus_path:
            try:
                write_atomic(Path(self.prometheus_path), prometheus.render(
                    records, verdict, state.started, duration))
            except OSError as exc:
                state.report_failed(f"--prometheus {self.prometheus_path}", exc)
        if self.sarif_path:
            from fleetcheck import __version__

            try:
                write_json_atomic(Path(self.sarif_path), sarif.build(
                    records, __version__, state.run_id,
                    incomplete=None if status.complete else status.describe(),
                    hosts=sarif.inventory_lines(state.hosts, Path.cwd())))
            except OSError as exc:
                state.report_failed(f"--sarif {self.sarif_path}", exc)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            failed = verdict.failing or self.other_failures
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK
            if not status.ran_to_end and self.progress.selected \
                    and not self.config.option.collectonly:
                session.exitstatus = pytest.ExitCode.INTERRUPTED   # -x, --maxfail

    def _print_nagios(self, session: pytest.Session) -> None:
        """The status line: UNKNOWN for every incomplete run (a subset too, saying
        what it found), else the verdict's; test errors beside an OK are UNKNOWN."""
        hosts = len(self.state.hosts)
        status = self.status
        if not status.ran_to_end:
            code, line = nagios.incomplete_line(self.verdict, hosts, status.describe())
        elif session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            code, line = nagios.incomplete_line(
                self.verdict, hosts, f"pytest exit {int(session.exitstatus)}")
        elif not status.complete:  # a subset: what it found, but not the fleet's state
            code, line = nagios.incomplete_line(self.verdict, hosts, status.describe(),
                                                found=True)
        else:
            code, line = nagios.status_line(self.verdict, hosts)
            if self.other_failures and code == nagios.OK:
                code, line = nagios.UNKNOWN, line.replace(
                    "FLEETCHECK OK", f"FLEETCHECK UNKNOWN - {self.other_failures} test errors;", 1)
        # pytest's own output (spooled by testinfra's --nagios) goes to stderr: a
        # plugin's stdout is its status line and long output only
        if self.nagios_out is not None:
            self.nagios_out.seek(0)
            sys.stderr.flush()
            shutil.copyfileobj(self.nagios_out, sys.stderr.buffer)
            sys.stderr.flush()
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        session.exitstatus = code

    @pytest.hookimpl(trylast=True)  # after the per-host summary of RecordCollector
    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:
        self._say_report_problems(terminalreporter)
        self._say_incomplete(terminalreporter)
        if self.verdict is None or not self.state.records:
            return
        tr = terminalreporter
        verdict = self.verdict
        tr.write_line("fleetcheck " + verdict.describe(), red=bool(verdict.failing),
                      green=not verdict.failing)
        for rec in verdict.tolerated[:20]:
            tr.write_line(f"  tolerated: {rec.host} {rec.check_id} [{rec.severity}] "
                          f"{rec.outcome}")
        waived = [r for r in self.state.records.values() if r.outcome == "waived"]
        if waived:
            tr.write_line(f"fleetcheck waivers: {len(waived)} findings waived")
        for rec in self.state.records.values():
            if rec.waiver and rec.waiver.get("expired"):
                tr.write_line(f"  expired waiver (no longer applies): {rec.host} "
                              f"{rec.check_id}, expired {rec.waiver['expires']}", yellow=True)
        for waiver in self.stale:
            tr.write_line(f"  stale waiver (matches nothing): check {waiver.check!r} "
                          f"hosts {waiver.hosts!r}", yellow=True)
        change = self.change
        tr.write_line("fleetcheck " + change.describe())
        for label, recs in (("new failure", change.new_failures),
                            ("resolved", change.resolved)):
            for rec in recs[:20]:
                tr.write_line(f"  {label}: {rec.host} {rec.check_id} "
                              f"[{rec.severity}] {rec.outcome}",
                              red=label == "new failure", green=label == "resolved")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
