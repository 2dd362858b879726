"""`--inventory PATH` (two words, as the README writes it) runs as `--inventory=PATH` does.

pytest chooses the rootdir and the ini file before the plugins' options are known and
takes PATH for a test path (fleetcheck.rootdir). These runs give the same rootdir and
configfile lines, node ids and outcomes for both spellings, with and without xdist,
and put no .pytest_cache beside the inventory.

Until fleetcheck.plugin calls fleetcheck.rootdir.reconsider itself, a throwaway plugin
(PROBE, loaded with -p: like the entry points, after pytest's first parse) does.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import pytest
from fleetcheck.rootdir import reconsider

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, args, parser):
    reconsider(early_config, args, parser)
    return (yield)
"""

PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["suite"]
pythonpath = ["lib"]
addopts = "--strict-markers -k 'not excluded' -s"
markers = ["project_mark: declared in the project's ini only"]
"""

ALPHA = """
import pytest
import projhelper          # found through the ini's pythonpath only

@pytest.mark.project_mark  # an error without the ini's markers (--strict-markers)
def test_same():
    assert projhelper.VALUE == 42

def test_excluded():       # deselected by the ini's addopts
    pass
"""

BETA = """
def test_same():
    print("printed-by-beta")   # shown only with the ini's -s
"""

INVENTORY = "all: {hosts: {h1: {ansible_connection: local}}}\n"

IDS = ["suite/a/test_alpha.py::test_same", "suite/b/test_beta.py::test_same"]


@pytest.fixture
def probe(pytester, monkeypatch) -> list[str]:
    """The -p arguments that load PROBE, importable by the runs and their workers."""
    where = pytester.mkdir("probe")
    (where / "fc_rootdir_probe.py").write_text(PROBE)
    monkeypatch.setenv("PYTHONPATH", str(where))
    return ["-p", "fc_rootdir_probe"]


@pytest.fixture
def project(pytester, monkeypatch) -> Path:
    """<tmp>/proj, the invocation directory, and <tmp>/elsewhere/inv.yml beside it."""
    proj = pytester.mkdir("proj")
    (proj / "pyproject.toml").write_text(PYPROJECT)
    for rel, text in {"suite/a/test_alpha.py": ALPHA, "suite/b/test_beta.py": BETA,
                      "lib/projhelper.py": "VALUE = 42\n", "inv/inv.yml": INVENTORY,
                      "../elsewhere/inv.yml": INVENTORY}.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    monkeypatch.chdir(proj)
    return proj


def inventory_path(project: Path, where: str) -> str:
    if where == "elsewhere":
        return str(project.parent / "elsewhere" / "inv.yml")  # absolute, outside
    return "inv/inv.yml"                                       # relative, inside


def spellings(path: str) -> dict[str, list[str]]:
    return {"two words": ["--inventory", path], "one word": [f"--inventory={path}"]}


def header(res, name: str) -> str:
    lines = [line for line in res.outlines if line.startswith(f"{name}:")]
    assert len(lines) == 1, res.outlines
    return lines[0]


def collected_ids(res) -> list[str]:
    return [line for line in res.outlines if "::" in line]


def passed_ids(res) -> list[str]:
    """From the short summary (-rA): `PASSED <node id>`."""
    return sorted(line.split()[1] for line in res.outlines if line.startswith("PASSED "))


def no_cache_beside(inventory: Path, pytester) -> None:
    """Neither beside the inventory nor where the misread path would root a project's
    run: the common ancestor of the project and the inventory's directory."""
    for where in (inventory.parent, pytester.path):
        assert not (where / ".pytest_cache").exists(), where


@pytest.mark.parametrize("where", ["elsewhere", "inside"])
def test_both_spellings_collect_and_run_alike(pytester, probe, project, where):
    path = inventory_path(project, where)
    seen = {}
    for spelling, inventory in spellings(path).items():
        listed = pytester.runpytest_subprocess(*probe, *inventory, "--collect-only", "-q")
        ran = pytester.runpytest_subprocess(*probe, *inventory, "-rA")
        spread = pytester.runpytest_subprocess(*probe, *inventory, "-rA", "-n", "2")
        for res in (listed, ran, spread):
            assert res.ret == 0, (spelling, res.outlines)
        ran.assert_outcomes(passed=2, deselected=1)
        spread.assert_outcomes(passed=2)           # both test_same, not one
        assert "printed-by-beta" in ran.stdout.str(), spelling
        seen[spelling] = {
            "ids": collected_ids(listed),
            "ran": passed_ids(ran),
            "spread": passed_ids(spread),
            "lines": [header(res, name) for res in (ran, spread)
                      for name in ("rootdir", "configfile")],
        }
        no_cache_beside(project / path, pytester)
    assert seen["two words"] == seen["one word"]
    assert seen["one word"] == {
        "ids": IDS, "ran": IDS, "spread": IDS,
        "lines": [f"rootdir: {project}", "configfile: pyproject.toml"] * 2,
    }
    assert (project / ".pytest_cache").is_dir()   # the cache went to the project


