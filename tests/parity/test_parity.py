"""Plain pytest-testinfra and fleetcheck give every test of suite/ the same outcome
on every host.

"Plain" is a real venv without fleetcheck: `python3 -m venv` + `pip install
--no-index --find-links WHEELHOUSE pytest-testinfra pytest-xdist paramiko`, from the
wheelhouse `make test-deps` downloads ($(VENV)/wheelhouse, or FLEETCHECK_WHEELHOUSE),
built once per session under a tmp path, same versions as this venv. Without a
wheelhouse that holds them, the plain side falls back to this venv with
`-p no:fleetcheck` (the entry point blocked) and the session's `parity:` lines say so.

Each run starts pytest in a fresh copy of suite/ and reads every test's outcome from
the JUnit XML (`--junitxml`, or fleetcheck's own reports/last/junit.xml when it writes
reports), XPASS from the `-rA` lines. Outcomes are compared per node id, with
fleetcheck's inventory host names mapped to the plain run's testinfra ids (h1 and h2
of a local inventory against plain's `local`: each must give plain's outcome).
A module that names its hosts (testinfra_hosts) or defines `host` itself keeps them
with --inventory, so its baseline is plain testinfra without --hosts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).resolve().parent / "suite"
TIMEOUT = 300
PLAIN_PACKAGES = ["pytest-testinfra", "pytest-xdist", "paramiko"]
# testinfra's ansible backend (molecule's way), in the plain venv when the wheelhouse has it
OPTIONAL_PACKAGES = ["ansible-core"]
SAME_VERSIONS = ["pytest", "pytest-testinfra", "pytest-xdist", "paramiko"]
# what a user test's record says for each pytest outcome (README, "Outcomes"); a test
# that raised something else than an assertion (pytest: failed) is an error: it could not run
RECORD_OUTCOME = {"passed": "passed", "xpassed": "passed", "failed": "failed",
                  "error": "error", "skipped": "not-applicable", "xfailed": "not-applicable"}
FINDINGS = ("AssertionError", "Failed", "[XPASS(strict)]")
# the severities suite/ gives its records: check id (or area) -> severity; else medium
SEVERITY = {"severity": "high", "severity.own_mark": "critical", "severity.classmark_method": "low",
            "severity.classmark_method_mark": "info", "packages": "low"}


def _own_hosts_modules() -> set[str]:
    """Suite modules that decide their hosts themselves: testinfra_hosts, or a `host`
    fixture of their own."""
    own = set()
    for path in SUITE.glob("test_*.py"):
        text = path.read_text()
        if re.search(r"^testinfra_hosts\s*=", text, re.M) or re.search(r"^def host\(", text, re.M):
            own.add(path.name)
    return own


OWN_HOSTS = _own_hosts_modules()


# -- running the suite ----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str    # passed, failed, error, skipped, xfailed, xpassed
    detail: str  # the reason of a skip or xfail, the exception type of a failure or error
    message: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.kind}({self.detail})" if self.detail else self.kind


@dataclass
class Run:
    label: str
    argv: list[str]
    returncode: int
    output: str
    seconds: float
    outcomes: dict[str, Outcome]
    properties: dict[str, dict[str, str]]
    results: dict | None
    workdir: Path

    def failure(self, why: str) -> str:
        return f"{self.label}: {why}\n$ {' '.join(self.argv)}\n{self.output[-6000:]}"


def _exception_type(message: str) -> str:
    match = re.search(r'with "([\w.]+):', message) or re.match(r"([\w.]+):", message)
    if match:
        return match[1]
    return message.split("]", 1)[0] + "]" if message.startswith("[") else message[:80]


def junit_outcomes(path: Path, output: str) -> tuple[dict[str, Outcome], dict[str, dict]]:
    """node id -> Outcome and node id -> its properties, from a JUnit XML file of a run
    of the (flat) suite; XPASS from the run's -rA lines."""
    xpassed = {line.split()[1] for line in output.splitlines() if line.startswith("XPASS ")}
    outcomes: dict[str, Outcome] = {}
    properties: dict[str, dict] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        module, *classes = case.get("classname").split(".")
        nodeid = "::".join([f"{module}.py", *classes, case.get("name")])
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        kind, detail, message = "passed", "", ""
        for child in case:
            message = child.get("message", "")
            if child.tag == "failure":
                kind, detail = "failed", _exception_type(message)
            elif child.tag == "error":
                kind, detail = "error", _exception_type(message)
            elif child.tag == "skipped":
                kind = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                detail = message.removeprefix("Skipped: ")
        if kind == "passed" and nodeid in xpassed:
            kind = "xpassed"
        previous = outcomes.get(nodeid)
        if previous is None or previous.kind in ("passed", "xpassed"):  # a teardown error
            outcomes[nodeid] = Outcome(kind, detail, message)
        properties[nodeid] = props
    return outcomes, properties


