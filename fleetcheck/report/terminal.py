"""The terminal's account of a run: what pytest keeps of a check's failure, and the
fleetcheck summary at the end.

A failed check is a finding, not a bug: its record's one-line message says it all
(the check put the compared values in its evidence). So, unless the user asks for
pytest's own traceback (--fleet-tracebacks, an explicit --tb or --fulltrace):

- a failed check's report carries that one line as its longrepr (so `-rf`, JUnit and
  report.html say the reason) and it gets no block in pytest's FAILURES section: the
  summary below has it, one line per finding;
- a fact that could not be gathered (FactError: the host's command failed or timed
  out) is said the same way: its message names the command and what it said;
- any other exception in a check or a fact parser is a bug: its report keeps a short
  traceback (pytest's --tb=short) in FAILURES or ERRORS;
- users' own testinfra tests (fleetcheck.usertests) keep pytest's output as it is.

The summary (`summary_lines`, pure: records in, lines out) is a verdict line, then each
host in inventory order with its counts and, below, its findings sorted by severity
then check id, one line each:

    web1  2 failed, 1 error, 9 passed
      [high] sshd.baseline[PermitRootLogin]  PermitRootLogin is yes, expected no

An unreachable host is one line with the reason. A host without findings is one short
line; more than CLEAN_HOSTS_LISTED of them are one line for all naming the first few
(-v lists each), so a clean fleet of 1000 hosts is not 1000 lines.

While the checks run, the terminal has fleetcheck's progress line
(fleetcheck.report.progress): on a terminal at the default verbosity it *replaces*
pytest's dots and percentage rather than sharing the line with them (two writers of one
line fight over the cursor, and at 1000 hosts the dots are hundreds of lines of
interleaved files), the way pytest-xdist's "[gw0] ..." status line owns its line: `\r`
and spaces, no escape sequence, finished before anything else is written (a
write_line of anyone's starts a new line below it), erased before this summary. Off
the terminal, and with -q, -v, -s, TERM=dumb, pytest's output is untouched; its
docstring says why each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fleetcheck.facts.base import FactError
from fleetcheck.report.records import BAD_OUTCOMES, Record, severity_rank

# How a host's counts are said: what needs a look first.
COUNT_ORDER = ("failed", "would-fix", "error", "unreachable", "fixed", "waived", "passed",
               "not-applicable")
FINDINGS = ("failed", "would-fix", "error")          # report.gate.FINDINGS, in order
LISTED = frozenset(FINDINGS) | {"fixed"}              # one line each under their host
CLEAN_HOSTS_LISTED = 10   # at most this many clean hosts get a line each (-v: all)
CLEAN_NAMES_SHOWN = 5     # the names on the one line of many clean hosts
HOST_COLUMN = 30          # host names are padded to the longest, up to this
TERSE_KEY = "fleetcheck_terse"   # a report attribute: said by its one line, no FAILURES block


@dataclass(frozen=True)
class Line:
    text: str
    markup: dict[str, bool] = field(default_factory=dict)


# -- what pytest keeps of a check's failure --------------------------------------------

def wants_pytest_traceback(config: pytest.Config) -> bool:
    """The user asked for pytest's own traceback: --fleet-tracebacks, --tb given (its
    default is "auto", which nobody needs to give) or --fulltrace."""
    return (bool(getattr(config.option, "fleet_tracebacks", False))
            or config.option.tbstyle != "auto" or bool(config.option.fulltrace))


def shape_failure(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport,
                  outcome: str, message: str) -> None:
    """A failed report of a check (not a user's test), its record made: a finding or a
    FactError becomes its one-line message, any other exception a short traceback."""
    if wants_pytest_traceback(item.config):
        return
    excinfo = call.excinfo
    fact_error = excinfo is not None and excinfo.errisinstance(FactError)
    if outcome in ("failed", "would-fix") or fact_error:
        report.longrepr = message
        setattr(report, TERSE_KEY, True)
    elif excinfo is not None:
        # pytest's own rendering (its traceback filter, --showlocals) in the short
        # style; Node._repr_failure_py is what TestReport.from_item_and_call uses too.
        report.longrepr = item._repr_failure_py(excinfo, style="short")


def hide_failure_block(report: pytest.TestReport) -> None:
    """No block in pytest's FAILURES section for a report said in the summary.

    TerminalReporter.getreports leaves out a report marked `_pdbshown` (--pdb has shown
    it already); the report stays in the stats, so the counts, the exit status and the
    short test summary (-rf) keep it. Should pytest drop the mark, the block comes back
    as the one line: nothing is lost."""
    if getattr(report, TERSE_KEY, False):
        report._pdbshown = True


# -- the summary ----------------------------------------------------------------------

def summary_lines(records: list[Record], hosts: list[str], *, gate: dict | None = None,
                  verbose: int = 0, width: int = 80) -> list[Line]:
    """The verdict, then each host (inventory order; hosts of records not in `hosts`
    after them) and its findings. Lines but the verdict are cut to `width` (not with
    -vv)."""
    mine: dict[str, list[Record]] = {name: [] for name in hosts}
    for rec in records:
        mine.setdefault(rec.host, []).append(rec)
    mine = {name: recs for name, recs in mine.items() if recs}
    clean = [name for name, recs in mine.items() if not _needs_look(recs)]
    list_clean = verbose > 0 or len(clean) <= CLEAN_HOSTS_LISTED
    shown = [name for name in mine if list_clean or name not in clean]
    column = min(max((len(name) for name in shown), default=0), HOST_COLUMN)
    lines = []
    for name in shown:
        lines.append(_host_line(name, mine[name], column))
        for rec in sorted((r for r in mine[name] if r.outcome in LISTED), key=_finding_order):
            lines.append(_finding_line(rec, width if verbose < 2 else None))
    if not list_clean:
        lines.append(_clean_line(clean, width if verbose < 2 else None))
    if verbose < 2:
        lines = [Line(_cut(line.text, width), line.markup) for line in lines]
    return [_verdict(records, len(hosts), gate)] + lines


def _clean_line(clean: list[str], width: int | None) -> Line:
    """`990 hosts without findings (-v lists each): a, b, c, ...`: the first few names,
    as many whole ones as fit."""
    text = f"{len(clean)} hosts without findings (-v lists each): "
    names = [printable(name) for name in clean[:CLEAN_NAMES_SHOWN]]
    while len(names) > 1 and width is not None \
            and len(text) + len(", ".join(names)) + len(", ...") > width:
        names.pop()
    return Line(text + ", ".join(names) + ", ...", {"green": True})


def _needs_look(recs: list[Record]) -> bool:
    return any(r.outcome in BAD_OUTCOMES or r.outcome == "fixed" for r in recs)


def _verdict(records: list[Record], hosts: int, gate: dict | None) -> Line:
    """`fleetcheck FAIL: 4 hosts (1 unreachable), 5 findings (1 critical, 4 high)`: the
    gate's word first (report.gate, decided before the summary), never cut."""
    findings = [r for r in records if r.outcome in FINDINGS]
    severities: dict[str, int] = {}
    for rec in sorted(findings, key=lambda r: severity_rank(r.severity)):
        severities[rec.severity] = severities.get(rec.severity, 0) + 1
    unreachable = len({r.host for r in records if r.outcome == "unreachable"})
    text = _plural(hosts, "host") + (f" ({unreachable} unreachable)" if unreachable else "")
    text += (f", {_plural(len(findings), 'finding')} ("
             + ", ".join(f"{n} {sev}" for sev, n in severities.items()) + ")"
             if findings else ", no findings")
    for word in ("fixed", "waived"):
        n = sum(r.outcome == word for r in records)
        text += f", {n} {word}" if n else ""
    bad = bool(findings or unreachable)
    word = ""
    if gate:
        bad = bool(gate.get("exit_code"))
        word = " FAIL" if bad else " pass"
        said = [f"--fail-on {gate['fail_on']}"] if gate.get("fail_on", "any") != "any" else []
        if gate.get("tolerated"):
            said.append(f"{gate['tolerated']} tolerated")
        word += f" ({', '.join(said)})" if said else ""
    return Line(f"fleetcheck{word}: {text}", {"bold": True, "red": bad, "green": not bad})


def _host_line(name: str, recs: list[Record], column: int) -> Line:
    """`web1  2 failed, 9 passed` or `dead  4 unreachable (connection refused)`."""
    counts: dict[str, int] = {}
    for rec in recs:
        counts[rec.outcome] = counts.get(rec.outcome, 0) + 1
    order = {outcome: i for i, outcome in enumerate(COUNT_ORDER)}
    said = []
    for outcome in sorted(counts, key=lambda o: (order.get(o, len(order)), o)):
        part = f"{counts[outcome]} {outcome}"
        if outcome == "unreachable":
            reason = next(r.message for r in recs if r.outcome == "unreachable")
            part += f" ({reason})" if reason else ""
        said.append(part)
    bad = _needs_look(recs)
    return Line(f"{printable(name):<{column}}  " + ", ".join(printable(p) for p in said),
                {"red": bad, "green": not bad})


def _finding_order(rec: Record) -> tuple:
    return (severity_rank(rec.severity), rec.check_id, rec.item or "", rec.test_id)


def _finding_line(rec: Record, width: int | None) -> Line:
    """`  [high] sshd.baseline[PermitRootLogin]  PermitRootLogin is yes, expected no`;
    when that does not fit and the message names the item itself, the item is said
    once there (`  [high] sshd.baseline  PermitRootLogin is yes, expected no`): the reason
    is what must not be cut."""
    message = printable(rec.message or rec.title)
    if rec.outcome == "error":
        message = f"error: {message}"
    elif rec.outcome == "would-fix":
        message = f"{message} (--dry-run: a fix would apply)"
    elif rec.outcome == "fixed":
        message = f"fixed: {printable((rec.plan or {}).get('summary') or rec.title)}"
    markup = ({"green": True} if rec.outcome == "fixed" else
              {"red": True, "bold": severity_rank(rec.severity) <= 1})
    text = f"  [{rec.severity}] {rec.check_id}"
    item = f"[{printable(rec.item)}]" if rec.item else ""
    if item and width is not None and len(text + item) + 2 + len(message) > width \
            and item[1:-1] in message:
        item = ""
    return Line(f"{text}{item}  {message}", markup)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def printable(text: str) -> str:
    """A message may quote a host's output: no escape sequence or line break of it
    reaches the terminal."""
    return "".join(c if c.isprintable() else "?" for c in text.splitlines()[0]) \
        if text else ""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 3, 1)] + "..."


