"""`fleetcheck audit`: the full audit from any directory, in one command.

    fleetcheck audit --inventory inv.yml [PATH ...] [pytest and fleetcheck options]

runs pytest in this process on fleetcheck's installed checks (fleetcheck.layout) and
the paths given (a user's own check directories, testinfra test files), with every
option passed on unchanged, except that:

- the directory it is run from is pytest's rootdir (`--rootdir=.`, unless one is
  given), and the ini file pytest itself would read when run from there without paths
  (pytest.ini, pyproject.toml, tox.ini, ... in that directory or above) is passed as
  `-c FILE`, unless `-c`/`--config-file` is given: the installed checks live outside
  that directory, and pytest would otherwise look for the ini file above the common
  ancestor of them and the paths given, never in the run's directory;
- the reports go to ./reports of that directory (`--reports-dir DIR` to choose);
- a fleetcheck option and its value given as two words (`--inventory inv.yml`) are
  passed as one (`--inventory=inv.yml`): pytest's first look at the command line does
  not know plugin options yet and would take the value for a test path;
- that directory is first on sys.path (as with `python -m pytest`): a `remediate`
  package there (a user's own fixes, fleetcheck.remediation.registry) and the helpers
  of the user's tests are found;
- without an inventory (`--inventory`, `--hosts`, from the command line, the ini's
  addopts or PYTEST_ADDOPTS) the embedded default is given explicitly: the plugin
  writes reports for a run with an inventory or of a rootdir's checks/, and the
  installed checks are not there.

The ini file's `testpaths` are not used (pytest ignores them when paths are given).
The exit code is pytest's. The same audit with plain pytest, from the same directory:
`python -m pytest --pyargs fleetcheck.checks --inventory=inv.yml [PATH ...]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

USAGE = """\
usage: fleetcheck audit --inventory SOURCE [PATH ...] [pytest and fleetcheck options]

The full audit from this directory: pytest on fleetcheck's installed checks and the
PATHs given (your own checks, testinfra test files). This directory is the rootdir,
its pytest ini file (if any) applies, the reports go to ./reports/<run id>/
(--reports-dir DIR). The exit code is pytest's (README.md, "Exit codes").
Plain pytest: python -m pytest --pyargs fleetcheck.checks --inventory=SOURCE [PATH ...]

The options (pytest's, fleetcheck's in the group "fleetcheck") follow.
"""


class _Recorder:
    """What fleetcheck.options.add_options declares, without pytest's parser."""

    def __init__(self) -> None:
        self.with_value: set[str] = set()

    def getgroup(self, *args, **kwargs) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs) -> None:
        takes_value = kwargs.get("action", "store") in ("store", "append")
        if takes_value and kwargs.get("nargs") is None:     # not --remediate[=AREAS]
            self.with_value.update(n for n in names if n.startswith("--"))

    def __getattr__(self, name: str):       # addini and the like: nothing to record
        return lambda *args, **kwargs: None


def value_options() -> set[str]:
    """fleetcheck's long options that take a value (`--inventory`, `--limit`, ...)."""
    from fleetcheck.options import add_options  # noqa: PLC0415

    recorder = _Recorder()
    add_options(recorder)
    return recorder.with_value


def joined(argv: list[str], options: set[str]) -> list[str]:
    """`--inventory PATH` as `--inventory=PATH` (for each option in `options`); the
    rest, and everything after `--`, unchanged."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out += argv[i:]
            break
        if arg in options and i + 1 < len(argv):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _options_part(argv: list[str]) -> list[str]:
    return argv[:argv.index("--")] if "--" in argv else argv


def _given(argv: list[str], long: str, short: str | None = None) -> bool:
    for arg in _options_part(argv):
        if arg == long or arg.startswith(long + "="):
            return True
        if short and arg.startswith(short) and not arg.startswith("--"):
            return True
    return False


def ini_file(here: Path) -> Path | None:
    """The configuration file pytest would read when run from `here` without paths."""
    try:
        from _pytest.config.findpaths import locate_config  # noqa: PLC0415

        found = locate_config(here, [here])[1]
    except (ImportError, TypeError, IndexError):    # another pytest: the plain names
        found = next((here / n for n in ("pytest.toml", ".pytest.toml", "pytest.ini",
                                         ".pytest.ini", "pyproject.toml", "tox.ini",
                                         "setup.cfg") if (here / n).is_file()), None)
    return Path(found) if found is not None else None


def pytest_args(argv: list[str], here: Path, checks: Path) -> list[str]:
    """What pytest.main gets for `fleetcheck audit ARGV` run from `here`."""
    args = [str(checks)] + joined(argv, value_options())
    extra = []
    if not _given(argv, "--rootdir"):
        extra.append("--rootdir=.")
    if not _given(argv, "--config-file", "-c"):
        ini = ini_file(here)
        if ini is not None:
            extra.append(f"--config-file={ini}")
    if not _given(argv, "--reports-dir"):
        extra.append("--reports-dir=reports")
    if "--" in args:    # pytest's options before the positional-only part
        cut = args.index("--")
        return args[:cut] + extra + args[cut:]
    return args + extra


class DefaultInventory:
    """Given to pytest.main: when the options, as parsed (addopts included), name no
    inventory, the one the shop's ansible.cfg names, else the embedded default."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> None:
        from fleetcheck.inventory import InventoryError, ansiblecfg  # noqa: PLC0415
        from fleetcheck.selection import default_inventory  # noqa: PLC0415

        opt = config.option
        if hasattr(opt, "fleet_inventory") and not opt.fleet_inventory and not getattr(
                opt, "hosts", None):
            try:
                named = ansiblecfg.default_inventory_sources()
            except InventoryError:
                named = []   # the run's selection says what is wrong with ansible.cfg
            opt.fleet_inventory = named or [default_inventory()]


def main(argv: list[str]) -> int:
    from fleetcheck import layout  # noqa: PLC0415

    here = Path.cwd()
    if any(a in ("-h", "--help") for a in _options_part(argv)):
        sys.stdout.write(USAGE + "\n")     # then pytest's --help
        sys.stdout.flush()
    try:
        checks = layout.checks_dir()
    except FileNotFoundError as exc:
        print(f"fleetcheck audit: {exc}", file=sys.stderr)
        return 4
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))
    return int(pytest.main(pytest_args(argv, here, checks), plugins=[DefaultInventory()]))