def clean_env() -> dict[str, str]:
    """This environment without what would carry the outer pytest or this venv into
    the suite's runs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "FLEETCHECK_", "PYTHON", "PIP_"))
           and k not in ("VIRTUAL_ENV", "COV_CORE_SOURCE")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@dataclass
class Side:
    """One interpreter that runs the suite: plain testinfra or fleetcheck."""

    name: str
    python: str
    prefix: list[str]
    note: str = ""

    @property
    def fleetcheck(self) -> bool:
        return self.name == "fleetcheck"


class Runner:
    """Runs the suite once per (side, arguments), each in a fresh copy. Runs start in
    the background (`start`, a few at once: most of their time is waiting for a host)
    and are kept for the session: several comparisons share the plain baselines."""

    WORKERS = 4

    def __init__(self, base: Path, plain: Side, fleet: Side, times: list):
        self.base, self.plain, self.fleet, self.times = base, plain, fleet, times
        self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="parity")
        self._futures: dict[tuple, Future] = {}
        self._lock = threading.Lock()

    def prefetch(self, plan: dict[str, list[tuple]], request: pytest.FixtureRequest) -> list:
        """Start at once the runs of `plan` (test name -> its (side, *args) runs) that
        the session's selected tests need; none under pytest-xdist, whose workers
        each got a few tests: those start their runs when they need them."""
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return []
        selected = {item.name for item in request.session.items}
        return [self.start(side, *args) for name, runs in plan.items() if name in selected
                for side, *args in runs]

    def runs_of(self, plan: dict[str, list[tuple]], request: pytest.FixtureRequest) -> list[Run]:
        """The runs `plan` names for this test, in its order."""
        return [self.run(side, *args) for side, *args in plan[request.node.name]]

    def start(self, side: Side, *args: str) -> Future:
        with self._lock:
            key = (side.name, args)
            if key not in self._futures:
                workdir = self.base / f"run{len(self._futures) + 1:02d}-{side.name}"
                self._futures[key] = self._pool.submit(self._run, side, list(args), workdir)
            return self._futures[key]

    def run(self, side: Side, *args: str) -> Run:
        return self.start(side, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, side: Side, args: list[str], workdir: Path) -> Run:
        label = f"{side.name} {' '.join(args) or '(no options)'}"
        shutil.copytree(SUITE, workdir, ignore=shutil.ignore_patterns("__pycache__"))
        reports = side.fleetcheck and any(a.startswith(("--hosts", "--inventory")) for a in args)
        junit = workdir / "reports" / "last" / "junit.xml" if reports else workdir / "junit.xml"
        argv = [side.python, "-m", "pytest", *side.prefix, "-rA", *args]
        if not reports:
            argv.append(f"--junitxml={junit}")
        # as in an activated venv: its commands (ansible-inventory, ...) on PATH
        env = clean_env()
        env["PATH"] = os.pathsep.join([os.path.dirname(side.python), env.get("PATH", "")])
        start = time.monotonic()
        res = subprocess.run(argv, cwd=workdir, env=env, capture_output=True,
                             text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - start
        self.times.append((f"{side.name:<10} {' '.join(args) or '(no options)'}", seconds))
        output = res.stdout + res.stderr
        run = Run(label, argv, res.returncode, output, seconds, {}, {}, None, workdir)
        # the suite fails on purpose: exit 1; anything else is no answer at all
        assert res.returncode == 1, run.failure(f"exit {res.returncode}, expected 1")
        assert junit.is_file(), run.failure(f"no {junit.relative_to(workdir)}")
        run.outcomes, run.properties = junit_outcomes(junit, output)
        if reports:
            results = workdir / "reports" / "last" / "results.json"
            assert results.is_file(), run.failure("no reports/last/results.json")
            run.results = json.loads(results.read_text())
        return run


def _metadata(python: str, names: list[str]) -> dict:
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({'versions': {n: m.version(n) for n in sys.argv[1:]}, "
            "'plugins': sorted(e.value for e in m.entry_points(group='pytest11'))}))")
    res = subprocess.run([python, "-c", code, *names], capture_output=True, text=True,
                         env=clean_env(), timeout=60, cwd=os.path.dirname(python))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def wheelhouse() -> tuple[Path | None, list[str], str]:
    """(the wheelhouse, the packages to install from it, why there is none)."""
    where = Path(os.environ.get("FLEETCHECK_WHEELHOUSE") or Path(sys.prefix) / "wheelhouse")
    if not (where / ".complete").is_file():
        return None, [], f"no wheelhouse at {where} (make test-deps)"
    names = {p.name.lower().replace("_", "-") for p in where.glob("*.whl")}

    def held(package: str) -> bool:
        return any(w.startswith(package + "-") for w in names)

    missing = [n for n in PLAIN_PACKAGES if not held(n)]
    if missing:
        return None, [], f"the wheelhouse {where} lacks {', '.join(missing)}"
    return where, PLAIN_PACKAGES + [n for n in OPTIONAL_PACKAGES if held(n)], ""


@pytest.fixture(scope="session")
def plain_side(tmp_path_factory, parity_times) -> Side:
    """pytest-testinfra without fleetcheck: a venv built offline from the wheelhouse, or
    (no wheelhouse) this venv with fleetcheck's entry point blocked."""
    houses, packages, why = wheelhouse()
    if houses is None:
        parity_times.append((f"plain side: this venv with -p no:fleetcheck ({why})", 0.0))
        return Side("plain", sys.executable, ["-p", "no:fleetcheck"], note=why)
    venv = tmp_path_factory.mktemp("parity-plain") / "venv"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=TIMEOUT)
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                          "install", "-q", "--no-index", "--find-links", str(houses),
                          *packages], capture_output=True, text=True, env=clean_env(),
                         timeout=TIMEOUT)
    assert res.returncode == 0, f"plain venv from {houses}:\n{res.stdout}\n{res.stderr}"
    parity_times.append((f"plain venv built from the wheelhouse: {' '.join(packages)}",
                         time.monotonic() - start))
    return Side("plain", str(venv / "bin" / "python"), [])


