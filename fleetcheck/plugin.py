"""pytest wiring only: options, the check marker, fan-out over hosts, records, reports.

The logic lives in fleetcheck.inventory (which hosts), fleetcheck.connect (connections
and facts), fleetcheck.report (records and writers); this module connects them to
pytest's hooks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fleetcheck import checkmeta
from fleetcheck import layout, usertests
from fleetcheck.checkmeta import (
    HOST_KEY,
    META_KEY,
    PARAM_KEY,
    TESTINFRA_ID_KEY,
    USER_TEST_KEY,
)
from fleetcheck.connect.failures import Unreachable
from fleetcheck.connect.commandlog import CommandLog
from fleetcheck.facts.base import to_jsonable
from fleetcheck.gather import DEFAULT_THREADS, GatherHooks
from fleetcheck.fixtures import EVIDENCE_KEY, Fixtures, UnreachableOutcome
from fleetcheck.connect.hosts import ConnectOptions, FleetHost, HostPool, take_waited
from fleetcheck.selection.filters import OFFLINE_REASON
from fleetcheck.inventory import InventoryError
from fleetcheck.options import add_options
from fleetcheck.remediation.hooks import (
    REMEDIATION_KEY,
    RemediateOptions,
    RemediationHooks,
    parse_selection,
)
from fleetcheck.remediation.rolling import RollingLimits
from fleetcheck.report import results as results_io
from fleetcheck.report import details, retention, terminal, waivers
from fleetcheck.report.records import Record
from fleetcheck.report.wiring import RunReports, WaiverHooks
from fleetcheck.rootdir import reconsider
from fleetcheck.selection import Selection, select
from fleetcheck.state import STATE_KEY, FleetRun, new_run_id

SETUP_DURATION_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, args, parser):
    """`--inventory PATH` (two words) gives the same rootdir, ini file and node ids as
    `--inventory=PATH` (fleetcheck.rootdir); a wrapper, so before capture reads -s."""
    reconsider(early_config, args, parser)
    return (yield)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from fleetcheck import hookspecs  # noqa: PLC0415

    pluginmanager.add_hookspecs(hookspecs)


def _declare_user_vars(config: pytest.Config) -> None:
    """The schemas users' conftest.py files give for their own checks' vars, before the
    inventory is loaded and validated (fleetcheck.hookspecs)."""
    from fleetcheck import varschema  # noqa: PLC0415

    for declared in config.hook.pytest_fleetcheck_vars(config=config):
        if not isinstance(declared, dict):
            raise pytest.UsageError("pytest_fleetcheck_vars must return {area: {var: "
                                    f"schema}}, got {type(declared).__name__}")
        for area, schemas in declared.items():
            try:
                varschema.declare(str(area), schemas)
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None


# pytest-html and junitxml configure themselves from htmlpath/xmlpath in their own
# pytest_configure: ours runs first so the default report paths are in place.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", checkmeta.MARKER_HELP)
    config.addinivalue_line("markers", usertests.MARKER_HELP)
    workerinput = getattr(config, "workerinput", None)
    try:
        if workerinput and "fleetcheck_selection" in workerinput:
            # Remote sources are read once, by the controller (see XdistHooks).
            chosen = Selection.from_wire(workerinput["fleetcheck_selection"])
        else:
            _declare_user_vars(config)
            chosen = select(config.option)
        hosts, paths = chosen.hosts, chosen.sources
        # The pool can connect to every inventory host (a fix may change another host
        # than the one checked); checks still run over the selected `hosts` only.
        everyone = {**chosen.others, **hosts}
        waiver_book = waivers.load(hosts)
    except InventoryError as exc:
        raise pytest.UsageError(str(exc)) from None
    run_id = workerinput["fleetcheck_run_id"] if workerinput else new_run_id()
    options = ConnectOptions(accept_new=config.option.fleet_accept_new,
                             connect_timeout=config.option.fleet_connect_timeout)
    command_log = _command_log(config)
    state = FleetRun(run_id=run_id, hosts=hosts, inventory_paths=paths,
                     limit=config.option.fleet_limit,
                     pool=HostPool(everyone, options, command_log),
                     where=list(config.option.fleet_where or []),
                     inventory_notes=chosen.notes, offline=chosen.offline,
                     include_offline=config.option.fleet_include_offline, selection=chosen)
    if workerinput is None:
        try:
            state.connections = {name: state.pool.get(name).describe() for name in hosts}
            state.connection_warnings = list(dict.fromkeys(
                line for name in hosts for line in state.pool.get(name).warnings))
        except (ValueError, TypeError) as exc:  # e.g. fleetcheck_command_timeout: "soon"
            raise pytest.UsageError(f"bad connection var: {exc}") from None
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(Fixtures(), "fleetcheck-fixtures")
    _recover_testpaths(config)
    config.pluginmanager.register(WaiverHooks(waiver_book), "fleetcheck-waivers")
    if workerinput is None and _is_audit(config):
        _setup_reports(config, state)
        config.pluginmanager.register(RecordCollector(state), "fleetcheck-records")
        config.pluginmanager.register(RunReports(config, state, waiver_book),
                                      "fleetcheck-reports")
        _setup_progress(config, state)
    elif workerinput and workerinput.get("fleetcheck_reports_dir"):
        state.reports_dir = Path(workerinput["fleetcheck_reports_dir"])
    _setup_remediation(config, state)
    owned = None
    if config.pluginmanager.hasplugin("xdist"):
        from fleetcheck.scheduling import XdistHooks, worker_hosts  # noqa: PLC0415

        config.pluginmanager.register(XdistHooks(state), "fleetcheck-xdist")
        owned = worker_hosts(config)
    threads = config.option.fleet_gather_threads
    if threads is not None and threads < 0:
        raise pytest.UsageError("--gather-threads must be 0 or more")
    config.pluginmanager.register(
        GatherHooks(DEFAULT_THREADS if threads is None else threads, owned),
        "fleetcheck-gather")


def _setup_progress(config: pytest.Config, state: FleetRun) -> None:
    """The controller's progress line (fleetcheck.report.progress: on a terminal only)."""
    from fleetcheck.report.progress import ProgressLine, XdistProgress  # noqa: PLC0415

    line = ProgressLine(config, state.hosts)
    config.pluginmanager.register(line, "fleetcheck-progress")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistProgress(line), "fleetcheck-progress-xdist")