@pytest.mark.parametrize("given", ["--rootdir", "-c"])
def test_the_users_rootdir_and_configfile_win(pytester, probe, project, given):
    """--rootdir: the project's ini file is still found (not one above the inventory);
    -c: that file, whatever the inventory's spelling."""
    (project / "suite" / "alt.ini").write_text("[pytest]\npythonpath = ../lib\n")
    chosen = (["--rootdir", str(project / "suite")] if given == "--rootdir"
              else ["-c", str(project / "suite" / "alt.ini")])
    expected = ([f"rootdir: {project / 'suite'}", "configfile: ../pyproject.toml"]
                if given == "--rootdir" else
                [f"rootdir: {project / 'suite'}", "configfile: alt.ini"])
    for spelling, inventory in spellings(inventory_path(project, "elsewhere")).items():
        res = pytester.runpytest_subprocess(*probe, *inventory, *chosen, "--collect-only")
        assert res.ret == 0, (spelling, res.outlines)
        lines = [header(res, "rootdir"), header(res, "configfile")]
        assert [line.split(",")[0] for line in lines] == expected, spelling


def test_the_addopts_of_an_ini_beside_the_inventory_are_taken_back(pytester, probe, project):
    """The misread path finds an ini file of its own (an inventory repository's): its
    addopts, applied before the right ini file was known, are removed again."""
    (project.parent / "elsewhere" / "pytest.ini").write_text(
        "[pytest]\naddopts = -k never_matches\n")
    for spelling, inventory in spellings(inventory_path(project, "elsewhere")).items():
        res = pytester.runpytest_subprocess(*probe, *inventory, "--collect-only", "-q")
        assert res.ret == 0, (spelling, res.outlines)
        assert collected_ids(res) == IDS, spelling


def test_the_inventory_in_pytest_addopts(pytester, probe, project, monkeypatch):
    """PYTEST_ADDOPTS is read by pytest's first parse too."""
    path = inventory_path(project, "elsewhere")
    for spelling in (f"--inventory {path}", f"--inventory={path}"):
        monkeypatch.setenv("PYTEST_ADDOPTS", spelling)
        res = pytester.runpytest_subprocess(*probe, "--collect-only")
        assert res.ret == 0, (spelling, res.outlines)
        assert [header(res, "rootdir"), header(res, "configfile")] == [
            f"rootdir: {project}", "configfile: pyproject.toml"], spelling


def test_a_fleetcheck_clone_still_collects_its_checks(pytester, probe, monkeypatch):
    """From the clone's root with an inventory outside it (what _recover_testpaths
    covered): the clone's pyproject.toml, its testpaths and its -p no:cacheprovider."""
    inventory = pytester.mkdir("elsewhere") / "inv.yml"
    inventory.write_text(INVENTORY)
    reports = f"--reports-dir={pytester.path / 'reports'}"
    monkeypatch.chdir(REPO)
    seen = {}
    for spelling, args in spellings(str(inventory)).items():
        res = pytester.runpytest_subprocess(*probe, *args, reports, "--collect-only", "-q")
        assert res.ret == 0, (spelling, res.outlines)
        ids = collected_ids(res)
        assert ids and all(i.startswith("checks/") and (i.endswith("[h1]") or "[h1-" in i)
                           for i in ids)
        res = pytester.runpytest_subprocess(*probe, *args, reports, "-k", "no_such_check")
        assert res.ret == pytest.ExitCode.NO_TESTS_COLLECTED, (spelling, res.outlines)
        lines = [header(res, "rootdir"), header(res, "configfile").split(",")[0]]
        assert lines == [f"rootdir: {REPO}", "configfile: pyproject.toml"], spelling
        seen[spelling] = ids
        no_cache_beside(inventory, pytester)
    assert seen["two words"] == seen["one word"]