@pytest.fixture(scope="session")
def runner(tmp_path_factory, plain_side, parity_times):
    fleet = Side("fleetcheck", sys.executable, [])
    start = time.monotonic()
    runner = Runner(tmp_path_factory.mktemp("parity-runs"), plain_side, fleet, parity_times)
    yield runner
    runner.close()
    parity_times.append(("wall time, the first run to the last comparison",
                         time.monotonic() - start))


# -- comparing ------------------------------------------------------------------------


def split_params(nodeid: str) -> tuple[str, list[str]]:
    match = re.fullmatch(r"(.*)\[(.*)\]", nodeid)
    return (match[1], match[2].split("-")) if match else (nodeid, [])


def translate(nodeid: str, hosts: dict[str, str]) -> tuple[str, str | None]:
    """fleetcheck's node id with its inventory host replaced by plain's id, and that host."""
    base, params = split_params(nodeid)
    for i, part in enumerate(params):
        if part in hosts:
            return f"{base}[{'-'.join(params[:i] + [hosts[part]] + params[i + 1:])}]", part
    return nodeid, None


def differences(plain: Run, fleet: Run, hosts: dict[str, str] | None = None, *,
                details: bool = True) -> list[str]:
    """One line per test and host whose outcome differs (or that runs on one side only).
    `hosts`: fleetcheck's inventory host -> plain's testinfra id; None: the same ids.
    `details`: the reason of a skip and the exception type of a failure must match too."""
    hosts = hosts or {}
    lines = []
    reached: dict[str, set] = {}    # plain's node id -> the fleetcheck hosts that ran it
    expected: dict[str, set] = {}   # ... -> the inventory hosts that are its testinfra id
    for nodeid, got in sorted(fleet.outcomes.items()):
        key, host = translate(nodeid, hosts)
        reached.setdefault(key, set()).add(host)
        if host is not None:
            expected[key] = {h for h, plain_id in hosts.items() if plain_id == hosts[host]}
        want = plain.outcomes.get(key)
        if want is None:
            lines.append(f"{nodeid}: only with fleetcheck ({got}) - no {key} in the plain run")
        elif want != got if details else want.kind != got.kind:
            lines.append(f"{nodeid} (host {host or key}): plain {want} vs fleetcheck {got}"
                         f" - plain: {want.message[:200]!r}; fleetcheck: {got.message[:200]!r}")
    for key, want in sorted(plain.outcomes.items()):
        seen = reached.get(key, set())
        if not seen:
            lines.append(f"{key}: only without fleetcheck ({want})")
        elif seen != expected.get(key, {None}):
            lines.append(f"{key}: with fleetcheck on {sorted(map(str, seen))}, expected "
                         f"{sorted(map(str, expected.get(key, {None})))}")
    return lines