def _command_log(config: pytest.Config) -> CommandLog | None:
    path = config.option.fleet_command_log
    if not path:
        return None
    try:
        log = CommandLog(path)
    except OSError as exc:
        raise pytest.UsageError(f"--command-log {path}: {exc.strerror}") from None
    config.add_cleanup(log.close)
    return log


def _setup_remediation(config: pytest.Config, state: FleetRun) -> None:
    opt = config.option
    if opt.fleet_dry_run and opt.fleet_remediate is None:
        raise pytest.UsageError("--dry-run is a mode of --remediate: add --remediate")
    try:
        selection = parse_selection(opt.fleet_remediate)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    for name in ("fleet_serial", "fleet_max_fail"):
        value = getattr(opt, name)
        if value is not None and value < 1:
            raise pytest.UsageError(f"--{name[6:].replace('_', '-')} must be at least 1")
    options = RemediateOptions(
        selection, opt.fleet_dry_run,
        RollingLimits(opt.fleet_serial, max(0.0, opt.fleet_interval), opt.fleet_max_fail),
        opt.fleet_lock_timeout)
    state.remediate_mode = ("off" if selection is None else
                            ("dry-run " if opt.fleet_dry_run else "") + ",".join(sorted(selection)))
    config.pluginmanager.register(
        RemediationHooks(options, state.run_id, state.reports_dir, META_KEY),
        "fleetcheck-remediation")


def _recover_testpaths(config: pytest.Config) -> None:
    """`--inventory /abs/inv.yml` (value as a separate word): pytest's early parse, which
    does not know plugin options yet, takes the inventory for a test path, finds no
    ini file above it and loses `testpaths = checks`. From a fleetcheck clone, put the
    checks back as the tests to run and the reports next to them."""
    here = config.invocation_params.dir
    if (config.inipath is None and config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR
            and (here / "checks").is_dir() and (here / "fleetcheck").is_dir()):
        config.args[:] = [str(here / "checks")]
        if config.option.fleet_reports_dir is None:
            config.option.fleet_reports_dir = str(here / "reports")


def _is_audit(config: pytest.Config) -> bool:
    """An audit run (as opposed to the project's own tests): reports are written."""
    opt = config.option
    if opt.fleet_inventory or getattr(opt, "hosts", None):
        return True
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    checks = {(config.rootpath / "checks").resolve()}
    try:
        checks.add(layout.checks_dir().resolve())
    except FileNotFoundError:
        pass  # a broken install: the rootdir's checks/ only
    for arg in config.args:
        target = arg.split("::", 1)[0]
        if opt.pyargs and (target == "fleetcheck.checks"
                           or target.startswith("fleetcheck.checks.")):
            return True  # pytest --pyargs fleetcheck.checks: the installed checks
        path = Path(target).resolve()
        if path in checks or checks & set(path.parents):
            return True
    return False


