"""The package layout pyproject.toml declares, checked without a build (the build
itself: test_pip_install.py)."""

import tomllib
from pathlib import Path

from fleetcheck import layout

REPO = Path(__file__).resolve().parents[2]
MAPPED = {"fleetcheck.checks": "checks", "fleetcheck.remediate": "remediate"}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_listed_and_the_top_directories_are_mapped_into_fleetcheck():
    setup = project()
    on_disk = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "fleetcheck").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    for name, directory in MAPPED.items():
        assert (REPO / directory / "__init__.py").is_file(), directory
        on_disk.add(name)
    assert set(setup["packages"]) == on_disk, (
        "pyproject.toml [tool.setuptools] packages must list every package")
    assert setup["package-dir"] == {"fleetcheck": "fleetcheck", **MAPPED}
    assert not any(p.split(".")[0] != "fleetcheck" for p in setup["packages"])


def test_the_data_files_are_package_data():
    patterns = project()["package-data"]["fleetcheck"]
    data = sorted(p.name for p in (REPO / "fleetcheck" / "data").iterdir() if p.is_file())
    assert data and all(any(Path("data", name).match(pat) for pat in patterns)
                        for name in data), (data, patterns)


def test_the_editable_install_resolves_the_mapped_packages_to_the_clone():
    # the Makefile's venv (pip install -e .): an older install lacks the mapping
    assert layout.checks_dir() == REPO / "checks", "reinstall: .venv/bin/pip install -e ."
    assert layout.package_dir(layout.FIXES) == REPO / "remediate"