def baseline(own: Run, over_hosts: Run | None = None) -> Run:
    """What plain testinfra gives for a fleetcheck --inventory run: the run over the
    same hosts (--hosts) for modules that leave their hosts to the command line, the
    run without --hosts for the modules that name them (OWN_HOSTS)."""
    if over_hosts is None:
        return own
    merged = {k: v for k, v in over_hosts.outcomes.items() if k.split("::")[0] not in OWN_HOSTS}
    merged.update({k: v for k, v in own.outcomes.items() if k.split("::")[0] in OWN_HOSTS})
    return Run(f"{over_hosts.label} + {own.label} for {sorted(OWN_HOSTS)}", over_hosts.argv,
               over_hosts.returncode, over_hosts.output, 0.0, merged, {}, None, over_hosts.workdir)


def expected_check_id(nodeid: str) -> str:
    """<module minus test_>.<function minus test_>; a method: <area>.<class minus
    Test>_<method minus test_> (fleetcheck.usertests)."""
    def word(text: str) -> str:
        return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")

    path, *names = split_params(nodeid)[0].split("::")
    area = word(Path(path).stem.removeprefix("test_"))
    *classes, function = names
    parts = [c.removeprefix("Test") for c in classes] + [function.removeprefix("test_")]
    return f"{area}.{word('_'.join(parts))}"


def host_of(nodeid: str, hosts: set[str]) -> str | None:
    """The host a testinfra test ran on: the parameter that is one of `hosts`, or a
    testinfra id (`local`, `paramiko://...`)."""
    params = split_params(nodeid)[1]
    for part in params:
        if part in hosts or part == "local" or "://" in part:
            return part
    joined = "-".join(params)
    return joined if "://" in joined else None


def record_outcome(outcome: Outcome) -> str:
    if outcome.kind == "failed" and outcome.detail not in FINDINGS:
        return "error"
    return RECORD_OUTCOME[outcome.kind]


def record_problems(fleet: Run, hosts: set[str] = frozenset()) -> list[str]:
    """Every host x user test is one record (check id as derived, the outcome pytest
    gave, a skip's reason) and its JUnit properties say the same."""
    lines = []
    records: dict[str, list[dict]] = {}
    for record in fleet.results["records"]:
        records.setdefault(record["nodeid"], []).append(record)
    for nodeid, outcome in sorted(fleet.outcomes.items()):
        host = host_of(nodeid, hosts)
        got = records.pop(nodeid, [])
        if host is None:  # not testinfra's host: not a user test
            if got:
                lines.append(f"{nodeid}: not a user test, but recorded: {got}")
            continue
        check_id = expected_check_id(nodeid)
        want = {"host": host, "check_id": check_id, "outcome": record_outcome(outcome),
                "severity": SEVERITY.get(check_id, SEVERITY.get(check_id.split(".")[0], "medium"))}
        if len(got) != 1:
            lines.append(f"{nodeid}: {len(got)} records, expected one {want}")
            continue
        (record,) = got
        have = {k: record[k] for k in want}
        if have != want:
            lines.append(f"{nodeid} (pytest: {outcome}): record {have}, expected {want}"
                         f" - its message: {record['message'][:200]!r}")
        if outcome.kind in ("skipped", "xfailed") and record["message"] != outcome.detail:
            lines.append(f"{nodeid} (pytest: {outcome}): record message "
                         f"{record['message']!r}, expected the reason {outcome.detail!r}")
        props = fleet.properties.get(nodeid, {})
        expected_props = {"host": record["host"], "check_id": record["check_id"],
                          "severity": record["severity"], "outcome": record["outcome"]}
        if {k: props.get(k) for k in expected_props} != expected_props:
            lines.append(f"{nodeid}: JUnit properties {props}, its record {expected_props}")
    for nodeid, extra in records.items():
        lines.append(f"{nodeid}: recorded {extra} but not in the JUnit XML")
    html = (fleet.workdir / "reports" / "last" / "report.html").read_text()
    lines += [f"report.html does not name {check_id}" for check_id in
              sorted({r["check_id"] for r in fleet.results["records"]}) if check_id not in html]
    return lines


