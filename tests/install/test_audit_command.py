"""`fleetcheck audit` (fleetcheck.audit) and where the fixes come from
(fleetcheck.remediation.registry), with the venv's editable install; the same with a
wheel in a fresh venv: test_pip_install.py."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcheck import audit

REPO = Path(__file__).resolve().parents[2]
CHECKS = REPO / "checks"
INVENTORY = "all:\n  hosts:\n    box: {ansible_connection: local}\n"
OWN_FIX = '''\
from fleetcheck.remediation import fix


@fix("own.thing")
def plan_own(ctx):
    """Nothing to change."""
    return ctx.plan(reason="fine")
'''
OWN_CHECK = '''\
import pytest


@pytest.mark.check("own.thing", severity="low", title="the own thing")
@pytest.mark.own_marker
def test_own(host, facts):
    assert False, "own finding"
'''


# -- the arguments pytest gets -------------------------------------------------------

def test_a_fleetcheck_option_and_its_value_become_one_word():
    argv = ["--inventory", "a.yml", "-k", "raid", "--limit", "web*", "--remediate",
            "sysctl", "--reports-dir", "out", "--dry-run", "--", "--inventory", "x"]
    assert audit.joined(argv, audit.value_options()) == [
        "--inventory=a.yml", "-k", "raid", "--limit=web*", "--remediate", "sysctl",
        "--reports-dir=out", "--dry-run", "--", "--inventory", "x"]


def test_value_options_are_read_from_the_plugin_options():
    found = audit.value_options()
    assert {"--inventory", "--limit", "--where", "--reports-dir", "--command-log"} <= found
    assert not found & {"--remediate", "--dry-run", "--strict-vars"}


def test_the_run_directory_is_the_rootdir_and_its_ini_file_is_passed(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert audit.pytest_args(["--inventory", "inv.yml", "mine"], tmp_path, CHECKS) == [
        str(CHECKS), "--inventory=inv.yml", "mine", "--rootdir=.",
        f"--config-file={tmp_path / 'pytest.ini'}", "--reports-dir=reports"]


def test_the_ini_file_is_found_as_pytest_finds_it_from_there(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\nxfail_strict = true\n")
    below = tmp_path / "sub"
    below.mkdir()
    assert f"--config-file={tmp_path / 'pyproject.toml'}" in audit.pytest_args([], below, CHECKS)
    (tmp_path / "pyproject.toml").unlink()
    assert not any(a.startswith("--config-file") for a in audit.pytest_args([], below, CHECKS))


@pytest.mark.parametrize("given", [["-c", "x.ini"], ["-cx.ini"], ["--config-file=x.ini"],
                                   ["--config-file", "x.ini"]])
def test_the_users_config_file_wins(tmp_path, given):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    args = audit.pytest_args(given, tmp_path, CHECKS)
    assert [a for a in args if "pytest.ini" in a] == []
    assert "--rootdir=." in args


def test_the_users_rootdir_and_reports_dir_win(tmp_path):
    args = audit.pytest_args(["--rootdir", "r", "--reports-dir=out"], tmp_path, CHECKS)
    assert args == [str(CHECKS), "--rootdir", "r", "--reports-dir=out"]


@pytest.mark.parametrize("given, hosts, expected", [
    ([], None, "default"), (["mine.yml"], None, "mine.yml"), ([], "ssh://a", None)])
def test_without_an_inventory_the_embedded_default_is_given(given, hosts, expected):
    from fleetcheck.selection import default_inventory

    config = SimpleNamespace(option=SimpleNamespace(fleet_inventory=list(given), hosts=hosts))
    audit.DefaultInventory().pytest_cmdline_main(config)
    want = {"default": [default_inventory()], None: []}.get(expected, [expected])
    assert config.option.fleet_inventory == want


# -- where the fixes come from -------------------------------------------------------

def registry_in(cwd: Path, before: str = "") -> subprocess.CompletedProcess:
    """A fresh interpreter's registry, its directory first on sys.path (python -m)."""
    code = (f"import json, sys; sys.path.insert(0, '.'); {before}\n"
            "from fleetcheck.remediation import registry\n"
            "fixes = registry.load_all()\n"
            "print(json.dumps({k: f.__module__ for k, f in fixes.items()}))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_fixes_of_a_users_remediate_package_beside_fleetchecks(tmp_path):
    (tmp_path / "remediate").mkdir()          # a directory without __init__.py
    (tmp_path / "remediate" / "own.py").write_text(OWN_FIX)
    res = registry_in(tmp_path)
    assert res.returncode == 0, res.stderr
    fixes = json.loads(res.stdout)
    assert fixes["own.thing"] == "remediate.own"
    assert fixes["sysctl.value"] == "fleetcheck.remediate.sysctl"


def test_from_the_clone_each_fix_is_imported_once_as_fleetchecks():
    res = registry_in(REPO)             # the clone's top, with remediate/, on sys.path
    assert res.returncode == 0, res.stderr
    modules = set(json.loads(res.stdout).values())
    assert modules and all(m.startswith("fleetcheck.remediate.") for m in modules), modules


def test_a_fix_file_imported_under_two_names_says_so():
    res = registry_in(REPO, before="import remediate.sysctl")
    assert res.returncode != 0
    assert "two remediations registered for sysctl.value" in res.stderr
    assert "imported twice, as remediate.sysctl and as fleetcheck.remediate.sysctl" in res.stderr


# -- the command, end to end (editable install) ----------------------------------------

def test_audit_from_a_users_directory(tmp_path):
    (tmp_path / "inv.yml").write_text(INVENTORY)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "test_own.py").write_text(OWN_CHECK)
    (tmp_path / "remediate").mkdir()
    (tmp_path / "remediate" / "own.py").write_text(OWN_FIX)
    # the user's ini applies: without its marker, --strict-markers refuses the check
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers\nmarkers =\n    own_marker: mine\n")
    res = subprocess.run([sys.executable, "-m", "fleetcheck", "audit", "--inventory",
                          "inv.yml", "mine", "--remediate=own", "--dry-run", "-p",
                          "no:randomly", "-p", "no:cacheprovider"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr     # the own finding
    assert f"rootdir: {tmp_path}" in res.stdout and "configfile: pytest.ini" in res.stdout
    (run,) = [p for p in (tmp_path / "reports").iterdir() if not p.is_symlink()]
    data = json.loads((run / "results.json").read_text())
    by_id = {r["check_id"]: r for r in data["records"]}
    assert by_id["own.thing"]["nodeid"] == "mine/test_own.py::test_own[box]"
    assert {"raid.md_healthy", "capacity.disk"} <= set(by_id)
    assert data["run"]["complete"] is True, data["run"]["incomplete"]
    for name in ("report.html", "junit.xml"):
        assert (run / name).is_file()


def test_plain_pytest_pyargs_without_an_inventory_writes_reports(tmp_path):
    """`pytest --pyargs fleetcheck.checks` from a directory of the user's: an audit of
    this machine (the embedded default inventory) with its reports in ./reports."""
    res = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "fleetcheck.checks",
                          "-p", "no:cacheprovider", "-q", "-k", "raid"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    data = json.loads((tmp_path / "reports" / "last" / "results.json").read_text())
    assert {r["check_id"] for r in data["records"]} == {"raid.md_healthy"}
