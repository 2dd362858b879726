"""The audit installed with pip, as a user installs it: a wheel built from a clean clone
of this repository's HEAD (the committed state), installed in a fresh venv outside the
clone, run from a directory that holds only an inventory and a test file of the user.

Offline: the build backend and every dependency come from the wheelhouse `make
test-deps` downloads ($(VENV)/wheelhouse; FLEETCHECK_WHEELHOUSE to choose another),
installed with --no-index. Marked `integration` (slow: a build, a venv, two audits),
so `make unit` leaves it out; `make test` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 300

INVENTORY = "all:\n  hosts:\n    box: {ansible_connection: local}\n"
# A user's own testinfra test, as testinfra's documentation writes one.
MINE = '''\
def test_root_is_a_directory(host):
    assert host.file("/").is_directory
'''


def wheelhouse() -> Path:
    where = Path(os.environ.get("FLEETCHECK_WHEELHOUSE") or Path(sys.prefix) / "wheelhouse")
    if not (where / ".complete").is_file():
        why = (f"no wheelhouse at {where} (make test-deps downloads it: the build "
               "backend and fleetcheck's dependencies, for an offline install)")
        if os.environ.get("FLEETCHECK_TESTS_COMPLETE"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would let the installed audit see this venv, the
    clone or the machine's pip configuration; pip offline."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTEST_", "FLEETCHECK_", "PYTHON"))
           and k not in ("VIRTUAL_ENV",)}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run(cmd: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=TIMEOUT, **kwargs)


def ok(cmd: list[str], cwd: Path) -> str:
    res = run(cmd, cwd)
    assert res.returncode == 0, f"{cmd}: exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


class Installed:
    def __init__(self, base: Path, wheel: Path, venv: Path):
        self.base, self.wheel, self.venv = base, wheel, venv
        self.bin = venv / "bin"

    def user_dir(self, name: str) -> Path:
        """An empty directory outside the clone with only an inventory and a test file."""
        where = self.base / name
        where.mkdir()
        (where / "inv.yml").write_text(INVENTORY)
        (where / "test_mine.py").write_text(MINE)
        return where

    def audit(self, where: Path, *cmd: str) -> tuple[subprocess.CompletedProcess, dict]:
        res = run(list(cmd), where)
        assert res.returncode in (0, 1), (f"exit {res.returncode}: not an audit's answer "
                                          f"(README.md, Exit codes)\n{res.stdout}\n{res.stderr}")
        runs = [p for p in (where / "reports").iterdir()
                if p.is_dir() and not p.is_symlink()]
        assert len(runs) == 1, runs
        (report,) = runs
        for name in ("results.json", "report.html", "junit.xml"):
            assert (report / name).is_file(), f"{report}/{name} missing\n{res.stdout}"
        return res, json.loads((report / "results.json").read_text())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    houses = wheelhouse()
    base = tmp_path_factory.mktemp("pip-install")
    assert REPO not in base.parents
    clone = base / "clone"
    # HEAD, committed: what a user clones (safe.directory: a CI checkout owned by another
    # user than the one running the tests)
    ok(["git", "-c", f"safe.directory={REPO}", "clone", "-q", "--no-hardlinks", str(REPO),
        str(clone)], base)
    dist = base / "dist"
    ok([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
        "--find-links", str(houses), "-w", str(dist), str(clone)], base)
    (wheel,) = dist.glob("fleetcheck-*.whl")
    shutil.rmtree(clone)     # the installed audit cannot lean on the clone
    venv = base / "venv"
    ok([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    # this venv's pip installs into the fresh one (--python): no pip bootstrapped there
    ok([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
        "-q", "--no-index", "--find-links", str(houses), str(wheel)], base)
    return Installed(base, wheel, venv)


@pytest.fixture(scope="module")
def audited(installed) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """ONE command from the user's directory: the full audit and the user's test."""
    where = installed.user_dir("audit")
    res, results = installed.audit(where, str(installed.bin / "fleetcheck"), "audit",
                                   "--inventory", "inv.yml", "test_mine.py")
    return res, results, where


def catalogue(installed, where: Path) -> list[dict]:
    out = ok([str(installed.bin / "fleetcheck"), "checks", "--format", "json"], where)
    return json.loads(out)


def test_the_wheel_puts_only_fleetcheck_in_site_packages(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"fleetcheck", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for name in ("fleetcheck/checks/__init__.py", "fleetcheck/checks/test_raid.py",
                 "fleetcheck/remediate/__init__.py", "fleetcheck/remediate/sysctl.py",
                 "fleetcheck/data/local.yml", "fleetcheck/data/fleet.js",
                 "fleetcheck/data/fleet.css"):
        assert name in names, name
    assert not any(n.startswith(("checks/", "remediate/", "tests/")) for n in names)


def test_help_lists_audit_and_the_catalogue_comes_from_the_installed_package(installed):
    where = installed.user_dir("tools")
    assert "audit" in ok([str(installed.bin / "fleetcheck"), "--help"], where)
    infos = catalogue(installed, where)
    ids = {c["check_id"] for c in infos}
    assert {"raid.md_healthy", "sysctl.value", "capacity.disk"} <= ids
    assert any(c["fix"] for c in infos), "the fixes come with the package"
    code = ("import fleetcheck.checks, fleetcheck.remediate; "
            "print(fleetcheck.checks.__file__); print(fleetcheck.remediate.__file__)")
    for path in ok([str(installed.bin / "python"), "-c", code], where).split():
        assert installed.venv in Path(path).parents, path
    assert "usage: fleetcheck audit" in ok(
        [str(installed.bin / "python"), "-m", "fleetcheck", "audit", "--help"], where)


def test_one_command_audits_with_the_installed_checks(installed, audited):
    res, results, where = audited
    assert f"rootdir: {where}" in res.stdout
    assert results["run"]["complete"] is True, results["run"]["incomplete"]
    records = results["records"]
    expected = {c["check_id"] for c in catalogue(installed, where) if c["items"] is None}
    assert {r["check_id"] for r in records if r["host"] == "box"} >= expected
    for record in records:            # stable: nothing of where the venv lives
        assert str(installed.base) not in record["nodeid"], record["nodeid"]
        assert "site-packages" not in record["nodeid"], record["nodeid"]
    junit = (where / "reports" / "last" / "junit.xml").read_text()
    assert "test_md_healthy[box]" in junit
    written = {p.name for p in where.iterdir()} - {"inv.yml", "test_mine.py"}
    assert written - {".pytest_cache", "__pycache__"} == {"reports"}, written


def test_plain_pytest_spelling_gives_the_same_records(installed, audited):
    _, first, _ = audited
    where = installed.user_dir("plain")
    _, results = installed.audit(where, str(installed.bin / "python"), "-m", "pytest",
                                 "--pyargs", "fleetcheck.checks", "--inventory=inv.yml")
    assert results["run"]["complete"] is True, results["run"]["incomplete"]
    checks = {r["nodeid"] for r in first["records"] if not r["nodeid"].startswith("test_mine")}
    assert {r["nodeid"] for r in results["records"]} == checks


def test_the_users_own_test_has_its_record(audited):
    """The user's testinfra test runs over the inventory's host and is reported with
    the checks (issue 15: c66fed7 made it pass; it was xfail(strict) until then)."""
    _, results, _ = audited
    mine = [r for r in results["records"] if r["nodeid"].startswith("test_mine.py::")]
    assert [(r["nodeid"], r["outcome"]) for r in mine] == [
        ("test_mine.py::test_root_is_a_directory[box]", "passed")], mine