def assert_none(lines: list[str], what: str, *runs: Run) -> None:
    assert not lines, (f"{what}: {len(lines)} difference(s)\n" + "\n".join(lines)
                       + "\n\nruns:\n" + "\n".join(f"  {r.label} ({r.workdir})" for r in runs))


def test_the_comparison_names_every_difference():
    def run(outcomes: dict[str, Outcome]) -> Run:
        return Run("synthetic", [], 1, "", 0.0, outcomes, {}, None, Path("."))

    ok, skipped = Outcome("passed", ""), Outcome("skipped", "no ping here")
    plain = run({"test_a.py::test_x[local]": ok, "test_a.py::test_y[local-v]": skipped,
                 "test_a.py::test_z": ok, "test_a.py::test_gone[local]": ok})
    fleet = run({"test_a.py::test_x[h1]": ok,
                 "test_a.py::test_x[h2]": Outcome("failed", "TypeError", "TypeError: int"),
                 "test_a.py::test_y[h1-v]": Outcome("skipped", "another reason"),
                 "test_a.py::test_z": ok, "test_a.py::test_new[h1]": ok,
                 "test_a.py::test_new[h2]": ok})
    lines = differences(plain, fleet, {"h1": "local", "h2": "local"})
    assert lines == [
        "test_a.py::test_new[h1]: only with fleetcheck (passed) - no test_a.py::test_new[local]"
        " in the plain run",
        "test_a.py::test_new[h2]: only with fleetcheck (passed) - no test_a.py::test_new[local]"
        " in the plain run",
        "test_a.py::test_x[h2] (host h2): plain passed vs fleetcheck failed(TypeError)"
        " - plain: ''; fleetcheck: 'TypeError: int'",
        "test_a.py::test_y[h1-v] (host h1): plain skipped(no ping here) vs fleetcheck"
        " skipped(another reason) - plain: ''; fleetcheck: ''",
        "test_a.py::test_gone[local]: only without fleetcheck (passed)",
        "test_a.py::test_y[local-v]: with fleetcheck on ['h1'], expected ['h1', 'h2']",
    ]
    assert differences(plain, plain) == []
    assert expected_check_id("test_accounts.py::TestSystemUsers::test_exists[h1-nobody]") \
        == "accounts.systemusers_exists"


# -- the plain side is plain ----------------------------------------------------------


def test_the_plain_side_has_no_fleetcheck_and_the_same_versions(runner):
    plain, fleet = runner.plain, runner.fleet
    if plain.prefix:
        pytest.skip(f"no plain venv: {plain.note}; the plain side is this venv with "
                    "-p no:fleetcheck")
    theirs, ours = _metadata(plain.python, SAME_VERSIONS), _metadata(fleet.python, SAME_VERSIONS)
    assert theirs["versions"] == ours["versions"]
    assert not [p for p in theirs["plugins"] if "fleetcheck" in p], theirs["plugins"]
    assert "fleetcheck.plugin" in ours["plugins"]
    res = subprocess.run([plain.python, "-c", "import fleetcheck"], capture_output=True,
                         text=True, env=clean_env(), cwd=runner.base, timeout=60)
    assert "No module named 'fleetcheck'" in res.stderr


# -- this machine ---------------------------------------------------------------------