def _setup_reports(config: pytest.Config, state: FleetRun) -> None:
    # ./reports of where the command runs (never a test tree pytest took for rootdir)
    root = Path(config.option.fleet_reports_dir
                or config.invocation_params.dir / "reports")
    state.reports_dir = root / state.run_id
    try:
        state.reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"--reports-dir {root}: cannot create {state.run_id}/: "
                                f"{exc.strerror or exc}") from None
    if getattr(config.option, "htmlpath", "unset") is None:
        config.option.htmlpath = str(state.reports_dir / "report.html")
        config.option.self_contained_html = True
    if getattr(config.option, "xmlpath", "unset") is None:
        config.option.xmlpath = str(state.reports_dir / "junit.xml")
    if config.pluginmanager.hasplugin("html"):
        from fleetcheck.report.html import HtmlColumns  # noqa: PLC0415

        config.pluginmanager.register(HtmlColumns(state), "fleetcheck-html")
    try:
        from pytest_metadata.plugin import metadata_key  # noqa: PLC0415
    except ImportError:
        return
    if metadata_key in config.stash:
        config.stash[metadata_key].update(
            {f"fleetcheck {k}": str(v) for k, v in state.metadata().items()
             if k != "connections"})


def pytest_report_header(config: pytest.Config) -> list[str]:
    """An inventory answered from the cache is said at the start too, not only at the end."""
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return []
    return [f"WARNING: {note}" for note in state.inventory_notes + state.connection_warnings]