# -- writing it -----------------------------------------------------------------------

def write_summary(tr, state, records: list[Record], moves_latest: bool) -> None:
    """The fleetcheck section of pytest's terminal summary (controller, audit runs):
    the run's warnings, the summary, where the reports are."""
    tr.write_sep("=", "fleetcheck summary")
    for note in state.inventory_notes:
        tr.write_line(f"WARNING: {note}", red=True, bold=True)
    for note in state.connection_warnings:
        tr.write_line(f"WARNING: {note}", yellow=True)
    tw = getattr(tr, "_tw", None)
    for line in summary_lines(records, list(state.hosts), gate=state.summary.get("gate"),
                              verbose=tr.config.option.verbose,
                              width=getattr(tw, "fullwidth", 80)):
        tr.write_line(line.text, **line.markup)
    tr.write_line(reports_line(state, moves_latest))


def reports_line(state, moves_latest: bool) -> str:
    """`reports: reports/<run>/ (report.html, results.json, junit.xml); latest: ...`,
    naming only the files that were written (pytest-html and junitxml may be off, or
    the disk full)."""
    where = "reports (INCOMPLETE, see below)" if state.report_problems else "reports"
    latest = shown(state.reports_dir.parent / "latest")
    if not moves_latest:
        latest += " (not moved: the run is incomplete)"
    written = [name for name in ("report.html", "results.json", "junit.xml")
               if (state.reports_dir / name).exists()]
    return (f"{where}: {shown(state.reports_dir)}/ ({', '.join(written) or 'none'})"
            f"; latest: {latest}")


def shown(path: Path) -> str:
    """A path as the user would type it from here."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