WITHOUT_INVENTORY = {
    "hosts": ["--hosts=local://"],
    "hosts-n2": ["--hosts=local://", "-n", "2"],
    "testinfra_hosts": [],      # no --hosts: each module's testinfra_hosts, or local
    "sudo-user": ["--connection=local", "--sudo", "--sudo-user=nobody"],
}
XDIST = {"one-process": [], "n2": ["-n", "2"]}
LOCAL_INVENTORY = """\
all:
  hosts:
    h1: {ansible_connection: local}
    h2: {ansible_connection: local}
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory, runner, request) -> dict[str, list[tuple]]:
    """Test name -> the runs it compares (plain first), over this machine; the runs of
    the selected tests started at once."""
    inventory = tmp_path_factory.mktemp("parity-local") / "inv.yml"
    inventory.write_text(LOCAL_INVENTORY)
    plain, fleet = runner.plain, runner.fleet
    plan = {}
    for mode, args in WITHOUT_INVENTORY.items():
        plan[f"test_without_an_inventory_outcomes_are_testinfras[{mode}]"] = [
            (plain, *args), (fleet, *args)]
    for name, xdist in XDIST.items():
        over_inventory = (fleet, f"--inventory={inventory}", *xdist)
        plan[f"test_each_inventory_host_gives_plain_testinfras_outcome[{name}]"] = [
            (plain, *xdist), over_inventory]
        plan[f"test_records_of_the_user_tests_on_this_machine[inventory-{name}]"] = [
            over_inventory]
    for mode in ("hosts", "hosts-n2"):
        plan[f"test_records_of_the_user_tests_on_this_machine[{mode}]"] = [
            (fleet, *WITHOUT_INVENTORY[mode])]
    runner.prefetch(plan, request)
    return plan


@pytest.mark.parametrize("mode", WITHOUT_INVENTORY)
def test_without_an_inventory_outcomes_are_testinfras(runner, local, request, mode):
    plain, fleet = runner.runs_of(local, request)
    assert_none(differences(plain, fleet), mode, plain, fleet)


@pytest.mark.parametrize("xdist", XDIST)
def test_each_inventory_host_gives_plain_testinfras_outcome(runner, local, request, xdist):
    plain, fleet = runner.runs_of(local, request)
    assert_none(differences(plain, fleet, {"h1": "local", "h2": "local"}), "inventory",
                plain, fleet)


@pytest.mark.parametrize("run", ["hosts", "hosts-n2", "inventory-one-process", "inventory-n2"])
def test_records_of_the_user_tests_on_this_machine(runner, local, request, run):
    """One record per host x user test (results.json, the JUnit properties, the HTML)."""
    (fleet,) = runner.runs_of(local, request)
    assert_none(record_problems(fleet, {"h1", "h2"}), f"{run}: records", fleet)


# -- two SSH servers on loopback: paramiko, ssh options --------------------------------


class _NoDelayListener(socket.socket):
    """A listening socket whose connections send at once (TCP_NODELAY): without it a
    command's small replies wait for delayed ACKs, some 40 ms each."""

    def accept(self):
        conn, address = super().accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