def pytest_unconfigure(config: pytest.Config) -> None:
    from fleetcheck import varschema  # noqa: PLC0415

    varschema.forget_users()
    state = config.stash.get(STATE_KEY, None)
    if state is not None:
        state.pool.close()


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A check runs over the selected hosts; so does a user's testinfra test when an
    inventory is given (fleetcheck.usertests). Both get the FleetHost itself as
    `host` (direct parametrization: a user's fixture named `host`, in a conftest or
    the module, does not replace it for the checks). Without an inventory a user
    test is left to pytest-testinfra."""
    if "host" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[STATE_KEY]
    meta = checkmeta.from_node(metafunc.definition)
    if meta is None:
        if not (metafunc.config.option.fleet_inventory and usertests.hosts_fixture_is_testinfras(metafunc)
                and not usertests.wants_own_hosts(metafunc.module)):
            return
        names = list(state.hosts)
        _parametrize(metafunc, ["host"], [(state.pool.get(n),) for n in names], names,
                     scope="module")
        return
    state.checks_collected.append(metafunc.definition.nodeid)
    hosts = state.hosts
    if meta.items is None:
        names = list(hosts)
        _parametrize(metafunc, ["host"], [(state.pool.get(n),) for n in names], names)
        return
    if "item" not in metafunc.fixturenames:
        pytest.fail(f"{metafunc.definition.nodeid}: a check with items= takes an `item` "
                    "argument", pytrace=False)
    pairs = [(name, item) for name, entry in hosts.items()
             for item in checkmeta.host_items(meta, entry.vars)]
    _parametrize(metafunc, ["host", "item"], [(state.pool.get(h), i) for h, i in pairs],
                 [f"{h}-{i}" for h, i in pairs])


def _parametrize(metafunc: pytest.Metafunc, names: list[str], rows: list[tuple],
                 ids: list[str], scope: str = "function") -> None:
    """Direct parametrization with FleetHosts. testinfra's `host` fixture, which the
    parameter replaces, needs `_testinfra_host`: dropped from the closure before
    pytest-testinfra's own hook would parametrize it too (pytest drops it after the
    hook anyway: Metafunc's prune_dependency_tree)."""
    if "_testinfra_host" in metafunc.fixturenames \
            and "_testinfra_host" not in metafunc.definition._fixtureinfo.initialnames:
        metafunc.fixturenames.remove("_testinfra_host")
    metafunc.parametrize(names if len(names) > 1 else names[0],
                         rows if len(names) > 1 else [r[0] for r in rows],
                         ids=ids, scope=scope)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name every check item `check_id[host-item]` and remember its host; give every
    user test on a host the meta of its records (fleetcheck.usertests).

    Only a check's name changes (failure headers, records, reports); the nodeid keeps
    the function name, so `pytest checks/test_raid.py::test_md_healthy[web1]` and
    --deselect keep working (a departure from DESIGN.md's "test ids": pytest 9 nodeids
    are structured and rewriting them is not a supported operation). A user test
    keeps its name.
    """
    state = config.stash[STATE_KEY]
    unused, users = [], []
    for item in items:
        meta = checkmeta.from_node(item)
        callspec = getattr(item, "callspec", None)
        if meta is None:
            if usertests.host_of(item) is not None:
                users.append(item)
            continue
        if callspec is None or "host" not in callspec.params:
            continue
        if not isinstance(callspec.params["host"], FleetHost):
            unused.append(item)  # items= over a var no selected host sets
            continue
        item.stash[META_KEY] = meta
        item.stash[HOST_KEY] = callspec.params["host"].name
        item.stash[PARAM_KEY] = callspec.id
        item.name = meta.check_id + item.name[len(item.originalname):]
    taken = {item.stash[META_KEY].check_id for item in items if META_KEY in item.stash}
    for item in users:
        item.stash[META_KEY] = usertests.meta_for(item, taken)
        item.stash[USER_TEST_KEY] = True
        item.stash[PARAM_KEY] = item.callspec.id
        host = item.callspec.params.get("host")
        if isinstance(host, FleetHost):
            item.stash[HOST_KEY] = host.name
        else:
            item.stash[TESTINFRA_ID_KEY] = usertests.host_of(item)
    fleet_items = [i for i in items if HOST_KEY in i.stash]
    if fleet_items or state.checks_collected:
        usertests.refuse_what_cannot_apply(
            config.option, state.selection,
            [i.nodeid for i in fleet_items] or state.checks_collected)
        skip = pytest.mark.skip(reason=OFFLINE_REASON)
        if not state.include_offline:
            for item in fleet_items:  # never touched: before any fixture of theirs
                if item.stash[HOST_KEY] in state.offline:
                    item.add_marker(skip)
    if unused:
        config.hook.pytest_deselected(items=unused)
        items[:] = [i for i in items if i not in unused]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A failed assertion of a check (or its pytest.fail) is a finding: its message,
    not a traceback of the check's code (pytest would parse the check's source to show
    one, for every failing host). --fleet-tracebacks, an explicit --tb or --fulltrace keep pytest's
    traceback (fleetcheck.report.terminal)."""
    try:
        return (yield)
    except Unreachable as exc:
        if isinstance(exc, UnreachableOutcome):
            raise
        raise UnreachableOutcome(str(exc)) from None  # lost mid-check: a message too
    except (AssertionError, pytest.fail.Exception) as exc:
        if (META_KEY not in item.stash or USER_TEST_KEY in item.stash
                or terminal.wants_pytest_traceback(item.config)
                or not getattr(exc, "pytrace", True)
                or isinstance(exc, pytest.xfail.Exception)):
            raise  # a user's test keeps pytest's report of its assertion
        text = exc.msg if isinstance(exc, pytest.fail.Exception) else str(exc)
        raise pytest.fail.Exception(text or "assertion failed", pytrace=False) from None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    take_waited()   # what this thread waited for before the check is not the check's


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    meta = item.stash.get(META_KEY, None)
    if meta is None:
        return report
    if report.when == "setup" and report.passed:
        item.stash[SETUP_DURATION_KEY] = report.duration - take_waited()
        return report
    if report.when == "teardown" and not report.failed:
        return report
    outcome, message = _outcome(report, call)
    remediation = item.stash.get(REMEDIATION_KEY, None)
    if remediation is not None and report.when == "call":
        status = remediation.get("status")
        if status in ("would-fix", "fixed"):
            outcome = status
    evidence = item.stash.get(EVIDENCE_KEY, {})
    severity = meta.severity
    if outcome in ("failed", "would-fix", "fixed") and getattr(evidence, "severity", None):
        # the finding's own severity (a check's items differ), also once fixed
        severity = evidence.severity
    host = item.stash.get(HOST_KEY, None) or item.stash[TESTINFRA_ID_KEY]
    record = Record(
        host=host, check_id=meta.check_id, test_id=item.name, nodeid=item.nodeid,
        severity=severity, title=meta.title, outcome=outcome, message=message,
        evidence=_jsonable(dict(evidence)),
        # the check's own cost: setup and call without the waits for other threads
        duration=round(max(0.0, item.stash.get(SETUP_DURATION_KEY, 0.0) + report.duration
                           - take_waited()), 4),
        item=_item_of(item.stash[PARAM_KEY], host),
    )
    if remediation is not None and report.when == "call":
        record.plan = _jsonable(remediation)
    if outcome == "failed" and getattr(evidence, "advice", None):
        record.evidence["advice"] = evidence.advice
    if outcome == "unreachable":
        report.longrepr = f"{host}: unreachable: {message}"
    elif report.failed and USER_TEST_KEY not in item.stash:
        terminal.shape_failure(item, call, report, outcome, message)
    report.fleetcheck = record.to_json()
    pool_host = (item.config.stash[STATE_KEY].pool.get(host)
                 if HOST_KEY in item.stash and USER_TEST_KEY not in item.stash else None)
    details.tell_controller(report, item, meta, pool_host)
    # JUnit reads the properties of the teardown report, which copies the item's.
    props = [("host", host), ("check_id", meta.check_id), ("severity", severity),
             ("outcome", outcome)]
    item.user_properties[:] = [p for p in item.user_properties if p[0] not in dict(props)]
    item.user_properties.extend(props)
    if report.when == "teardown":
        report.user_properties = list(item.user_properties)
    return report


