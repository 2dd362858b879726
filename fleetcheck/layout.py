"""Where fleetcheck's own checks and fixes are, in every layout.

The repository keeps them at its top, `checks/` and `remediate/`; pyproject.toml maps
them into the package at build time (setuptools `package-dir`), so they are always the
packages `fleetcheck.checks` and `fleetcheck.remediate`:

- a wheel (`pip install fleetcheck`): `site-packages/fleetcheck/checks/`, `.../remediate/`;
- an editable install (`pip install -e .`, the Makefile's venv): setuptools' finder
  resolves `fleetcheck.checks` to the clone's `checks/`, `fleetcheck.remediate` to its
  `remediate/`;
- a clone on sys.path without any install: found beside the package, as a last resort.

The catalogue, `fleetcheck audit` and the completeness of a run ask here where they
are; the fix registry imports `fleetcheck.remediate` by name (FIXES).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKS = "fleetcheck.checks"
FIXES = "fleetcheck.remediate"
_BESIDE = {CHECKS: "checks", FIXES: "remediate"}    # in a clone: <clone>/checks


def module_path(name: str, packages_only: bool = False) -> Path | None:
    """Where the module or package `name` is (a package: its directory), as `pytest
    --pyargs` reads a name; None when it is not importable (its parents are imported)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    if spec.origin and spec.has_location and not packages_only:
        return Path(spec.origin).resolve()
    return None


def package_dir(name: str) -> Path | None:
    """The directory of fleetcheck.checks or fleetcheck.remediate, as installed; else
    the clone's directory beside the fleetcheck package; None when there is neither."""
    found = module_path(name, packages_only=True)
    if found is not None:
        return found
    beside = Path(__file__).resolve().parents[1] / _BESIDE[name]
    return beside if (beside / "__init__.py").is_file() else None


def checks_dir() -> Path:
    """fleetcheck's checks (the test_<area>.py files)."""
    found = package_dir(CHECKS)
    if found is None:
        raise FileNotFoundError("fleetcheck's checks are not installed (no package "
                                f"{CHECKS}): reinstall fleetcheck")
    return found