def _listen(address: str) -> socket.socket:
    listener = _NoDelayListener(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen()
    return listener


def _sshserver():
    if "sshserver" not in sys.modules:
        path = REPO / "tests" / "unit" / "sshserver.py"
        spec = importlib.util.spec_from_file_location("sshserver", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["sshserver"] = module
        spec.loader.exec_module(module)
    return sys.modules["sshserver"]


@dataclass
class Loopback:
    servers: dict[str, tuple[str, int]]   # inventory name -> (address, port)
    key: Path
    base: Path
    refused: tuple[str, int]
    runs: dict[str, list[tuple]] = field(default_factory=dict)   # plan(): test -> runs

    @property
    def ids(self) -> dict[str, str]:
        return {name: f"paramiko://{addr}" for name, (addr, _) in self.servers.items()}

    @property
    def hosts_args(self) -> list[str]:
        """testinfra's options for the two servers: --hosts and --ssh-identity-file."""
        specs = ",".join(f"paramiko://ops@{a}:{p}" for a, p in self.servers.values())
        return [f"--hosts={specs}", f"--ssh-identity-file={self.key}"]

    @property
    def ssh_config_args(self) -> list[str]:
        """Host aliases of an ssh_config, over the command modules only (the others ran
        over the same servers with hosts_args)."""
        return ["--connection=paramiko", f"--ssh-config={self.base / 'ssh_config'}",
                "--hosts=" + ",".join(self.servers), "test_commands.py", "test_own_hosts_list.py"]

    @property
    def inventory_args(self) -> list[str]:
        return [f"--inventory={self.base / 'inv.yml'}"]

    @property
    def refused_args(self) -> tuple[list[str], list[str]]:
        """(plain's, fleetcheck's) options for the address that refuses."""
        address, port = self.refused
        return ([f"--hosts=paramiko://ops@{address}:{port}", f"--ssh-identity-file={self.key}"],
                [f"--inventory={self.base / 'refused.yml'}"])

    def write_files(self, known_hosts: str) -> None:
        (self.base / "known_hosts").write_text(known_hosts)
        (self.base / "ssh_config").write_text("".join(
            f"Host {name}\n  HostName {addr}\n  Port {port}\n  User ops\n"
            f"  IdentityFile {self.key}\n" for name, (addr, port) in self.servers.items()))
        (self.base / "inv.yml").write_text(
            f"all:\n  vars: {{ansible_user: ops, ansible_ssh_private_key_file: {self.key}, "
            f"fleetcheck_known_hosts: {self.base / 'known_hosts'}}}\n  hosts:\n"
            + "".join(f"    {name}: {{ansible_host: {addr}, ansible_port: {port}}}\n"
                      for name, (addr, port) in self.servers.items()))
        address, port = self.refused
        (self.base / "refused.yml").write_text(
            f"all:\n  hosts:\n    gone: {{ansible_host: {address}, ansible_port: {port}, "
            f"ansible_user: ops, ansible_ssh_private_key_file: {self.key}}}\n")

    def plan(self, runner: Runner) -> dict[str, list[tuple]]:
        """Test name -> the runs it compares (plain first) over these servers."""
        plain, fleet = runner.plain, runner.fleet
        plain_refused, fleet_refused = self.refused_args
        return {
            "test_paramiko_hosts_with_an_identity_file": [
                (plain, *self.hosts_args), (fleet, *self.hosts_args)],
            "test_hosts_of_an_ssh_config": [
                (plain, *self.ssh_config_args), (fleet, *self.ssh_config_args)],
            "test_an_inventory_of_ssh_hosts_gives_plain_testinfras_outcomes": [
                (plain,), (plain, *self.hosts_args), (fleet, *self.inventory_args)],
            "test_records_of_the_user_tests_over_ssh[hosts]": [(fleet, *self.hosts_args)],
            "test_records_of_the_user_tests_over_ssh[ssh-config]": [
                (fleet, *self.ssh_config_args)],
            "test_records_of_the_user_tests_over_ssh[inventory]": [
                (fleet, *self.inventory_args)],
            "test_an_unreachable_host_gives_plain_testinfras_outcomes": [
                (plain,), (plain, *plain_refused), (fleet, *fleet_refused)],
        }


@pytest.fixture(scope="module")
def loopback(tmp_path_factory, runner, request):
    """Two SSH servers (tests/unit/sshserver.py) on 127.0.0.2 and 127.0.0.3, so
    testinfra's ids (paramiko://ADDRESS, without the port) differ; their commands run
    here as this user. And a refused address, 127.0.0.4. Every run over them started."""
    sshserver = _sshserver()
    base = tmp_path_factory.mktemp("parity-loopback")
    servers, key = [], None
    for i, address in enumerate(("127.0.0.2", "127.0.0.3")):
        server = sshserver.SshServer(base, name=f"s{i + 1}", client_key_file=key)
        key = server.client_key_file
        server._listener.close()   # listen on its own loopback address instead
        server._listener = _listen(address)
        server.address, server.port = address, server._listener.getsockname()[1]
        servers.append(server.__enter__())
    with socket.create_server(("127.0.0.4", 0)) as closed:
        refused = ("127.0.0.4", closed.getsockname()[1])
    loopback = Loopback({f"s{i + 1}": (s.address, s.port) for i, s in enumerate(servers)},
                        key, base, refused)
    loopback.write_files("".join(sshserver.known_hosts_line(s.port, s.host_key, s.address)
                                 for s in servers))
    loopback.runs = loopback.plan(runner)
    started = runner.prefetch(loopback.runs, request)
    try:
        yield loopback
    finally:
        wait(started)   # a run a deselected test did not wait for, before its servers go
        for server in servers:
            server.stop()


def test_paramiko_hosts_with_an_identity_file(runner, loopback, request):
    plain, fleet = runner.runs_of(loopback.runs, request)
    assert_none(differences(plain, fleet), "--hosts paramiko://", plain, fleet)


def test_hosts_of_an_ssh_config(runner, loopback, request):
    plain, fleet = runner.runs_of(loopback.runs, request)
    assert_none(differences(plain, fleet), "--ssh-config", plain, fleet)


def test_an_inventory_of_ssh_hosts_gives_plain_testinfras_outcomes(runner, loopback, request):
    own, over_hosts, fleet = runner.runs_of(loopback.runs, request)
    plain = baseline(own, over_hosts)
    assert_none(differences(plain, fleet, loopback.ids), "ssh inventory", plain, fleet)


@pytest.mark.parametrize("run", ["hosts", "ssh-config", "inventory"])
def test_records_of_the_user_tests_over_ssh(runner, loopback, request, run):
    (fleet,) = runner.runs_of(loopback.runs, request)
    assert_none(record_problems(fleet, set(loopback.servers)), f"{run}: records", fleet)


def test_an_unreachable_host_gives_plain_testinfras_outcomes(runner, loopback, request):
    """A host whose port refuses. Plain testinfra: each test fails where its first
    command runs (in the test: failed; in a fixture: error). The outcomes are compared,
    not the exceptions (fleetcheck says unreachable, testinfra what paramiko raised)."""
    own, over_hosts, fleet = runner.runs_of(loopback.runs, request)
    assert_none(differences(baseline(own, over_hosts), fleet,
                            {"gone": f"paramiko://{loopback.refused[0]}"}, details=False),
                "unreachable host", over_hosts, fleet)


# -- molecule's way: testinfra's ansible backend ---------------------------------------


# --force-ansible runs every command as an ansible module (about a second each): a few
# tests only, the whole suite ran over the ansible connection without it
FORCE_ANSIBLE = ["--force-ansible", "test_commands.py::test_run",
                 "test_commands.py::test_arguments_are_quoted",
                 "test_files.py::test_a_missing_file"]


@pytest.mark.parametrize("force", [[], FORCE_ANSIBLE], ids=["ansible", "force-ansible"])
def test_molecule_style_ansible_connection(runner, tmp_path, force):
    """`--connection=ansible --ansible-inventory=INV --hosts=all`, as molecule's
    testinfra verifier runs: needs the ansible package on both sides (ansible-core:
    tests/requirements.txt for this venv, the wheelhouse for the plain one)."""
    where = {"plain": "the wheelhouse has no ansible-core wheel (make test-deps' pip download)",
             "fleetcheck": "tests/requirements.txt"}
    for side in (runner.plain, runner.fleet):
        res = subprocess.run([side.python, "-c", "import ansible"], capture_output=True,
                             env=clean_env(), cwd=tmp_path, timeout=60)
        if res.returncode != 0:
            pytest.skip(f"the ansible Python package is not installed on the {side.name} "
                        f"side ({where[side.name if not side.prefix else 'fleetcheck']}): "
                        "testinfra's ansible backend needs it")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(LOCAL_INVENTORY)
    args = ["--connection=ansible", f"--ansible-inventory={inventory}", "--hosts=all", *force]
    started = [runner.start(runner.plain, *args), runner.start(runner.fleet, *args)]
    plain, fleet = (future.result() for future in started)
    assert_none(differences(plain, fleet), "ansible", plain, fleet)


# -- the lab: two Debian hosts over SSH ------------------------------------------------


@pytest.mark.integration
def test_lab_hosts_give_plain_testinfras_outcomes(runner, lab):
    """web1 and app1 of inventories/lab.yml: plain testinfra over paramiko:// with the
    lab's key, fleetcheck over the lab's inventory (its known_hosts, key, ssh_config)."""
    names = ["web1", "app1"]
    specs = ",".join(f"paramiko://root@{lab.address(n)}?ssh_identity_file={lab.identity}"
                     for n in names)
    plain = baseline(runner.run(runner.plain), runner.run(runner.plain, f"--hosts={specs}"))
    fleet = runner.run(runner.fleet, f"--inventory={REPO / 'inventories' / 'lab.yml'}",
                       f"--limit={':'.join(names)}")
    ids = {n: f"paramiko://{lab.address(n)}" for n in names}
    assert_none(differences(plain, fleet, ids) + record_problems(fleet, set(names)), "lab",
                plain, fleet)