def _item_of(param_id: str, host: str) -> str | None:
    """What a parametrized test is about beside its host: "web1-vm.swappiness" of a
    check, or a user test's own parameters ("nginx" of "local-nginx")."""
    if param_id.startswith(host + "-"):   # a check's id: host-item (an item may end in '-')
        return param_id[len(host) + 1:] or None
    rest = param_id.replace(host, "", 1) if host in param_id else param_id
    return rest.strip("-") or None


def _outcome(report: pytest.TestReport, call: pytest.CallInfo) -> tuple[str, str]:
    if report.skipped:
        if hasattr(report, "wasxfail"):  # an expected failure: its reason
            return "not-applicable", report.wasxfail.removeprefix("reason: ")
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        return "not-applicable", reason.removeprefix("Skipped: ")
    if report.passed:
        return "passed", ""
    excinfo = call.excinfo
    if excinfo is None:
        if report.when == "call":  # [XPASS(strict)]: the test's own verdict
            return "failed", str(report.longrepr)[:500]
        return "error", str(report.longrepr)[:500]
    first = (str(excinfo.value).strip().splitlines() or [excinfo.typename])[0]
    if excinfo.errisinstance(Unreachable):
        return "unreachable", str(excinfo.value)
    if report.when == "call" and excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return "failed", first
    return "error", f"{excinfo.typename}: {first}"


def _jsonable(value):
    """Evidence as plain JSON data: dataclasses expanded, anything else as text."""
    return json.loads(json.dumps(to_jsonable(value), default=str))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    data = getattr(report, "fleetcheck", None)
    if data and data["outcome"] == "unreachable":
        return "unreachable", "U", ("UNREACHABLE", {"red": True})
    return None


class RecordCollector:
    """Controller only: gathers the records of every check and writes the run's files."""

    def __init__(self, state: FleetRun):
        self.state = state
        self.pruned: list[str] = []     # run ids --keep-reports removed at the end

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "fleetcheck", None)
        if data is not None:
            self.state.records[report.nodeid] = Record.from_json(data)
            details.heard(self.state, report)
            terminal.hide_failure_block(report)  # the summary says it, in one line

    def sorted_records(self) -> list[Record]:
        """Inventory order of hosts, then test id (completion order varies under -n)."""
        order = {name: i for i, name in enumerate(self.state.hosts)}
        return sorted(self.state.records.values(),
                      key=lambda r: (order.get(r.host, len(order)), r.host, r.test_id))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = self.state
        try:
            results_io.write_results(state.reports_dir / "results.json", state.metadata(),
                                     self.sorted_records(), time.time() - state.started)
            # reports/last: this run, whatever it is; reports/latest: only a complete
            # run (never an interrupted, empty or subset one: it is not the fleet's state)
            results_io.point_latest(state.reports_dir.parent, state.run_id, "last")
            if _moves_latest(state):
                results_io.point_latest(state.reports_dir.parent, state.run_id)
        except OSError as exc:   # a full disk: said at the end, the exit code is 3
            state.report_failed("results.json", exc)
            return
        opt = session.config.option
        try:
            self.pruned = retention.prune(state.reports_dir.parent, state.run_id,
                                          opt.fleet_keep_reports, opt.fleet_keep_backups)
        except OSError as exc:
            state.report_failed("--keep-reports", exc)

    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:
        if self.state.records:
            terminal.write_summary(terminalreporter, self.state, self.sorted_records(),
                                   _moves_latest(self.state))
        if self.pruned:
            terminalreporter.write_line(
                f"reports: {len(self.pruned)} old run(s) removed (--keep-reports "
                f"{config.option.fleet_keep_reports}): {self.pruned[-1]} .. {self.pruned[0]}")


def _moves_latest(state: FleetRun) -> bool:
    return state.run_status is None or state.run_status.moves_latest

